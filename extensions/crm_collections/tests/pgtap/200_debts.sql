-- Debt accounts: the opening entry (cash, or opening balances for migrated debts), no stored
-- outstanding (the ledger's subledger is read), status rules and their audit; repayment plans:
-- equal installments, one active plan, restructuring keeps history, refusals.
BEGIN;
SELECT plan(48);
\ir lib/fixture.sql

INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (71, 7101, 'Jeanne Martin', '0612345678');
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, opened_on, due_on)
VALUES (71, 7301, 7101, 'LOAN-1', 1200, CURRENT_DATE - 60, CURRENT_DATE - 10);

SELECT is((SELECT currency || ' ' || status || ' ' || kind FROM collections.debt_account WHERE id = 7301),
          'EUR active loan', 'a debt inserted with the listed columns only: product standard, its currency, active, a loan');
SELECT is((SELECT array_agg(a.code || ':' || coalesce(l.debit, 0) || '/' || coalesce(l.credit, 0) || ':' || l.subledger
                            ORDER BY a.code)
             FROM collections.debt_account d
             JOIN crm_core.journal_line l ON l.business_id = d.business_id AND l.entry_id = d.opening_entry_id
             JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
            WHERE d.id = 7301),
          ARRAY['1010-EUR:0/1200.00:7301', '1210-EUR:1200.00/0:7301'],
          'its opening entry: principal receivable against cash, both lines in the debt''s subledger');
SELECT is((SELECT effective_date FROM crm_core.journal_entry e JOIN collections.debt_account d
             ON d.business_id = e.business_id AND d.opening_entry_id = e.id WHERE d.id = 7301),
          CURRENT_DATE - 60, 'dated the day it opened');
SELECT is(pg_temp.outstanding(7301), 1200.00, 'debt_position: what it owes, from the ledger');
SELECT is((SELECT days_past_due || ' ' || bucket FROM collections.debt_position WHERE debt_account_id = 7301),
          '10 1-30', 'debt_position: days past due and bucket from its due date');
SELECT hasnt_column('collections', 'debt_account', 'outstanding', 'a debt has no outstanding column');
SELECT is((SELECT cause || ' ' || new_bucket_id FROM collections.dpd_history WHERE debt_account_id = 7301),
          'opened ' || (SELECT id FROM collections.bucket WHERE business_id = 71 AND code = '1-30'),
          'its first bucket is recorded in dpd_history');

-- A migrated debt: the opening balance is posted against the opening-balance account, today.
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, opening_balance, kind, due_on)
VALUES (71, 7302, 7101, 'INV-1', 5000, 3250.55, 'invoice', CURRENT_DATE - 100);
SELECT is((SELECT array_agg(a.code || ':' || coalesce(l.debit, 0) || '/' || coalesce(l.credit, 0) ORDER BY a.code)
             FROM collections.debt_account d
             JOIN crm_core.journal_line l ON l.business_id = d.business_id AND l.entry_id = d.opening_entry_id
             JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
            WHERE d.id = 7302),
          ARRAY['1210-EUR:3250.55/0', '3910-EUR:0/3250.55'],
          'a migrated debt posts its opening balance against the opening-balance account');
SELECT is(pg_temp.outstanding(7302), 3250.55, 'and owes its opening balance');
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, opening_balance)
VALUES (71, 7303, 7101, 'INV-2', 100, 0);
SELECT is((SELECT status || ' ' || (opening_entry_id IS NULL) FROM collections.debt_account WHERE id = 7303), 'paid_off true',
          'a migrated debt owing nothing is paid off and posts nothing');

-- Bad debts.
SELECT throws_ok($$INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal)
                   VALUES (71, 7101, 'LOAN-1', 10)$$, '23505', NULL, 'external_ref is unique per business');
SELECT throws_ok($$INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal, currency)
                   VALUES (71, 7101, 'X-1', 10, 'USD')$$, '22023',
                 'debt currency USD differs from product standard''s currency EUR',
                 'a debt in another currency than its product''s is refused');
