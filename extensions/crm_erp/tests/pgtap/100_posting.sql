-- Posting rules: inserting an event row posts one balanced crm_core entry in the same
-- statement (event id as source_ref, subledger and memo where the rule says, rule version in
-- the metadata); children join their parent's entry; every refusal with its SQLSTATE and
-- message; changing a rule never changes what was posted. Deferred ledger checks run through
-- SET CONSTRAINTS ALL IMMEDIATE (110_posting_sessions.sql commits for real).
BEGIN;
SELECT plan(49);
\ir lib/businesses.sql

-- A test event table, to reach what the modules' CHECK constraints keep out.
CREATE SCHEMA erp_test;
CREATE TABLE erp_test.adjustment (business_id bigint NOT NULL, id bigint NOT NULL, entry_id bigint,
                                  amount numeric, account bigint, kind text, note text);
SELECT erp.post_on_insert('erp_test.adjustment', 'test_adjustment');
INSERT INTO erp.transaction_type (business_id, code, name) VALUES (7001, 'test_adjustment', 'Adjustment');
INSERT INTO erp.posting_rule (business_id, transaction_type, line_no, side, account_id, amount_column)
VALUES (7001, 'test_adjustment', 1, 'debit', :water_cash, 'amount');
INSERT INTO erp.posting_rule (business_id, transaction_type, line_no, side, account_column, amount_column, memo_column)
VALUES (7001, 'test_adjustment', 2, 'credit', 'account', 'amount', 'note');

-- A water sale: money and stock in one entry.
INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters)
VALUES (7001, :w20, 50, 0);
INSERT INTO water.sale (business_id, id, product_size_id, quantity, unit_price, total_amount, sold_at)
VALUES (7001, 9001, :w20, 3, 100, 300, '2024-03-05 10:00+03');
SELECT e.id AS sale_entry FROM crm_core.journal_entry e WHERE e.business_id = 7001 AND e.source_ref = 'water.sale:9001' \gset
SELECT is((SELECT count(*)::int FROM crm_core.journal_entry WHERE source_ref = 'water.sale:9001'), 1,
          'inserting a sale posts one entry, named by the event (source_ref)');
SELECT is((SELECT entry_id FROM water.sale WHERE id = 9001), :sale_entry::bigint,
          'the sale row names its entry (entry_id)');
SELECT results_eq(
    $$SELECT a.code, l.debit, l.credit FROM crm_core.journal_line l
        JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
       WHERE l.business_id = 7001 AND l.entry_id = (SELECT entry_id FROM water.sale WHERE id = 9001) ORDER BY l.id$$,
    $$VALUES ('1170', 300::numeric, NULL::numeric), ('4100', NULL, 300), ('STK:water_20l', NULL, 3),
             ('MOV:water_20l', 3, NULL)$$,
    'a cash sale debits cash and credits sales, and moves 3 bottles out of stock');
SELECT is((SELECT metadata FROM crm_core.journal_entry WHERE id = :sale_entry),
          '{"transaction_type": "water_sale", "rule_version": "1"}'::jsonb,
          'the entry records its transaction type and rule version');
SELECT is((SELECT effective_date FROM crm_core.journal_entry WHERE id = :sale_entry), '2024-03-05'::date,
          'the entry is dated by the event''s date column');
SELECT is((SELECT memo FROM crm_core.journal_entry WHERE id = :sale_entry), 'Water sale',
          'the entry''s memo is the transaction type''s name');
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED', 'the posted entry balances at commit');

-- Conditions, memos and subledgers.
INSERT INTO erp.customer (business_id, id, name) VALUES (7001, 9101, 'Hotel Baraka');
INSERT INTO water.sale (business_id, id, product_size_id, quantity, unit_price, total_amount, payment_method, mpesa_receipt)
VALUES (7001, 9002, :w20, 1, 100, 100, 'mpesa', 'QFT3XK9L2P');
INSERT INTO water.sale (business_id, id, product_size_id, quantity, unit_price, total_amount, payment_method, customer_id)
VALUES (7001, 9003, :w20, 2, 100, 200, 'credit', 9101);
SELECT results_eq(
    $$SELECT l.account_id, l.debit, l.memo, l.subledger FROM crm_core.journal_line l
       WHERE l.entry_id IN (SELECT entry_id FROM water.sale WHERE id IN (9002, 9003)) AND l.debit IS NOT NULL
         AND l.account_id IN (SELECT id FROM crm_core.account WHERE currency = 'KES') ORDER BY l.id$$,
    format($$VALUES (%s::bigint, 100::numeric, 'QFT3XK9L2P'::text, NULL::bigint), (%s, 200, NULL, 9101)$$,
           :water_mpesa, :water_receivable),
    'an M-Pesa sale debits the till with the receipt as memo; a credit sale the receivable with the customer as subledger');
