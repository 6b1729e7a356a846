-- Tenant isolation of crm_erp for the application's logins (crm_core's grants and row-level
-- security): a business's login posts its events and sees only its rows, its stock, its
-- rules and its summaries; another business is out of reach even when asked for; a pooled
-- login switches businesses with SET LOCAL; without a business nothing is seen or written.
BEGIN;
SELECT plan(26);
\ir lib/businesses.sql

INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters) VALUES (7001, :w20, 50, 0);
INSERT INTO retail.stock_receipt (business_id, item_id, quantity) VALUES (7003, :soap, 50);
INSERT INTO retail.sale (business_id, id, total_amount) VALUES (7003, 9701, 50);
INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total) VALUES (7003, 9701, :soap, 1, 50, 50);
CREATE ROLE erp_water_app IN ROLE crm_core_app;
CREATE ROLE erp_shop_app IN ROLE crm_core_app;
CREATE ROLE erp_pool IN ROLE crm_core_app;
SELECT erp.grant_access('erp_water_app', 7001, 'cashier'), erp.grant_access('erp_shop_app', 7003, 'manager');
SELECT crm_core.grant_business('erp_pool', NULL);

-- The water shop's login.
SET LOCAL ROLE erp_water_app;
SET LOCAL crm_core.business_id = '7001';
SELECT lives_ok(format($$INSERT INTO water.sale (business_id, id, product_size_id, quantity, unit_price, total_amount)
                        VALUES (7001, 9702, %s, 2, 100, 200)$$, :w20),
                'a business''s login records a sale, which posts');
SELECT is((SELECT count(*)::int FROM crm_core.journal_line l JOIN water.sale s
            ON s.business_id = l.business_id AND s.entry_id = l.entry_id WHERE s.id = 9702), 4,
          'its entry and lines are there for it');
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED', 'and balance');
SELECT is((SELECT count(*)::int FROM retail.sale), 0, 'another business''s sales are not seen');
SELECT is((SELECT count(*)::int FROM crm_core.journal_entry WHERE business_id <> 7001), 0,
          'nor its entries');
SELECT is((SELECT count(DISTINCT business_id)::int FROM erp.stock_on_hand), 1, 'stock: its own items only');
SELECT is((SELECT count(*)::int FROM erp.posting_rule WHERE business_id <> 7001), 0, 'rules: its own only');
SELECT throws_like($$INSERT INTO retail.sale (business_id, total_amount) VALUES (7003, 10)$$,
                   '%refused%', 'a sale for another business is refused');
SELECT throws_ok($$INSERT INTO erp.posting_rule (business_id, transaction_type, line_no, side, account_id, amount_column)
                   VALUES (7003, 'retail_sale', 9, 'debit', 1, 'total_amount')$$, '42501', NULL,
                 'a rule for another business is refused');
SELECT throws_ok($$SET LOCAL crm_core.business_id = '7003'; SELECT count(*) FROM water.sale$$, '42501',
                 'role "erp_water_app" may not act for business 7003',
                 'the water login cannot act for the shop, even by asking');
SELECT ok(erp.has_permission('sales') AND NOT erp.has_permission('reconciliation'),
          'its role (cashier) grants sales, not reconciliation');
SELECT lives_ok($$SELECT erp.reverse_event('water.sale', 7001, 9702, 'wrong size')$$,
                'it reverses its own sale');
SELECT is((SELECT on_hand FROM water.inventory WHERE product_size_id = :w20), 50::numeric,
          'and its bottles are back in stock');
SELECT lives_ok($$SELECT water.add_size(7001, '5L', 5, 40)$$,
                'it adds a bottle size: the item''s accounts are made for it');
SELECT is((SELECT count(*)::int FROM crm_core.account WHERE business_id = 7001 AND currency = 'unit:water_5l'), 2,
          'in its business');
SELECT is((SELECT count(*)::int FROM erp.customer_pii WHERE business_id = 7003), 0,
          'another business''s customers are not seen');
RESET ROLE;
RESET crm_core.business_id;

-- A pooled login serving every business switches with SET LOCAL (here: within one test
-- transaction, by setting the business again).
SET LOCAL ROLE erp_pool;
SET LOCAL crm_core.business_id = '7003';
SELECT is((SELECT count(*)::int FROM retail.sale), 1, 'the pooled login acting for the shop sees its sale');
SELECT is((SELECT count(*)::int FROM water.sale), 0, 'and no water sale');
SELECT lives_ok(format($$INSERT INTO retail.sale (business_id, id, total_amount) VALUES (7003, 9703, 50);
                         INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
                         VALUES (7003, 9703, %s, 1, 50, 50)$$, :soap),
                'it records a sale with its items for the shop');
SET LOCAL crm_core.business_id = '7001';
SELECT is((SELECT count(*)::int FROM retail.sale), 0, 'switched to the water shop: no retail sale');
SELECT is((SELECT count(*)::int FROM water.sale), 1, 'but the water sale');
SET LOCAL crm_core.business_id = '';
SELECT is((SELECT count(*)::int FROM water.sale) + (SELECT count(*)::int FROM erp.item), 0,
          'no business set: nothing is seen');
SELECT throws_like(format($$INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount)
                            VALUES (7001, %s, 1, 100, 100)$$, :w20),
                   '%no business is set%', 'and nothing is written');
RESET ROLE;

-- Summaries: a business reads its own.
REFRESH MATERIALIZED VIEW retail.daily_summary_mv;
SET LOCAL ROLE erp_shop_app;
SET LOCAL crm_core.business_id = '7003';
SELECT is((SELECT sum(sales)::int FROM retail.daily_summary), 2, 'the shop reads its summary');
SELECT throws_ok($$SELECT * FROM retail.daily_summary_mv$$, '42501', 'permission denied for materialized view daily_summary_mv',
                 'but not the materialized view holding every business');
RESET ROLE;
SELECT is_empty($$SELECT * FROM crm_core.check_balances() WHERE business_id IN (7001, 7003)$$,
                'balances kept for the logins'' postings equal their lines');

SELECT * FROM finish();
ROLLBACK;