SELECT throws_ok($$INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal)
                   VALUES (71, 7101, 'X-2', 10.001)$$, '22023', 'principal 10.001 has more than 2 decimals',
                 'an amount finer than the currency''s minor unit is refused');
SELECT throws_ok($$INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal)
                   VALUES (71, 7101, 'X-3', 0)$$, '23514', NULL, 'a debt has a positive principal');
SELECT throws_ok($$INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal)
                   VALUES (71, 7999, 'X-4', 10)$$, '23503', NULL, 'a debt of an unknown customer is refused');
SELECT throws_ok($$INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal, status)
                   VALUES (71, 7101, 'X-5', 10, 'closed')$$, '22023', 'a new debt account is active, not closed',
                 'a debt starts active');
SELECT is((SELECT count(*)::int FROM collections.debt_account WHERE external_ref LIKE 'X-%'), 0, 'nothing of them was kept');

-- Status: the application closes and reopens; paid_off and written_off follow the money.
SELECT pg_temp.as_app(71);
SELECT throws_ok($$UPDATE collections.debt_account SET status = 'paid_off' WHERE id = 7301$$, '55000',
                 'debt account 7301 cannot be set paid_off by hand', 'paid_off is not set by hand');
SELECT throws_ok($$UPDATE collections.debt_account SET unpaid_since = NULL WHERE id = 7301$$, '42501', NULL,
                 'the application cannot write what crm_collections keeps (unpaid_since)');
SELECT throws_ok($$UPDATE collections.debt_account SET principal = 1 WHERE id = 7301$$, '42501', NULL,
                 'nor the principal once posted');
SELECT lives_ok($$UPDATE collections.debt_account SET status = 'closed' WHERE id = 7302$$, 'the application closes a debt');
SELECT throws_ok($$UPDATE collections.debt_account SET status = 'active' WHERE id = 7303$$, '55000',
                 'debt account 7303 is paid_off: only a closed debt is reopened', 'only a closed debt reopens');
RESET ROLE;
SELECT is((SELECT changes_on FROM collections.dpd_due WHERE debt_account_id = 7302), NULL,
          'a closed debt leaves run_dpd''s way');
SELECT ok(EXISTS (SELECT FROM crm_core.audit_log WHERE table_name = 'collections.debt_account'
                   AND new_values->>'status' = 'closed'), 'a status change is audited');
SELECT pg_temp.as_app(71);
UPDATE collections.debt_account SET status = 'active' WHERE id = 7302;
RESET ROLE;

-- What secures a debt (seed 004): collateral owned by a customer, pledged to debts; guarantors.
INSERT INTO collections.collateral (business_id, id, owner_customer_id, kind, description, value, currency, valuation_date, source_system)
VALUES (71, 7351, 7101, 'vehicle', 'Peugeot 208, 2019', 9500, 'EUR', CURRENT_DATE - 30, 'core-banking');
INSERT INTO collections.debt_collateral (business_id, debt_account_id, collateral_id, pledged_amount) VALUES (71, 7301, 7351, 1200);
INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (71, 7102, 'Paul Martin', '0611111111');
INSERT INTO collections.guarantor (business_id, debt_account_id, customer_id, role, guaranteed_amount, relationship)
VALUES (71, 7301, 7102, 'guarantor', 1200, 'brother');
SELECT is((SELECT format('%s %s %s', c.kind, dc.pledged_amount, g.relationship)
             FROM collections.debt_collateral dc
             JOIN collections.collateral c ON c.business_id = dc.business_id AND c.id = dc.collateral_id
             JOIN collections.guarantor g ON g.business_id = dc.business_id AND g.debt_account_id = dc.debt_account_id
            WHERE dc.debt_account_id = 7301), 'vehicle 1200 brother', 'collateral pledged and a guarantor on a debt');
SELECT throws_ok($$INSERT INTO collections.collateral (business_id, owner_customer_id, kind, value) VALUES (71, 7101, 'house', 1)$$,
                 '23514', NULL, 'collateral kinds are known ones, valued in a currency');

