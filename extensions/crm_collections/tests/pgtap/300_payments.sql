-- Payments: a plain INSERT allocates over the open installments (oldest first, the product's
-- component order), posts one balanced entry tagged with the debt, records the allocation and
-- moves days past due; overpayments become credit; duplicates, idempotent retries, every bad
-- input; reversals, charges and write-offs.
BEGIN;
SELECT plan(61);
\ir lib/fixture.sql

-- A debt that owes all four components, scheduled in five installments, the first 100 days ago.
INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (71, 7101, 'Jeanne Martin', '0612345678');
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal)
VALUES (71, 7401, 7101, 'LOAN-41', 1000);
SELECT collections.charge(7401, 'interest', 250, 'contractual interest') > 0 AS charged \gset
SELECT collections.charge(7401, 'fee', 100, 'file fee') > 0 AS charged \gset
SELECT collections.charge(7401, 'penalty', 50, 'late') > 0 AS charged \gset
SELECT collections.create_plan(7401, CURRENT_DATE - 100, 5) AS plan_41 \gset
SELECT is((SELECT array_agg(format('%s:%s/%s/%s/%s', seq, penalty_due, fee_due, interest_due, principal_due) ORDER BY seq)
             FROM collections.installment WHERE plan_id = :plan_41),
          ARRAY['1:50.00/100.00/130.00/0.00', '2:0.00/0.00/120.00/160.00', '3:0.00/0.00/0.00/280.00',
                '4:0.00/0.00/0.00/280.00', '5:0.00/0.00/0.00/280.00'],
          'the plan: equal installments, penalty, fee and interest falling due first');

INSERT INTO collections.payment (business_id, id, debt_account_id, reference, amount)
VALUES (71, 7501, 7401, 'TRX-7501', 700);
SELECT is((SELECT array_agg(format('%s:%s/%s/%s/%s', i.seq, a.penalty, a.fee, a.interest, a.principal) ORDER BY i.seq)
             FROM collections.payment_allocation a JOIN collections.installment i
               ON i.business_id = a.business_id AND i.id = a.installment_id
            WHERE a.payment_id = 7501),
          ARRAY['1:50.00/100.00/130.00/0.00', '2:0.00/0.00/120.00/160.00', '3:0.00/0.00/0.00/140.00'],
          'the payment pays the oldest installments first, penalty, fee, interest, principal (one allocation row per installment)');
SELECT is((SELECT count(*)::int FROM crm_core.journal_entry WHERE source_ref = 'collections.payment:7501'), 1,
          'one entry per payment');
SELECT is((SELECT array_agg(a.code || ':' || coalesce(l.debit, 0) || '/' || coalesce(l.credit, 0) || ':' || l.subledger
                            ORDER BY a.code)
             FROM collections.payment p
             JOIN crm_core.journal_line l ON l.business_id = p.business_id AND l.entry_id = p.entry_id
             JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
            WHERE p.id = 7501),
          ARRAY['1010-EUR:700.00/0:7401', '1210-EUR:0/300.00:7401', '1220-EUR:0/250.00:7401',
                '1230-EUR:0/100.00:7401', '1240-EUR:0/50.00:7401'],
          'its entry: cash against each receivable, every line in the debt''s subledger');
SELECT is((SELECT count(*)::int FROM crm_core.unbalanced_entries()), 0, 'the entry balances');
SELECT is((SELECT format('%s %s %s %s %s', principal, interest, fee, penalty, outstanding)
             FROM collections.debt_position WHERE debt_account_id = 7401),
          '700.00 0.00 0.00 0.00 700.00', 'what the debt owes now, per component, from the ledger');
SELECT is((SELECT days_past_due FROM collections.debt_position WHERE debt_account_id = 7401),
          (SELECT CURRENT_DATE - due_on FROM collections.installment WHERE plan_id = :plan_41 AND seq = 3),
          'days past due count from the oldest unpaid installment, in the same transaction');
SELECT is((SELECT cause FROM collections.dpd_history WHERE debt_account_id = 7401 ORDER BY id DESC LIMIT 1),
          'payment', 'the bucket change is in dpd_history');
