-- The three modules end to end: laundry jobs with their enforced status workflow, payments
-- and the customer's running balance; LPG exchanges with and without empties; the daily
-- summaries (registered materialized views) and what each business sees of them.
BEGIN;
SELECT plan(30);
\ir lib/businesses.sql

-- Laundry: a job and its items charge the customer; payments settle; the balance runs.
INSERT INTO laundry.service_type (business_id, id, code, name, unit, unit_price)
VALUES (7002, 1, 'wash_fold', 'Wash and fold', 'kg', 150), (7002, 2, 'suit', 'Dry-clean suit', 'item', 600);
INSERT INTO erp.customer (business_id, id, name) VALUES (7002, 1, 'Amina'), (7002, 2, 'Brian');
INSERT INTO laundry.job (business_id, id, job_no, customer_id, total_amount) VALUES (7002, 1, 'J-1', 1, 1050);
INSERT INTO laundry.job_item (business_id, job_id, service_type_id, quantity, unit_price, line_total)
VALUES (7002, 1, 1, 3, 150, 450), (7002, 1, 2, 1, 600, 600);
SELECT is(crm_core.subledger_balance(:laundry_receivable, 1), 1050::numeric,
          'a job taken in charges its customer (receivable, subledger = customer)');
INSERT INTO laundry.payment (business_id, customer_id, job_id, amount, payment_method, mpesa_receipt)
VALUES (7002, 1, 1, 600, 'mpesa', 'QL1');
INSERT INTO laundry.payment (business_id, customer_id, amount) VALUES (7002, 1, 200);
SELECT is(crm_core.subledger_balance(:laundry_receivable, 1), 250::numeric, 'payments settle the running balance');
SELECT is(crm_core.subledger_balance(:laundry_receivable, 2), 0::numeric, 'another customer owes nothing');
SELECT is((SELECT status FROM laundry.job WHERE id = 1), 'received', 'a job starts as received');
SELECT throws_ok($$INSERT INTO laundry.job (business_id, customer_id, status, total_amount) VALUES (7002, 2, 'ready', 0)$$,
                 '23514', 'a laundry job starts as received, not ready', 'a job cannot start further on');

-- The workflow: allowed moves pass, the others are refused with the moves that are allowed.
SELECT lives_ok($$UPDATE laundry.job SET status = 'washing' WHERE id = 1$$, 'received -> washing');
SELECT throws_ok($$UPDATE laundry.job SET status = 'delivered' WHERE id = 1$$,
                 '23514', 'laundry job 1 cannot go from washing to delivered', 'washing -> delivered is refused');
SELECT throws_like($$UPDATE laundry.job SET status = 'received' WHERE id = 1$$,
                   'laundry job 1 cannot go from washing to received', 'a job does not go back');
SELECT lives_ok($$UPDATE laundry.job SET status = 'drying' WHERE id = 1;
                  UPDATE laundry.job SET status = 'ready' WHERE id = 1$$, 'washing -> drying -> ready (ironing skipped)');
SELECT ok((SELECT ready_at IS NOT NULL FROM laundry.job WHERE id = 1), 'ready is stamped');
SELECT lives_ok($$UPDATE laundry.job SET status = 'delivered', notes = 'picked up by her sister' WHERE id = 1$$,
                'ready -> delivered, with a note');
SELECT throws_ok($$UPDATE laundry.job SET status = 'cancelled' WHERE id = 1$$,
                 '23514', 'laundry job 1 cannot go from delivered to cancelled', 'delivered is final');
SELECT throws_ok($$UPDATE laundry.job SET total_amount = 1 WHERE id = 1$$,
                 '55000', 'laundry.job 1 is posted: only status, promised_at, ready_at, delivered_at, notes may change',
                 'a job''s amount is frozen once posted');
SELECT results_eq($$SELECT from_status, to_status FROM laundry.job_status_history WHERE job_id = 1 ORDER BY changed_at$$,
                  $$VALUES (NULL, 'received'), ('received', 'washing'), ('washing', 'drying'), ('drying', 'ready'),
                           ('ready', 'delivered')$$,
                  'every status change is in the history');
-- Cancelling reverses the charge.
INSERT INTO laundry.job (business_id, id, customer_id, total_amount) VALUES (7002, 2, 2, 600);
INSERT INTO laundry.job_item (business_id, job_id, service_type_id, quantity, unit_price, line_total)
VALUES (7002, 2, 2, 1, 600, 600);
UPDATE laundry.job SET status = 'cancelled' WHERE id = 2;
SELECT is(crm_core.subledger_balance(:laundry_receivable, 2), 0::numeric, 'a cancelled job''s charge is reversed');
SELECT is((SELECT reason FROM erp.event_reversal WHERE relid = 'laundry.job'::regclass AND event_id = 2),
          'job cancelled', 'the reversal says why');

