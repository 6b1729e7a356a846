-- 64 businesses with 20 accounts each (account ids business * 100 + 1 .. + 20), the same on
-- one node and on the cluster (where bench/citus/run.sh distributes them first).
INSERT INTO crm_core.business (id, name) SELECT b, 'Business ' || b FROM generate_series(1, 64) AS b;
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
SELECT b * 100 + a, b, (1000 + a)::text, 'Account ' || a,
       CASE WHEN a <= 10 THEN 'asset' ELSE 'income' END, 'EUR'
  FROM generate_series(1, 64) AS b, generate_series(1, 20) AS a;