SELECT is(crm_core.subledger_balance(:water_receivable, 9101), 200::numeric,
          'the customer''s subledger balance is what they owe');

-- Zero and NULL amounts post no line; negative ones are refused.
INSERT INTO water.raw_intake (business_id, id, liters, cost) VALUES (7001, 9201, 500, 0);
SELECT is((SELECT count(*)::int FROM crm_core.journal_line l JOIN water.raw_intake r
            ON r.business_id = l.business_id AND r.entry_id = l.entry_id WHERE r.id = 9201), 2,
          'a zero cost posts no money lines, only the water');
SELECT throws_ok($$INSERT INTO erp_test.adjustment (business_id, id, amount, account) VALUES (7001, 1, -5, 1)$$,
                 '23514', 'erp_test.adjustment 1: posting rule test_adjustment line 1 takes its amount from "amount", which is -5; amounts must be positive or zero',
                 'a negative amount is refused, naming event, rule line and value');
SELECT throws_ok($$INSERT INTO erp_test.adjustment (business_id, id, amount, account) VALUES (7001, 1, 'NaN', 1)$$,
                 '23514', 'erp_test.adjustment 1: posting rule test_adjustment line 1 takes its amount from "amount", which is NaN; amounts must be positive or zero',
                 'NaN is refused');
SELECT throws_ok($$INSERT INTO erp_test.adjustment (business_id, id, amount) VALUES (7001, 2, 5)$$,
                 '23502', 'erp_test.adjustment 2: posting rule test_adjustment line 2 takes its account from column "account", which is NULL',
                 'an account column left NULL is refused');
SELECT throws_ok(format($$INSERT INTO erp_test.adjustment (business_id, id, amount, account) VALUES (7001, 3, 5, %s)$$, :laundry_cash),
                 '23503', format('account %s does not exist in business 7001', :laundry_cash),
                 'an account of another business is refused by the ledger');
SELECT throws_ok($$INSERT INTO erp_test.adjustment (business_id, id, entry_id, amount, account) VALUES (7001, 4, 1, 5, 1)$$,
                 '428C9', 'entry_id of adjustment is set by its posting rules',
                 'an event may not name its own entry');
SELECT throws_ok($$INSERT INTO erp_test.adjustment (business_id, id, amount) VALUES (7002, 5, 5)$$,
                 '55000', 'erp_test.adjustment 5 cannot post: transaction type test_adjustment of business 7002 does not exist',
                 'an event of a business without the transaction type is refused');
UPDATE erp.transaction_type SET active = false WHERE business_id = 7001 AND code = 'test_adjustment';
SELECT throws_ok(format($$INSERT INTO erp_test.adjustment (business_id, id, amount, account) VALUES (7001, 6, 5, %s)$$, :water_sales),
                 '55000', 'erp_test.adjustment 6 cannot post: transaction type test_adjustment of business 7001 is inactive',
                 'an inactive transaction type posts nothing');
UPDATE erp.transaction_type SET active = true WHERE business_id = 7001 AND code = 'test_adjustment';

-- Rules are checked against their event table when written.
SELECT throws_ok(format($$INSERT INTO erp.posting_rule (business_id, transaction_type, line_no, side, account_id, amount_column)
                          VALUES (7001, 'test_adjustment', 9, 'debit', %s, 'nope')$$, :water_cash),
                 '42703', 'posting rule test_adjustment line 9 (amount_column) reads column nope, which erp_test.adjustment does not have',
                 'a rule reading a missing column is refused');
SELECT throws_ok(format($$INSERT INTO erp.posting_rule (business_id, transaction_type, line_no, side, account_id, amount_column)
                          VALUES (7001, 'test_adjustment', 9, 'debit', %s, 'note')$$, :water_cash),
                 '42804', 'posting rule test_adjustment line 9 (amount_column) reads column note of erp_test.adjustment, which is text and not a number',
                 'a rule taking an amount from a text column is refused');
SELECT throws_ok(format($$INSERT INTO erp.posting_rule (business_id, transaction_type, line_no, side, account_id, item_id, item_account, amount_column)
                          VALUES (7001, 'test_adjustment', 9, 'debit', %s, %s, 'stock', 'amount')$$, :water_cash, :w20),
                 '23514', 'new row for relation "posting_rule" violates check constraint "posting_rule_one_target"',
                 'a rule line has exactly one target');
