-- Fixture of the run_dpd benchmark (variables: debts, installments): :debts debts of business 1
-- with one plan each of :installments monthly installments (:debts * :installments rows). The
-- oldest unpaid installment of debt g fell due (g * 7919) % 140 - 20 days ago (0 to 120 days
-- past due, or not yet due), so about 1/35 of the debts cross a bucket boundary (1, 31, 61,
-- 91 days) each day. Loaded in bulk with the row triggers off: run_dpd reads the debts'
-- unpaid_since, products and buckets only; no bucket evaluated yet (the first run reads all).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
INSERT INTO crm_core.business (id, name) VALUES (1, 'dpd bench');
SELECT count(*) FROM collections.setup_business(1);
ALTER TABLE collections.customer DISABLE TRIGGER USER;
ALTER TABLE collections.debt_account DISABLE TRIGGER USER;
ALTER TABLE collections.repayment_plan DISABLE TRIGGER USER;
ALTER TABLE collections.installment DISABLE TRIGGER USER;
INSERT INTO collections.customer (business_id, id, full_name)
SELECT 1, g, 'Customer ' || g FROM generate_series(1, :debts) AS g;
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, product_id, currency,
                                      principal, opened_on, due_on, status, unpaid_since)
SELECT 1, g, g, 'L-' || g, (SELECT id FROM collections.product WHERE business_id = 1 AND code = 'standard'),
       'EUR', 1200, CURRENT_DATE - 400, NULL, 'active',
       CURRENT_DATE - (((g::bigint * 7919) % 140)::integer - 20)
  FROM generate_series(1, :debts) AS g;
INSERT INTO collections.dpd_due (business_id, debt_account_id, changes_on)
SELECT 1, g, CURRENT_DATE FROM generate_series(1, :debts) AS g;
INSERT INTO collections.repayment_plan (business_id, id, debt_account_id, first_due, installments)
SELECT 1, g, g, CURRENT_DATE - (((g::bigint * 7919) % 140)::integer - 20) - interval '6 months', :installments
  FROM generate_series(1, :debts) AS g;
INSERT INTO collections.installment (business_id, plan_id, debt_account_id, seq, due_on, principal_due, principal_paid)
SELECT 1, g, g, s, (CURRENT_DATE - (((g::bigint * 7919) % 140)::integer - 20) + (s - 7) * interval '1 month')::date,
       100, CASE WHEN s < 7 THEN 100 ELSE 0 END
  FROM generate_series(1, :debts) AS g CROSS JOIN generate_series(1, :installments) AS s;
UPDATE collections.debt_account SET active_plan_id = id;
ALTER TABLE collections.customer ENABLE TRIGGER USER;
ALTER TABLE collections.debt_account ENABLE TRIGGER USER;
ALTER TABLE collections.repayment_plan ENABLE TRIGGER USER;
ALTER TABLE collections.installment ENABLE TRIGGER USER;
SELECT setval('collections.repayment_plan_id_seq', :debts);
VACUUM ANALYZE collections.debt_account;
ANALYZE collections.installment;
