-- Demo: seed 002's multi-business ERP on crm_erp: one business of each kind (water packaging,
-- laundry, retail with LPG), a day of their business, an M-Pesa till statement reconciled,
-- and the daily summaries. Loaded by scripts/setup.sh into database crm_core_demo, once
-- (skipped when crm_erp is already installed). See docs/erp.md.

SELECT NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'crm_erp') AS fresh_erp_demo \gset
\if :fresh_erp_demo
\o /dev/null
CREATE EXTENSION crm_erp CASCADE;

-- Seed 002's own seed data: three businesses, their chart of 30 accounts, transaction types.
\ir ../../extensions/crm_erp/seed002/seed_data.sql

BEGIN;
-- Each business gets its module: the accounts it lacks, stock items, posting rules.
SELECT erp.setup_business(101, 'water'), erp.setup_business(102, 'laundry'), erp.setup_business(103, 'retail');
INSERT INTO erp.till (business_id, kind, number, name, account_id)
VALUES (101, 'mpesa_till', '512345', 'Water shop till', erp.account_of(101, 'mpesa')),
       (103, 'mpesa_till', '598765', 'Duka till', erp.account_of(103, 'mpesa'));

-- The key that encrypts customers' phone numbers and national ids: in production the service
-- passes it per session and it never lives in the database.
SET LOCAL erp.pii_key = 'demo-only-key-0123456789abcdefghijklmnop';

-- Tomtin Water: raw water in, a production batch, sales in cash and by M-Pesa.
SELECT water.add_size(101, '20L', 20, 100) AS w20, water.add_size(101, '10L', 10, 60) AS w10 \gset
INSERT INTO water.raw_intake (business_id, liters, cost, supplier) VALUES (101, 5000, 2500, 'County water');
INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters, batch_no)
VALUES (101, :w20, 120, 2400, 'B-001'), (101, :w10, 100, 1000, 'B-002');
INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount, payment_method, mpesa_receipt)
VALUES (101, :w20, 4, 100, 400, 'cash', NULL), (101, :w20, 2, 100, 200, 'mpesa', 'SGH1A2B3C4'),
       (101, :w10, 5, 60, 300, 'mpesa', 'SGH1A2B3C5'), (101, :w20, 10, 100, 1000, 'mpesa', 'SGH1A2B3C6');

-- Tomtin Laundry: customers (phone encrypted), a job through its workflow, payments.
INSERT INTO laundry.service_type (business_id, code, name, unit, unit_price)
VALUES (102, 'wash_fold', 'Wash and fold', 'kg', 150), (102, 'suit', 'Dry-clean suit', 'item', 600);
INSERT INTO erp.customer_pii (business_id, id, name, phone, national_id)
VALUES (102, 1, 'Amina Wanjiru', '0712 345 678', '23456789'), (102, 2, 'Brian Otieno', '+254 722 000 111', NULL);
INSERT INTO laundry.job (business_id, id, job_no, customer_id, total_amount) VALUES (102, 1, 'J-0001', 1, 1050);
INSERT INTO laundry.job_item (business_id, job_id, service_type_id, quantity, unit_price, line_total)
SELECT 102, 1, s.id, q, s.unit_price, q * s.unit_price
  FROM (VALUES ('wash_fold', 3), ('suit', 1)) AS v (code, q) JOIN laundry.service_type s ON s.business_id = 102 AND s.code = v.code;
INSERT INTO laundry.job (business_id, id, job_no, customer_id, total_amount) VALUES (102, 2, 'J-0002', 2, 600);
INSERT INTO laundry.job_item (business_id, job_id, service_type_id, quantity, unit_price, line_total)
SELECT 102, 2, id, 1, unit_price, unit_price FROM laundry.service_type WHERE business_id = 102 AND code = 'suit';
COMMIT;
BEGIN;
UPDATE laundry.job SET status = 'washing' WHERE business_id = 102 AND id = 1;
UPDATE laundry.job SET status = 'drying' WHERE business_id = 102 AND id = 1;
UPDATE laundry.job SET status = 'ready' WHERE business_id = 102 AND id = 1;
INSERT INTO laundry.payment (business_id, customer_id, job_id, amount, payment_method, mpesa_receipt)
VALUES (102, 1, 1, 1050, 'mpesa', 'SGJ7K8L9M0');
UPDATE laundry.job SET status = 'delivered' WHERE business_id = 102 AND id = 1;
INSERT INTO laundry.payment (business_id, customer_id, job_id, amount) VALUES (102, 2, 2, 300);

