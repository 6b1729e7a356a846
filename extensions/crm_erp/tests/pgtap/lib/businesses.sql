-- Included (\ir) inside a test's transaction: one business of each kind, set up with
-- erp.setup_business(), with a few products. psql variables name what tests use.
INSERT INTO crm_core.business (id, name) VALUES (7001, 'Maji Safi Water'), (7002, 'Clean Press Laundry'),
                                                (7003, 'Duka Retail & Gas');
SELECT erp.setup_business(7001, 'water'), erp.setup_business(7002, 'laundry'),
       erp.setup_business(7003, 'retail');
SELECT water.add_size(7001, '20L', 20, 100) AS w20, water.add_size(7001, '10L', 10, 60) AS w10 \gset
SELECT id AS raw_water FROM erp.item WHERE business_id = 7001 AND code = 'raw_water' \gset
SELECT retail.add_product(7003, 'SOAP-1', 'Bar soap', 50) AS soap,
       retail.add_product(7003, 'MILK-500', 'Milk 500 ml', 60) AS milk,
       retail.add_cylinder(7003, 13, 'Total', 2800, 3500) AS cylinder13 \gset
SELECT full_item_id AS lpg_full, empty_item_id AS lpg_empty FROM retail.lpg_cylinder WHERE id = :cylinder13 \gset
SELECT erp.account_of(7001, 'cash') AS water_cash, erp.account_of(7001, 'mpesa') AS water_mpesa,
       erp.account_of(7001, 'sales') AS water_sales, erp.account_of(7001, 'receivable') AS water_receivable,
       erp.account_of(7002, 'receivable') AS laundry_receivable, erp.account_of(7002, 'cash') AS laundry_cash,
       erp.account_of(7002, 'sales') AS laundry_sales,
       erp.account_of(7003, 'cash') AS retail_cash, erp.account_of(7003, 'sales') AS retail_sales,
       erp.account_of(7003, 'cylinder_deposits') AS retail_deposits \gset
