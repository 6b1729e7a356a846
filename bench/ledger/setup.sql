-- One business, 1,000 EUR accounts (account 1 is the hot cash account of workload b).
INSERT INTO crm_core.business (id, name) VALUES (1, 'bench');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
SELECT i, 1, 'A' || i, 'Account ' || i, CASE WHEN i % 2 = 0 THEN 'income' ELSE 'asset' END, 'EUR'
FROM generate_series(1, 1000) AS i;
SELECT setval(pg_get_serial_sequence('crm_core.account', 'id'), 1000);