SELECT is((SELECT last_paid_amount FROM collections.debt_position WHERE debt_account_id = 7401), 700::numeric,
          'debt_position: last payment');

-- Overpayment: the customer's credit balance; what is owed never goes negative.
INSERT INTO collections.payment (business_id, id, debt_account_id, reference, amount)
VALUES (71, 7502, 7401, 'TRX-7502', 800);
SELECT is((SELECT format('%s %s %s', outstanding, credit_balance, status) FROM collections.debt_position
            WHERE debt_account_id = 7401), '0.00 100.00 paid_off',
          'an overpayment goes to the credit balance; the debt is paid off');
SELECT is((SELECT credit FROM collections.payment_allocation WHERE payment_id = 7502 AND installment_id IS NULL), 100.00,
          'the overpayment is allocated as credit');
SELECT is((SELECT min(remaining) || ' ' || max(remaining) FROM collections.installment WHERE plan_id = :plan_41),
          '0.00 0.00', 'every installment is paid, none below zero');
SELECT is((SELECT format('%s %s', days_past_due, bucket) FROM collections.debt_position WHERE debt_account_id = 7401),
          '0 current', 'a paid debt is current');
INSERT INTO collections.payment (business_id, debt_account_id, reference, amount) VALUES (71, 7401, 'TRX-7503', 5);
SELECT is((SELECT credit_balance FROM collections.debt_position WHERE debt_account_id = 7401), 105.00,
          'a payment on a paid-off debt is all credit');

-- A debt without a plan: the ledger's outstanding, components in the product's order.
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, due_on)
VALUES (71, 7402, 7101, 'INV-42', 300, CURRENT_DATE - 45);
SELECT collections.charge(7402, 'fee', 20, 'collection fee') > 0 AS charged \gset
SELECT pg_temp.pay(7402, 50) AS payment_42 \gset
SELECT is((SELECT array_agg(format('%s:%s/%s/%s/%s', coalesce(installment_id::text, '-'), penalty, fee, interest, principal))
             FROM collections.payment_allocation WHERE payment_id = :payment_42),
          ARRAY['-:0.00/20.00/0.00/30.00'], 'without a plan: fee first, then principal, on no installment');
SELECT is((SELECT format('%s %s', outstanding, days_past_due) FROM collections.debt_position WHERE debt_account_id = 7402),
          '270.00 45', 'still 45 days past due: its due date is not paid');

-- Duplicates and idempotent retries.
SELECT throws_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                   VALUES (71, 7402, 'TRX-7501', 10)$$, '23505',
                 'payment reference "TRX-7501" of business 71 is already used by payment 7501',
                 'a duplicate reference is refused');
SELECT is(collections.record_payment(71, 7402, 'BANK-1', 25.00), collections.record_payment(71, 7402, 'BANK-1', 25),
          'record_payment: a retry with the same reference and content returns the same payment');
SELECT is((SELECT count(*)::int FROM collections.payment WHERE reference = 'BANK-1'), 1, 'and records it once');
SELECT throws_ok($$SELECT collections.record_payment(71, 7402, 'BANK-1', 26)$$, '23505',
                 format('payment reference BANK-1 of business 71 was already used by payment %s with other content',
                        (SELECT id FROM collections.payment WHERE reference = 'BANK-1')),
                 'record_payment: the same reference with another amount is refused');

-- Bad input: a clear error, nothing recorded.
INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (72, 7201, 'Ravi Kumar', '9876543210');
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal) VALUES (72, 7403, 7201, 'IN-1', 900);
SELECT count(*) AS payments_before FROM collections.payment \gset
SELECT count(*) AS entries_before FROM crm_core.journal_entry \gset
SELECT throws_ok($$SELECT pg_temp.pay(7999, 10)$$, '23503', 'debt account 7999 does not exist in business 71',
                 'a payment on an unknown debt is refused');
SELECT throws_ok($$SELECT pg_temp.pay(7403, 10)$$, '23503', 'debt account 7403 does not exist in business 71',
                 'a payment on another business''s debt is refused');
SELECT throws_ok($$SELECT pg_temp.pay(7402, 0)$$, '23514', 'payment amount must be positive, not 0',
                 'a zero amount is refused');
