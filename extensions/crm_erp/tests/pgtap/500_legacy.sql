-- Seed 002 unchanged: its seed data loads through the compatibility views (erp_legacy), and
-- its own validation queries, copied verbatim into seed002/validation.sql, run against them
-- and find every entry balanced and every account balance equal to its ledger.
BEGIN;
SELECT plan(11);

\ir ../../seed002/seed_data.sql
SELECT is((SELECT count(*)::int FROM erp_legacy.business WHERE id IN (101, 102, 103)), 3,
          'seed 002''s three businesses load');
SELECT is((SELECT count(*)::int FROM erp_legacy.account WHERE business_id IN (101, 102, 103)), 30,
          'its chart of 30 accounts loads');
SELECT is((SELECT name FROM erp_legacy.account WHERE business_id = 101 AND account_number = '1170'),
          'Cash on hand', 'account 1170 is the cash account');
SELECT is((SELECT count(*)::int FROM erp_legacy.transaction_type WHERE business_id IN (101, 102, 103)), 15,
          'its transaction types load');
SELECT throws_ok($$INSERT INTO erp_legacy.account (business_id, account_number, name, account_type_id)
                   VALUES (101, '9999', 'x', 9)$$,
                 '23503', 'account type 9 does not exist', 'an unknown account type is refused');

-- The modules on top of the seed's chart, and some business.
SELECT erp.setup_business(101, 'water'), erp.setup_business(102, 'laundry'), erp.setup_business(103, 'retail');
SELECT is((SELECT count(*)::int FROM crm_core.account WHERE business_id = 101 AND code = '1170'), 1,
          'setting the module up reuses the seed''s cash account');
SELECT water.add_size(101, '20L', 20, 100) AS w20 \gset
INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters) VALUES (101, :w20, 30, 0);
INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount, payment_method, mpesa_receipt)
VALUES (101, :w20, 2, 100, 200, 'cash', NULL), (101, :w20, 1, 100, 100, 'mpesa', 'QS1');
INSERT INTO erp.customer (business_id, id, name) VALUES (102, 1, 'Amina');
INSERT INTO laundry.service_type (business_id, id, code, name, unit_price) VALUES (102, 1, 'shirt', 'Shirt', 80);
INSERT INTO laundry.job (business_id, id, customer_id, total_amount) VALUES (102, 1, 1, 240);
INSERT INTO laundry.job_item (business_id, job_id, service_type_id, quantity, unit_price, line_total) VALUES (102, 1, 1, 3, 80, 240);
INSERT INTO laundry.payment (business_id, customer_id, job_id, amount) VALUES (102, 1, 1, 100);
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED', 'the entries balance');

-- Seed 002's validation queries, as written in the seed.
\set balanced `sed -n '/^-- Validate journal entries balance/,/;$/p' extensions/crm_erp/seed002/validation.sql`
\set immutable `sed -n '/^-- Validate ledger immutability/,/;$/p' extensions/crm_erp/seed002/validation.sql`
\set balances `sed -n '/^-- Check account balances accuracy/,/;$/p' extensions/crm_erp/seed002/validation.sql`
SET LOCAL search_path = erp_legacy, public, pg_catalog;
SELECT is_empty(:'balanced', '"Validate journal entries balance" returns 0 rows');
SELECT lives_ok(:'immutable', '"Validate ledger immutability" runs');
SELECT is((SELECT count(*)::int FROM ledger WHERE business_id IN (101, 102)), 8,
          'the ledger view holds the money lines of the posted entries');
SELECT results_eq(format($$SELECT DISTINCT status FROM (%s) AS checked$$, rtrim(:'balances', E';\n')),
                  $$VALUES ('OK')$$, '"Check account balances accuracy" finds every stored balance OK');

SELECT * FROM finish();
ROLLBACK;