SELECT throws_ok(format($$INSERT INTO erp.posting_rule (business_id, transaction_type, line_no, side, item_id, amount_column)
                          VALUES (7001, 'test_adjustment', 9, 'debit', %s, 'amount')$$, :w20),
                 '23514', 'new row for relation "posting_rule" violates check constraint "posting_rule_item_account_given"',
                 'an item line says which of the item''s accounts it moves');
SELECT throws_ok(format($$INSERT INTO erp.posting_rule (business_id, transaction_type, line_no, side, account_id, amount_column, when_column)
                          VALUES (7001, 'test_adjustment', 9, 'debit', %s, 'amount', 'kind')$$, :water_cash),
                 '23514', 'new row for relation "posting_rule" violates check constraint "posting_rule_condition_complete"',
                 'a condition names its column and its value');

-- Changing a rule changes what comes next, never what was posted.
INSERT INTO erp_test.adjustment (business_id, id, amount, account, note) VALUES (7001, 10, 40, :water_sales, 'before');
SELECT entry_id AS before_entry FROM erp_test.adjustment WHERE id = 10 \gset
SELECT is((SELECT memo FROM crm_core.journal_line WHERE entry_id = :before_entry AND credit = 40), 'before',
          'a memo column fills the line memo');
UPDATE erp.posting_rule SET account_id = :water_mpesa
 WHERE business_id = 7001 AND transaction_type = 'test_adjustment' AND line_no = 1;
SELECT is((SELECT rule_version FROM erp.transaction_type WHERE business_id = 7001 AND code = 'test_adjustment'), 4,
          'every change of a rule line bumps the type''s version (two lines defined, one changed)');
INSERT INTO erp_test.adjustment (business_id, id, amount, account) VALUES (7001, 11, 40, :water_sales);
SELECT is((SELECT account_id FROM crm_core.journal_line
            WHERE entry_id = (SELECT entry_id FROM erp_test.adjustment WHERE id = 11) AND debit = 40),
          :water_mpesa::bigint, 'an event after the change posts by the new rule');
SELECT is((SELECT account_id FROM crm_core.journal_line WHERE entry_id = :before_entry AND debit = 40),
          :water_cash::bigint, 'the entry posted before the change is unchanged');
SELECT is((SELECT metadata ->> 'rule_version' FROM crm_core.journal_entry
            WHERE id = (SELECT entry_id FROM erp_test.adjustment WHERE id = 11)), '4',
          'the new entry records the version that posted it');

-- Posted events are frozen, except the columns registered as mutable.
SELECT throws_ok($$UPDATE water.sale SET quantity = 30 WHERE id = 9001$$,
                 '55000', 'water.sale 9001 is posted: it does not change', 'a posted sale cannot change');
SELECT throws_ok($$DELETE FROM water.sale WHERE id = 9001$$,
                 '55000', 'water.sale 9001 is posted and is not deleted', 'a posted sale cannot be deleted');
SELECT throws_ok($$TRUNCATE water.sale$$, '55000', 'TRUNCATE on water.sale is refused: its rows are append-only', 'an event table cannot be truncated');

-- A parent and its children: one entry.
INSERT INTO retail.stock_receipt (business_id, item_id, quantity) VALUES (7003, :soap, 20), (7003, :milk, 20);
INSERT INTO retail.sale (business_id, id, total_amount) VALUES (7003, 9301, 170);
INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
VALUES (7003, 9301, :soap, 1, 50, 50), (7003, 9301, :milk, 2, 60, 120);
SELECT is((SELECT count(DISTINCT entry_id)::int FROM crm_core.journal_line
            WHERE entry_id = (SELECT entry_id FROM retail.sale WHERE id = 9301)), 1,
          'a sale and its items post one entry');
SELECT results_eq(
    $$SELECT a.code, coalesce(l.debit, -l.credit) FROM crm_core.journal_line l
        JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
       WHERE l.entry_id = (SELECT entry_id FROM retail.sale WHERE id = 9301) ORDER BY l.id$$,
    $$VALUES ('1170', 170::numeric), ('4300', -50), ('STK:soap-1', -1), ('MOV:soap-1', 1),
             ('4300', -120), ('STK:milk-500', -2), ('MOV:milk-500', 2)$$,
    'the entry holds the payment, each item''s revenue and its stock movement');
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED', 'items adding up to the total balance');
INSERT INTO retail.sale (business_id, id, total_amount) VALUES (7003, 9302, 100);
INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
VALUES (7003, 9302, :soap, 1, 50, 50);
SELECT throws_like('SET CONSTRAINTS ALL IMMEDIATE',
                   '%does not balance in KES: debits 100, credits 50',
                   'items that do not add up to the sale''s total never commit');
INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
VALUES (7003, 9302, :soap, 1, 50, 50);
SELECT throws_ok($$INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
                   VALUES (7003, 424242, 1, 1, 1, 1)$$,
                 '23503', NULL, 'an item of an unknown sale is refused');
SELECT lives_ok($$WITH s AS (INSERT INTO retail.sale (business_id, id, total_amount) VALUES (7003, 9303, 50) RETURNING id)
                  INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
                  SELECT 7003, s.id, $$ || :soap || $$, 1, 50, 50 FROM s$$,
                'a sale and its items in one statement (writable CTE) post');
SELECT is((SELECT count(*)::int FROM crm_core.journal_line
            WHERE entry_id = (SELECT entry_id FROM retail.sale WHERE id = 9303)), 4,
          'into one entry');
SELECT throws_ok($$SELECT erp.reverse_event('retail.sale_item', 7003, 1, 'x')$$,
                 '55000', 'rows of retail.sale_item post into their retail.sale entry: reverse the retail.sale instead',
                 'items are reversed with their sale');

-- Many events in one statement; COPY.
INSERT INTO water.sale (business_id, id, product_size_id, quantity, unit_price, total_amount)
SELECT 7001, 9400 + n, :w20, 1, 100, 100 FROM generate_series(1, 5) AS n;
SELECT is((SELECT count(*)::int FROM crm_core.journal_entry WHERE source_ref LIKE 'water.sale:94__'), 5,
          'a multi-row insert posts an entry per row');
ALTER TABLE water.sale ALTER COLUMN product_size_id SET DEFAULT :w20;  -- COPY data cannot name :w20
COPY water.sale (business_id, id, quantity, unit_price, total_amount) FROM STDIN;
7001	9501	1	100	100
7001	9502	2	100	200
\.
SELECT is((SELECT sum(l.debit) FROM crm_core.journal_line l JOIN water.sale s
            ON s.business_id = l.business_id AND s.entry_id = l.entry_id
           WHERE s.id IN (9501, 9502) AND l.account_id = :water_cash), 300::numeric,
          'COPY into an event table posts too');

-- Reversal: the mirror entry, money and stock, once.
SELECT erp.stock_at(7001, :w20, now()) AS stock_before \gset
SELECT ok(erp.reverse_event('water.sale', 7001, 9001, 'customer returned the bottles') IS NOT NULL,
          'a sale is reversed');
SELECT is((SELECT on_hand FROM erp.stock_on_hand WHERE item_id = :w20), :stock_before + 3::numeric,
          'its bottles are back in stock');
SELECT is((SELECT reason FROM erp.event_reversal WHERE relid = 'water.sale'::regclass AND event_id = 9001),
          'customer returned the bottles', 'the reversal is recorded with its reason');
SELECT throws_ok($$SELECT erp.reverse_event('water.sale', 7001, 9001, 'again')$$,
                 '23505', 'water.sale 9001 is already reversed', 'an event is reversed once');
SELECT throws_ok($$SELECT erp.reverse_event('water.sale', 7001, 9001, ' ')$$,
                 '22004', 'a reversal needs a reason', 'a reversal needs a reason');
SELECT throws_ok(format($$INSERT INTO erp.event_reversal (business_id, relid, event_id, entry_id, reversal_entry_id, reason)
                          VALUES (7001, 'water.sale', 9002, (SELECT entry_id FROM water.sale WHERE id = 9002), %s, 'hide it')$$,
                         (SELECT reversal_entry_id FROM erp.event_reversal WHERE event_id = 9001)),
                 '23514', 'water.sale 9002 was not reversed by entry ' ||
                          (SELECT reversal_entry_id FROM erp.event_reversal WHERE event_id = 9001),
                 'a reversal record cannot hide an event that was not reversed');
SELECT throws_ok($$SELECT erp.reverse_event('water.sale', 7001, 424242, 'x')$$,
                 'P0002', 'water.sale 424242 does not exist in business 7001', 'an unknown event cannot be reversed');

SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED', 'everything posted balances');
SELECT is_empty($$SELECT * FROM crm_core.check_balances() WHERE business_id BETWEEN 7001 AND 7003$$,
                'kept balances equal their lines');

SELECT * FROM finish();
ROLLBACK;