SELECT throws_ok($$SELECT pg_temp.pay(7402, -5)$$, '23514', 'payment amount must be positive, not -5',
                 'a negative amount is refused');
SELECT throws_ok($$SELECT pg_temp.pay(7402, 'NaN')$$, '23514', 'payment amount must be positive, not NaN',
                 'NaN is refused');
SELECT throws_ok($$SELECT pg_temp.pay(7402, 10.005)$$, '22023', 'payment amount 10.005 has more than 2 decimals',
                 'an amount finer than a cent is refused');
SELECT throws_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount, currency)
                   VALUES (71, 7402, 'USD-1', 10, 'USD')$$, '22023',
                 'payment currency USD differs from debt account 7402''s currency EUR',
                 'a payment in another currency than the debt''s is refused');
SELECT is((SELECT count(*) FROM collections.payment), :payments_before::bigint, 'no refused payment was recorded');
SELECT is((SELECT count(*) FROM crm_core.journal_entry), :entries_before::bigint, 'and nothing was posted');
SELECT lives_ok($$SELECT collections.record_payment(72, 7403, 'BANK-1', 1)$$,
                'references are unique per business, not across businesses');

-- Payments and allocations are append-only; the application writes payments only.
SELECT throws_ok($$UPDATE collections.payment SET amount = 1 WHERE id = 7501$$, '55000',
                 format('UPDATE on %s is refused: its rows are append-only',
                        (SELECT tableoid::regclass FROM collections.payment WHERE id = 7501)),
                 'a payment is never edited');
SELECT throws_ok($$DELETE FROM collections.payment_allocation WHERE payment_id = 7501$$, '55000',
                 format('DELETE on %s is refused: its rows are append-only',
                        (SELECT tableoid::regclass FROM collections.payment_allocation WHERE payment_id = 7501 LIMIT 1)),
                 'an allocation is never deleted');
SELECT throws_ok($$TRUNCATE collections.payment$$, '55000', NULL, 'payments are never truncated');
SELECT pg_temp.as_app(71);
SELECT throws_ok($$INSERT INTO collections.payment_allocation (business_id, payment_id, paid_at, debt_account_id, principal)
                   VALUES (71, 7501, now(), 7401, 1)$$, '42501',
                 'permission denied for table payment_allocation', 'the application cannot write allocations');
SELECT throws_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount, entry_id)
                   VALUES (71, 7402, 'ENTRY-1', 1, 1)$$, '42501', 'permission denied for table payment',
                 'nor choose a payment''s entry');
SELECT lives_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                  VALUES (71, 7402, 'APP-1', 10)$$, 'the application records a payment with a plain INSERT');
SELECT throws_ok($$UPDATE collections.installment SET principal_paid = 0$$, '42501', NULL,
                 'the application cannot change what was paid');
RESET ROLE;

-- Reversal of a bounced payment.
SELECT collections.reverse_payment(7501, 'transfer bounced') AS reversal_entry \gset
SELECT is((SELECT reverses_entry_id FROM crm_core.journal_entry WHERE id = :reversal_entry),
          (SELECT entry_id FROM collections.payment WHERE id = 7501), 'the reversal entry mirrors the payment''s');
SELECT is((SELECT sum(principal + interest + fee + penalty + credit) FROM collections.payment_allocation WHERE payment_id = 7501), 0.00,
          'the allocation is mirrored by negative rows');
SELECT is((SELECT format('%s %s %s', outstanding, credit_balance, status) FROM collections.debt_position
            WHERE debt_account_id = 7401), '700.00 105.00 active',
          'the debt owes again what the bounced payment paid; the later credit stays credit');
SELECT is((SELECT array_agg(remaining ORDER BY seq) FROM collections.installment WHERE plan_id = :plan_41),
          ARRAY[280.00, 280.00, 140.00, 0.00, 0.00], 'the installments it paid are owed again');
SELECT throws_ok($$SELECT collections.reverse_payment(7501, 'again')$$, '23505', NULL, 'a payment is reversed once');
SELECT collections.reverse_payment(7502, 'bounced too') AS reversal_entry \gset
SELECT is((SELECT format('%s %s %s', outstanding, credit_balance, status) FROM collections.debt_position
            WHERE debt_account_id = 7401), '1400.00 5.00 active',
          'with both payments bounced the debt owes everything again and keeps the later credit');
