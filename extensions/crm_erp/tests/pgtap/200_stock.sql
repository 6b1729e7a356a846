-- Stock as a quantity ledger: items get their accounts in their own unit, stock on hand is the
-- sum of its movements and readable at a past time, never negative where the item says so,
-- production moves raw material into finished goods, and an item keeps its identity.
BEGIN;
SELECT plan(22);
\ir lib/businesses.sql

SELECT results_eq(
    format($$SELECT a.code, a.kind, a.currency, a.overdraft FROM crm_core.account a
              JOIN erp.item i ON a.business_id = i.business_id AND a.id IN (i.stock_account_id, i.movement_account_id)
             WHERE i.id = %s ORDER BY a.id$$, :w20),
    $$VALUES ('STK:water_20l', 'asset', 'unit:water_20l', 'credits_must_not_exceed_debits'),
             ('MOV:water_20l', 'equity', 'unit:water_20l', 'none')$$,
    'an item gets a stock and a movement account in its own unit; stock never negative by default');
SELECT throws_ok($$INSERT INTO erp.item (business_id, code, name) VALUES (7001, 'Big Bottle', 'x')$$,
                 '23514', 'new row for relation "item" violates check constraint "item_code_valid"',
                 'an item code is a unit code: lower case letters, digits, _ . -');
SELECT throws_ok(format($$INSERT INTO erp.item (business_id, code, name, stock_account_id) VALUES (7001, 'x1', 'x', %s)$$, :water_cash),
                 '428C9', 'the accounts of item x1 are created with it', 'an item cannot adopt existing accounts');
SELECT throws_ok(format($$UPDATE erp.item SET code = 'water_21l' WHERE id = %s$$, :w20),
                 '55000', 'item water_20l keeps its business, id, code and accounts', 'an item''s code never changes');
SELECT throws_ok(format($$DELETE FROM erp.item WHERE id = %s$$, :w20),
                 '55000', 'item water_20l is not deleted: its stock history stays in the ledger', 'items are not deleted');

-- Raw water in, production moves it into bottles, sales move bottles out.
INSERT INTO water.raw_intake (business_id, liters, cost, received_at) VALUES (7001, 1000, 1500, now());
SELECT now() AS after_intake \gset
INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters)
VALUES (7001, :w20, 40, 800);
SELECT results_eq($$SELECT code, on_hand FROM erp.stock_on_hand WHERE business_id = 7001 ORDER BY item_id$$,
                  $$VALUES ('raw_water', 200::numeric), ('water_20l', 40), ('water_10l', 0)$$,
                  'production moves raw water out of stock and bottles in');
INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount)
VALUES (7001, :w20, 15, 100, 1500), (7001, :w20, 5, 100, 500);
SELECT is((SELECT on_hand FROM water.inventory WHERE product_size_id = :w20), 20::numeric,
          'sales move bottles out (seed 002''s WaterInventory is the ledger)');
SELECT is((SELECT sum(quantity) FROM erp.stock_movement WHERE item_id = :w20), 20::numeric,
          'stock on hand equals the sum of its movements');
SELECT is((SELECT count(*)::int FROM erp.stock_movement WHERE item_id = :w20), 3, 'one movement per event');
SELECT is_empty($$SELECT * FROM erp.check_stock() WHERE business_id = 7001$$,
                'erp.check_stock() finds no item whose stock differs from its movements');
SELECT is(erp.stock_at(7001, :raw_water, now()), 200::numeric, 'stock readable now');
SELECT is(erp.stock_at(7001, :raw_water, now() - interval '1 hour'), 0::numeric,
          'stock readable at a past moment (before anything was posted)');

-- Never negative: checked when the transaction commits (here SET CONSTRAINTS ALL IMMEDIATE).
SELECT throws_like(format($$INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount)
                            VALUES (7001, %s, 21, 100, 2100); SET CONSTRAINTS ALL IMMEDIATE$$, :w20),
                   'account STK:water_20l (id %) would have credits 41 exceeding debits 40',
                   'selling more bottles than are on hand is refused');
SELECT throws_ok(format($$INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters)
                          VALUES (7001, %s, 20, 400); SET CONSTRAINTS ALL IMMEDIATE$$, :w10),
                 '23514', NULL, 'producing from more raw water than is on hand is refused');
SELECT throws_ok(format($$INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters)
                          VALUES (7001, %s, 1, 0)$$, :raw_water),
                 '23503', NULL, 'production of an item that is not a bottle size is refused');
SAVEPOINT before_unlimited;
UPDATE erp.item SET never_negative = false WHERE id = :w10;
SELECT is((SELECT overdraft FROM crm_core.account a JOIN erp.item i ON a.id = i.stock_account_id WHERE i.id = :w10),
          'none', 'never_negative = false lifts the stock account''s overdraft rule');
INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount)
VALUES (7001, :w10, 2, 60, 120);
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED',
                'an item allowed to go negative may be sold short');
SELECT is((SELECT on_hand FROM erp.stock_on_hand WHERE item_id = :w10), -2::numeric, 'its stock is negative');
UPDATE erp.item SET never_negative = true WHERE id = :w10;
SELECT results_eq($$SELECT code, problem FROM erp.check_stock() WHERE business_id = 7001$$,
                  $$VALUES ('water_10l', 'negative stock')$$,
                  'erp.check_stock() lists negative stock of items that must not go negative once set back');
ROLLBACK TO SAVEPOINT before_unlimited;

-- Retail: a received product, a sale, stock per product; units never mix.
INSERT INTO retail.stock_receipt (business_id, item_id, quantity, cost) VALUES (7003, :soap, 12, 300);
SELECT is((SELECT on_hand FROM retail.inventory WHERE product_id = :soap), 12::numeric, 'a stock receipt adds stock');
SELECT throws_like(format($$SELECT crm_core.post_entry(7003, '[{"account_id": %s, "debit": 1}, {"account_id": %s, "credit": 1}]');
                            SET CONSTRAINTS ALL IMMEDIATE$$,
                          (SELECT stock_account_id FROM erp.item WHERE id = :soap),
                          (SELECT movement_account_id FROM erp.item WHERE id = :milk)),
                   '%does not balance in unit:%', 'soap never turns into milk: each unit balances on its own');
SELECT is_empty($$SELECT * FROM crm_core.check_balances() WHERE business_id BETWEEN 7001 AND 7003$$,
                'kept balances (money and stock) equal their lines');

SELECT * FROM finish();
ROLLBACK;