-- Retail LPG: a full cylinder out, an empty in; without an empty, a deposit.
INSERT INTO retail.stock_receipt (business_id, item_id, quantity, cost) VALUES (7003, :lpg_full, 10, 25000);
INSERT INTO retail.lpg_exchange (business_id, cylinder_id, empties_returned, refill_amount, total_amount)
VALUES (7003, :cylinder13, 1, 2800, 2800);
INSERT INTO retail.lpg_exchange (business_id, cylinder_id, empties_returned, refill_amount, deposit_amount, total_amount,
                                 payment_method, mpesa_receipt)
VALUES (7003, :cylinder13, 0, 2800, 3500, 6300, 'mpesa', 'QG7');
SELECT results_eq($$SELECT full_on_hand, empty_on_hand FROM retail.lpg_stock$$,
                  $$VALUES (8::numeric, 1::numeric)$$,
                  'two full cylinders went out, one empty came back');
SELECT is(crm_core.account_balance(:retail_deposits), 3500::numeric, 'the missing empty is paid for with a deposit');
SELECT results_eq(
    $$SELECT a.code, coalesce(l.debit, -l.credit) FROM crm_core.journal_line l
        JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
       WHERE l.entry_id = (SELECT entry_id FROM retail.lpg_exchange WHERE mpesa_receipt = 'QG7') ORDER BY l.id$$,
    $$VALUES ('1180', 6300::numeric), ('4310', -2800), ('2200', -3500), ('STK:lpg_total_13kg_full', -1),
             ('MOV:lpg_total_13kg_full', 1)$$,
    'the exchange without an empty: M-Pesa in, refill and deposit out, a full cylinder out, no empty line');
SELECT throws_ok($$INSERT INTO retail.lpg_exchange (business_id, cylinder_id, empties_returned, refill_amount, total_amount)
                   VALUES (7003, $$ || :cylinder13 || $$, 0, 2800, 2800)$$,
                 '23514', 'new row for relation "lpg_exchange" violates check constraint "lpg_exchange_deposit_for_missing_empties"',
                 'a cylinder without an empty in return needs a deposit');
SELECT throws_ok($$INSERT INTO retail.lpg_exchange (business_id, cylinder_id, empties_returned, refill_amount, total_amount)
                   VALUES (7003, 424242, 1, 2800, 2800)$$,
                 '23503', 'LPG cylinder type 424242 does not exist in business 7003', 'an unknown cylinder type is refused');
SELECT throws_ok($$INSERT INTO retail.lpg_exchange (business_id, cylinder_id, full_item_id, empties_returned, refill_amount, total_amount)
                   VALUES (7003, $$ || :cylinder13 || $$, $$ || :soap || $$, 1, 2800, 2800)$$,
                 '23503', NULL, 'an exchange cannot swap in another item than its cylinder''s');

-- Retail sale on credit, water sale: then the daily summaries.
INSERT INTO retail.stock_receipt (business_id, item_id, quantity) VALUES (7003, :soap, 10);
INSERT INTO erp.customer (business_id, id, name) VALUES (7003, 3, 'Kiosk Mama Njeri');
INSERT INTO retail.sale (business_id, id, total_amount, payment_method, customer_id) VALUES (7003, 1, 100, 'credit', 3);
INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total) VALUES (7003, 1, :soap, 2, 50, 100);
INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters) VALUES (7001, :w20, 10, 0);
INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount) VALUES (7001, :w20, 4, 100, 400);
REFRESH MATERIALIZED VIEW water.daily_summary_mv;
REFRESH MATERIALIZED VIEW laundry.daily_summary_mv;
REFRESH MATERIALIZED VIEW retail.daily_summary_mv;
SELECT results_eq($$SELECT bottles_produced, bottles_sold, sales, revenue FROM water.daily_summary_mv$$,
                  $$VALUES (10::bigint, 4::bigint, 1::bigint, 400::numeric)$$, 'the water summary counts production and sales');
SELECT results_eq($$SELECT jobs_received, amount_charged, jobs_delivered, payments, amount_paid FROM laundry.daily_summary_mv$$,
                  $$VALUES (1::bigint, 1050::numeric, 1::bigint, 2::bigint, 800::numeric)$$,
                  'the laundry summary leaves the cancelled job out');
SELECT results_eq($$SELECT sales, revenue, items_sold, lpg_exchanges, lpg_refill_revenue, deposits_taken FROM retail.daily_summary_mv$$,
                  $$VALUES (1::bigint, 100::numeric, 2::numeric, 2::bigint, 5600::numeric, 3500::numeric)$$,
                  'the retail summary counts sales, items and LPG exchanges');
SET LOCAL crm_core.business_id = '7001';
SELECT is((SELECT count(*)::int FROM water.daily_summary), 1, 'a business sees its own summary');
SELECT is((SELECT count(*)::int FROM retail.daily_summary), 0, 'and not another business''s');
RESET crm_core.business_id;
SELECT is((SELECT count(*)::int FROM laundry.daily_summary), 0, 'no business set: no summary rows');
SELECT is_empty($$SELECT * FROM crm_core.check_balances() WHERE business_id BETWEEN 7001 AND 7003$$,
                'kept balances equal their lines');
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE', 'every entry of the three modules balances');

SELECT * FROM finish();
ROLLBACK;
