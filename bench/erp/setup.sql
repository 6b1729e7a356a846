-- A small multi-business day: three retail businesses of 20 products each, stock received for
-- the whole run (the stock accounts keep their "never negative" rule). Item ids are
-- (business - 1) * 20 + n for product n of business 1..3 (run.sh checks it).
SELECT setseed(0.18);
INSERT INTO crm_core.business (id, name) VALUES (1, 'Duka One'), (2, 'Duka Two'), (3, 'Duka Three');
SELECT erp.setup_business(b, 'retail') FROM generate_series(1, 3) AS b;
SELECT retail.add_product(b, format('P%s-%s', b, n), format('Product %s', n), 50)
  FROM generate_series(1, 3) AS b, generate_series(1, 20) AS n ORDER BY b, n;
INSERT INTO retail.stock_receipt (business_id, item_id, quantity, cost)
SELECT p.business_id, p.item_id, 1000000, 0 FROM retail.product p;
CHECKPOINT;