-- Tomtin Retail & Gas: products received, sales with items, LPG exchanges.
SELECT retail.add_product(103, 'SOAP-BAR', 'Bar soap', 50) AS soap,
       retail.add_product(103, 'MILK-500', 'Milk 500 ml', 60) AS milk,
       retail.add_product(103, 'BREAD-400', 'Bread 400 g', 65) AS bread,
       retail.add_cylinder(103, 13, 'Total', 2800, 3500) AS cylinder \gset
SELECT full_item_id AS lpg_full FROM retail.lpg_cylinder WHERE id = :cylinder \gset
INSERT INTO retail.stock_receipt (business_id, item_id, quantity, cost, supplier)
VALUES (103, :soap, 48, 1800, 'Wholesaler'), (103, :milk, 40, 1900, 'Dairy'), (103, :bread, 30, 1500, 'Bakery'),
       (103, :lpg_full, 12, 30000, 'Total depot');
INSERT INTO retail.sale (business_id, id, receipt_no, total_amount) VALUES (103, 1, 'R-0001', 225);
INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
VALUES (103, 1, :soap, 2, 50, 100), (103, 1, :milk, 1, 60, 60), (103, 1, :bread, 1, 65, 65);
INSERT INTO retail.sale (business_id, id, receipt_no, total_amount, payment_method, mpesa_receipt)
VALUES (103, 2, 'R-0002', 180, 'mpesa', 'SGK2N3P4Q5');
INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
VALUES (103, 2, :milk, 3, 60, 180);
INSERT INTO retail.lpg_exchange (business_id, cylinder_id, empties_returned, refill_amount, total_amount)
VALUES (103, :cylinder, 1, 2800, 2800);
INSERT INTO retail.lpg_exchange (business_id, cylinder_id, empties_returned, refill_amount, deposit_amount,
                                 total_amount, payment_method, mpesa_receipt)
VALUES (103, :cylinder, 0, 2800, 3500, 6300, 'mpesa', 'SGK2N3P4Q6');
COMMIT;

-- The water shop's M-Pesa till statement for the day, imported and matched: two receipts
-- match, one payment is unknown to the ledger, one sale is missing from the statement.
SELECT format(E'Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\n'
              'SGH1A2B3C4,%1$s 09:12:40,Payment from 254712345678,Completed,200.00,,200.00\n'
              'SGH1A2B3C5,%1$s 10:01:02,Payment from 254722000111,Completed,300.00,,500.00\n'
              'SGH1A2B3C9,%1$s 11:45:00,Payment from 254733444555,Completed,150.00,,650.00\n',
              to_char(current_date, 'YYYY-MM-DD')) AS statement \gset
SELECT erp.import_till_statement(101, '512345', :'statement', 'till-512345.csv');
SELECT * FROM erp.match_statement(erp.account_of(101, 'mpesa'));

-- Daily summaries: registered with crm_core (refreshed by crm-core-service or refresh_due()),
-- refreshed here once through crm_core, which records it (crm_core.matview_status).
SELECT erp.schedule_maintenance();
SELECT crm_core.refresh_now(summary)
  FROM unnest(ARRAY['water.daily_summary_mv', 'laundry.daily_summary_mv', 'retail.daily_summary_mv']::regclass[]) AS summary;
\o
\echo crm_erp demo: Tomtin Water (101), Tomtin Laundry (102), Tomtin Retail & Gas (103)
SELECT business_id, code, on_hand FROM erp.stock_on_hand WHERE business_id IN (101, 103) ORDER BY 1, 2;
SELECT business_id, day, bottles_produced, bottles_sold, revenue FROM water.daily_summary_mv ORDER BY 1, 2, 3;
SELECT reference, amount FROM erp.unmatched_statement_line UNION ALL
SELECT 'ledger: ' || reference, amount FROM erp.unmatched_ledger_line WHERE business_id = 101;
\endif
