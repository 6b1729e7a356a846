-- Fixture of the payment benchmark (variables: debts). Business 1 set up for collections; debts
-- 1..:debts (collections) and :debts+1..2*:debts (the PL/pgSQL copy) each owe principal 600,
-- interest 120, fee 30 and penalty 18, scheduled in six installments of 128 that each hold all
-- four components (principal 100, interest 20, fee 5, penalty 3); five are past due. A payment
-- of 640 pays those five installments and four components; the debt stays open. The charges are posted as one bulk entry and
-- recorded as adjustments directly (the same state collections.charge() would leave, built
-- faster); check_positions() proves the fixture consistent before anything is measured.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
INSERT INTO crm_core.business (id, name) VALUES (1, 'bench'), (2, 'bare postings');
SELECT count(*) FROM collections.setup_business(1);
INSERT INTO collections.customer (business_id, id, full_name)
SELECT 1, g, 'Customer ' || g FROM generate_series(1, 2 * :debts) AS g;
-- Debts through the API (each posts its opening entry), 2,000 per transaction.
SELECT set_config('bench.debts', (2 * :debts)::text, false) IS NOT NULL AS configured \gset
DO $$
DECLARE
    total bigint := current_setting('bench.debts')::bigint;
BEGIN
    FOR chunk_start IN 1 .. total BY 2000 LOOP
        INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, due_on)
        SELECT 1, g, g, 'B-' || g, 600, CURRENT_DATE - 150 FROM generate_series(chunk_start, least(chunk_start + 1999, total)) AS g;
        COMMIT;
    END LOOP;
END $$;

-- The charges: one bulk entry (every line in its debt's subledger) and their adjustments.
BEGIN;
INSERT INTO crm_core.journal_entry (business_id, memo) VALUES (1, 'bench charges') RETURNING id AS charges \gset
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger)
SELECT 1, :charges, a.account, a.amount, NULL, g
  FROM generate_series(1, 2 * :debts) AS g
 CROSS JOIN (SELECT p.interest_account_id, 120 FROM collections.product p WHERE p.business_id = 1 AND p.code = 'standard'
             UNION ALL SELECT p.fee_account_id, 30 FROM collections.product p WHERE p.business_id = 1 AND p.code = 'standard'
             UNION ALL SELECT p.penalty_account_id, 18 FROM collections.product p WHERE p.business_id = 1 AND p.code = 'standard')
       AS a(account, amount)
UNION ALL
SELECT 1, :charges, a.account, NULL, a.amount * 2 * :debts, NULL
  FROM (SELECT p.interest_income_account_id, 120 FROM collections.product p WHERE p.business_id = 1 AND p.code = 'standard'
        UNION ALL SELECT p.fee_income_account_id, 30 FROM collections.product p WHERE p.business_id = 1 AND p.code = 'standard'
        UNION ALL SELECT p.penalty_income_account_id, 18 FROM collections.product p WHERE p.business_id = 1 AND p.code = 'standard')
       AS a(account, amount);
ALTER TABLE collections.adjustment DISABLE TRIGGER adjustment_made;
INSERT INTO collections.adjustment (business_id, debt_account_id, kind, amount, reason, interest, fee, penalty, entry_id)
SELECT 1, g, k.kind, k.amount, 'bench', k.i, k.f, k.p, :charges
  FROM generate_series(1, 2 * :debts) AS g
 CROSS JOIN (VALUES ('interest', 120, 120, 0, 0), ('fee', 30, 0, 30, 0), ('penalty', 18, 0, 0, 18)) AS k(kind, amount, i, f, p);
ALTER TABLE collections.adjustment ENABLE TRIGGER adjustment_made;

-- The plans: six installments of all four components, built directly.
ALTER TABLE collections.repayment_plan DISABLE TRIGGER repayment_plan_checked, DISABLE TRIGGER repayment_plan_scheduled;
INSERT INTO collections.repayment_plan (business_id, id, debt_account_id, first_due, installments)
SELECT 1, g, g, CURRENT_DATE - 150, 6 FROM generate_series(1, 2 * :debts) AS g;
ALTER TABLE collections.repayment_plan ENABLE TRIGGER repayment_plan_checked, ENABLE TRIGGER repayment_plan_scheduled;
INSERT INTO collections.installment (business_id, plan_id, debt_account_id, seq, due_on, principal_due,
                                     interest_due, fee_due, penalty_due)
SELECT 1, g, g, s, CURRENT_DATE - 150 + (s - 1) * 30, 100, 20, 5, 3
  FROM generate_series(1, 2 * :debts) AS g CROSS JOIN generate_series(1, 6) AS s;
UPDATE collections.debt_account SET active_plan_id = id, unpaid_since = CURRENT_DATE - 150;
COMMIT;
SELECT setval('collections.repayment_plan_id_seq', 2 * :debts);
ANALYZE;
SELECT count(*) AS problems FROM collections.check_positions() \gset
\if :problems
\echo 'bench fixture: check_positions() is not empty'
SELECT 1/0;
\endif

-- Bare postings: business 2, a cash account and 1,000 others.
INSERT INTO crm_core.account (business_id, code, name, kind, currency)
SELECT 2, 'A' || g, 'Account ' || g, CASE WHEN g = 0 THEN 'asset' ELSE 'income' END, 'EUR'
  FROM generate_series(0, 1000) AS g;

CREATE SCHEMA bench;
CREATE SEQUENCE bench.next_debt;
SELECT :debts + 1 AS plain_start \gset
CREATE SEQUENCE bench.next_plain_debt START :plain_start;
SELECT id AS bare_cash FROM crm_core.account WHERE business_id = 2 AND code = 'A0' \gset
CREATE TABLE bench.bare (cash bigint, first bigint);
INSERT INTO bench.bare SELECT :bare_cash, (SELECT min(id) FROM crm_core.account WHERE business_id = 2 AND code <> 'A0');
