-- One sale of three items (pgbench script): a business, three of its products, quantities 1 to 3.
\set b random(1, 3)
\set i1 (:b - 1) * 20 + random(1, 20)
\set i2 (:b - 1) * 20 + random(1, 20)
\set i3 (:b - 1) * 20 + random(1, 20)
\set q1 random(1, 3)
\set q2 random(1, 3)
\set q3 random(1, 3)
\set l1 50 * :q1
\set l2 50 * :q2
\set l3 50 * :q3
\set total :l1 + :l2 + :l3
BEGIN;
INSERT INTO retail.sale (business_id, total_amount, payment_method) VALUES (:b, :total, 'cash') RETURNING id AS sale_id \gset
INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
VALUES (:b, :sale_id, :i1, :q1, 50, :l1), (:b, :sale_id, :i2, :q2, 50, :l2), (:b, :sale_id, :i3, :q3, 50, :l3);
END;