SELECT is((SELECT array_agg(remaining ORDER BY seq) FROM collections.installment WHERE plan_id = :plan_41),
          ARRAY[280.00, 280.00, 280.00, 280.00, 280.00], 'the installments are restored');
SELECT is((SELECT days_past_due FROM collections.debt_position WHERE debt_account_id = 7401), 100,
          'days past due are back');
SELECT throws_ok($$SELECT collections.reverse_payment(7999999, 'x')$$, '23503', 'payment 7999999 does not exist',
                 'reversing an unknown payment is refused');

-- A payment reversed after the plan it paid was restructured is owed again on the new plan.
SELECT pg_temp.pay(7401, 300) AS payment_before_restructure \gset
SELECT collections.restructure_plan(7401, CURRENT_DATE + 10, 4) AS plan_42 \gset
SELECT collections.reverse_payment(:payment_before_restructure, 'bounced after restructuring') AS reversal_entry \gset
SELECT is((SELECT sum(remaining) FROM collections.installment WHERE plan_id = :plan_42), 1400.00,
          'the new plan owes what the bounced payment had paid on the old one');
SELECT is((SELECT count(*)::int FROM collections.check_positions()), 0, 'and positions still agree with the ledger');

-- Charges and write-offs.
SELECT collections.charge(7401, 'penalty', 15, 'late again') AS charge_id \gset
SELECT is((SELECT installment_id FROM collections.adjustment WHERE id = :charge_id),
          (SELECT id FROM collections.installment WHERE plan_id = :plan_42 AND seq = 1),
          'a charge joins the first unpaid installment of the active plan');
SELECT is((SELECT penalty FROM collections.debt_position WHERE debt_account_id = 7401), 65.00,
          'and is owed with the penalty the bounced payments had paid');
SELECT throws_ok($$SELECT collections.charge(7401, 'principal', 10, 'x')$$, '23514', 'adjustment kind principal is not a charge',
                 'principal is not a charge');
SELECT throws_ok($$SELECT collections.write_off(7402, 1000, 'too much')$$, '22023',
                 'write-off of 1000.00 exceeds what debt account 7402 owes (235.00 EUR)',
                 'a write-off larger than what is owed is refused');
SELECT collections.write_off(7402, 35, 'settlement discount') AS write_off_id \gset
SELECT is((SELECT format('%s/%s/%s', principal, fee, penalty) FROM collections.adjustment WHERE id = :write_off_id),
          '35.00/0.00/0.00',
          'a write-off takes the components off in allocation order');
SELECT lives_ok($$SELECT collections.write_off(7402, 200, 'charged off')$$, 'writing off the rest');
SELECT is((SELECT format('%s %s', outstanding, status) FROM collections.debt_position WHERE debt_account_id = 7402),
          '0.00 written_off', 'a debt written off entirely is written_off');
SELECT throws_ok($$SELECT pg_temp.pay(7402, 10)$$, '55000',
                 'a payment on debt account 7402 (INV-42), which is written off', 'a written-off debt takes no payment');
SELECT throws_ok($$SELECT collections.create_plan(7402, CURRENT_DATE, 2)$$, '55000',
                 'a repayment plan on debt account 7402 (INV-42), which is written off', 'nor a plan');
UPDATE collections.debt_account SET status = 'closed' WHERE id = 7403;
SELECT throws_ok($$SELECT collections.create_plan(7403, CURRENT_DATE, 2)$$, '55000',
                 'a repayment plan on debt account 7403 (IN-1), which is closed', 'a closed debt takes no plan');
SELECT throws_ok($$SELECT collections.charge(7403, 'fee', 1, 'x')$$, '55000',
                 'a charge on debt account 7403 (IN-1), which is closed', 'nor a charge');

SELECT is((SELECT count(*)::int FROM collections.check_positions()), 0, 'check_positions: every debt agrees with the ledger');
SELECT is((SELECT count(*)::int FROM crm_core.check_balances()), 0, 'crm_core.check_balances: every balance is exact');

SELECT * FROM finish();
ROLLBACK;