-- Plans.
SELECT is(collections.create_plan(7301, CURRENT_DATE - 40, 6, '1 month') > 0, true, 'create_plan returns the plan');
SELECT is((SELECT array_agg(principal_due ORDER BY seq) FROM collections.installment WHERE debt_account_id = 7301),
          ARRAY[200.00, 200.00, 200.00, 200.00, 200.00, 200.00], 'six equal installments');
SELECT is((SELECT array_agg(due_on ORDER BY seq) FROM collections.installment WHERE debt_account_id = 7301),
          (SELECT array_agg((CURRENT_DATE - 40 + (i * interval '1 month'))::date ORDER BY i) FROM generate_series(0, 5) i),
          'due every month from first_due');
SELECT is((SELECT days_past_due FROM collections.debt_position WHERE debt_account_id = 7301), 40,
          'days past due now count from the oldest unpaid installment');
SELECT throws_ok($$SELECT collections.create_plan(7301, CURRENT_DATE, 3)$$, '23505',
                 format('debt account 7301 already has an active plan (%s)',
                        (SELECT active_plan_id FROM collections.debt_account WHERE id = 7301)),
                 'one active plan per debt');
SELECT pg_temp.pay(7301, 250);
SELECT ok(collections.restructure_plan(7301, CURRENT_DATE + 5, 3, reason => 'hardship') > 0, 'restructure_plan');
SELECT is((SELECT array_agg(version || ':' || status ORDER BY version) FROM collections.repayment_plan WHERE debt_account_id = 7301),
          ARRAY['1:superseded', '2:active'], 'the old plan is kept, superseded');
SELECT is((SELECT array_agg(principal_paid ORDER BY seq) FROM collections.installment i
             JOIN collections.repayment_plan p ON p.business_id = i.business_id AND p.id = i.plan_id
            WHERE i.debt_account_id = 7301 AND p.version = 1),
          ARRAY[200.00, 50.00, 0, 0, 0, 0]::numeric[], 'installments already paid stay as they were');
SELECT is((SELECT sum(principal_due) FROM collections.installment i
             JOIN collections.repayment_plan p ON p.business_id = i.business_id AND p.id = i.plan_id
            WHERE i.debt_account_id = 7301 AND p.version = 2), 950.00,
          'the new plan schedules what is owed now');
SELECT is((SELECT days_past_due FROM collections.debt_position WHERE debt_account_id = 7301), 0,
          'and days past due follow the new plan');
SELECT throws_ok($$SELECT collections.create_plan(7303, CURRENT_DATE, 3)$$, '55000',
                 'debt account 7303 is paid off: there is nothing to schedule', 'no plan for a debt owing nothing');
SELECT pg_temp.as_app(71);
SELECT throws_ok($$INSERT INTO collections.installment (business_id, plan_id, debt_account_id, seq, due_on)
                   VALUES (71, 1, 7301, 9, CURRENT_DATE)$$, '42501', NULL, 'the application cannot write installments');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM collections.check_positions()), 0, 'check_positions finds nothing wrong');
SELECT throws_ok(format($$UPDATE collections.installment SET %1$s_paid = %1$s_due + 1 WHERE debt_account_id = 7301 AND seq = 1$$, c),
                 '23514', NULL, format('even the owner cannot record more %s paid on an installment than it owes', c))
  FROM unnest(ARRAY['principal', 'interest', 'fee', 'penalty']) AS c;
SELECT throws_ok(format($$UPDATE collections.installment SET %1$s_written_off = %1$s_due - %1$s_paid + 1 WHERE debt_account_id = 7301 AND seq = 1$$, c),
                 '23514', NULL, format('nor more %s written off than is left', c))
  FROM unnest(ARRAY['principal', 'interest', 'fee', 'penalty']) AS c;
SELECT throws_ok($$UPDATE collections.installment SET fee_written_off = -1 WHERE debt_account_id = 7301 AND seq = 1$$,
                 '23514', NULL, 'nor a negative amount');

SELECT * FROM finish();
ROLLBACK;
