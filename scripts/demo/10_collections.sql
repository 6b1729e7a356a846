-- Demo: a French collection agency on crm_collections, loaded by scripts/setup.sh into database
-- crm_core_demo, once (skipped when business 1 exists). Part 1 sets the business up; part 2
-- loads its portfolio through the same SQL an application uses (plain INSERTs and the
-- collections functions); part 2 is what a CSV import will replace.

SELECT NOT EXISTS (SELECT FROM crm_core.business WHERE id = 1) AS fresh_demo \gset
\if :fresh_demo
\o /dev/null
SELECT setseed(0.2026);

-- ---------------------------------------------------------------------------------------
-- Part 1: the business, its chart of accounts, buckets and products.
INSERT INTO crm_core.business (id, name) VALUES (1, 'Acme Recouvrement');
SELECT * FROM collections.setup_business(1, 'EUR', 'FR');
INSERT INTO collections.product (business_id, code, name, grace_days, allocation_order)
VALUES (1, 'consumer', 'Consumer loans', 5, '{penalty,fee,interest,principal}'),
       (1, 'invoice', 'Unpaid invoices', 0, '{principal,fee,interest,penalty}');

-- ---------------------------------------------------------------------------------------
-- Part 2: the portfolio (to be replaced by an import of the agency's files).

-- 400 customers with French names, mobile numbers written the way people write them, national
-- ids; 30 of them arrive twice, spelled differently: find_or_create_customer recognises them.
CREATE TEMP TABLE demo_people AS
SELECT n,
       (ARRAY['Camille', 'Léa', 'Manon', 'Chloé', 'Inès', 'Sarah', 'Jade', 'Louise', 'Emma', 'Alice',
              'Lucas', 'Hugo', 'Louis', 'Nathan', 'Gabriel', 'Arthur', 'Jules', 'Adam', 'Raphaël', 'Paul'])[1 + (n * 7) % 20]
       || ' ' ||
       (ARRAY['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau',
              'Simon', 'Laurent', 'Lefebvre', 'Michel', 'Garcia', 'David', 'Bertrand', 'Roux', 'Vincent', 'Fournier',
              'Morel', 'Girard', 'André', 'Mercier', 'Dupont'])[1 + (n * 11) % 25] AS full_name,
       CASE n % 3 WHEN 0 THEN '06 ' WHEN 1 THEN '+33 7 ' ELSE '06.' END
       || lpad(((n * 7919) % 100000000)::text, 8, '0') AS phone,
       (1 + n % 2)::text || lpad(((n * 104729) % 1000000000000)::text, 12, '0') AS national_id
  FROM generate_series(1, 400) AS n;
CREATE TEMP TABLE demo_customer AS
SELECT p.n, collections.find_or_create_customer(1, p.full_name, p.phone, p.national_id,
                                                lower(replace(p.full_name, ' ', '.')) || '@example.fr') AS id
  FROM demo_people p ORDER BY p.n;
SELECT count(collections.find_or_create_customer(1, upper(p.full_name), regexp_replace(p.phone, '[ .]', '', 'g'),
                                                 p.national_id))
  FROM demo_people p WHERE p.n % 13 = 0;

-- Their 520 debts: consumer loans (some migrated from the previous system with what they
-- still owe) and unpaid invoices, opened over the last two years, branches and collectors.
CREATE TEMP TABLE demo_debt AS
SELECT d, c.id AS customer_id,
       CASE WHEN d % 4 = 0 THEN 'invoice' ELSE 'loan' END AS kind,
       CASE WHEN d % 4 = 0 THEN 'INV-' ELSE 'PRET-' END || to_char(20230000 + d, 'FM00000000') AS ref,
       CASE WHEN d % 4 = 0 THEN 150 + (d * 37) % 1850 ELSE 800 + ((d * 53) % 46) * 100 END AS principal,
       (CURRENT_DATE - 30 - (d * 17) % 700)::date AS opened_on
  FROM generate_series(1, 520) AS d
  JOIN demo_customer c ON c.n = 1 + (d * 13) % 400;
INSERT INTO collections.debt_account (business_id, customer_id, external_ref, product_id, kind, principal,
                                      opening_balance, opened_on, due_on, branch, employee)
SELECT 1, customer_id, ref, (SELECT id FROM collections.product WHERE business_id = 1 AND code = CASE kind WHEN 'invoice' THEN 'invoice' ELSE 'consumer' END),
       kind, principal, CASE WHEN d % 5 = 1 THEN round(principal * 0.6) END, opened_on,
       CASE WHEN kind = 'invoice' THEN opened_on + 30 END,
       (ARRAY['Paris 11', 'Lyon Part-Dieu', 'Lille Centre', 'Marseille Prado'])[1 + d % 4],
       (ARRAY['Amélie', 'Bruno', 'Claire', 'Didier', 'Elodie', 'Fabrice'])[1 + d % 6]
  FROM demo_debt ORDER BY d;

-- Contractual interest and file fees on the loans, then repayment plans of 6 to 24 months.
SELECT count(collections.charge(d.id, 'interest', round(d.principal * 0.08, 2), 'contractual interest'))
  FROM collections.debt_account d WHERE d.business_id = 1 AND d.kind = 'loan';
SELECT count(collections.charge(d.id, 'fee', 35, 'file fee'))
  FROM collections.debt_account d WHERE d.business_id = 1 AND d.kind = 'loan' AND d.id % 3 = 0;
SELECT count(collections.create_plan(d.id, (d.opened_on + 30)::date, (6 + (d.id % 4) * 6)::integer))
  FROM collections.debt_account d WHERE d.business_id = 1 AND d.kind = 'loan';

-- The past months of the payments' tables, before their history arrives.
SELECT * FROM collections.prepare_history(CURRENT_DATE - 100);
-- 90 days of payments, by bank transfer, card and cash, in the order they arrived; some
-- customers pay their installments, some a part, some nothing.
SELECT count(collections.record_payment(1, p.debt, 'VIR-' || to_char(p.n, 'FM000000'), p.amount, p.paid_at, p.channel))
  FROM (SELECT n, d.id AS debt,
               round((CASE WHEN d.kind = 'invoice' THEN d.principal / 2 ELSE d.principal / (6 + (d.id % 4) * 6) + 20 END)
                     * (0.5 + random())::numeric, 2) AS amount,
               now() - ((n * 90 / 1100) || ' days')::interval - ((n % 9) || ' hours')::interval AS paid_at,
               (ARRAY['bank_transfer', 'bank_transfer', 'card', 'cash'])[1 + n % 4] AS channel
          FROM generate_series(1, 1100) AS n
          JOIN collections.debt_account d ON d.business_id = 1 AND d.id = (SELECT min(id) FROM collections.debt_account) + (n * 7) % 520
         WHERE (n * 7) % 520 % 5 <> 2
         ORDER BY n DESC) AS p;
-- A few transfers bounce; late customers get penalties; two settlements write the rest off.
SELECT count(collections.reverse_payment(p.id, 'transfer returned by the bank'))
  FROM collections.payment p WHERE p.business_id = 1 AND p.channel = 'bank_transfer' AND p.id % 97 = 0;
SELECT count(collections.charge(d.debt_account_id, 'penalty', 15, 'late payment penalty'))
  FROM collections.debt_position d WHERE d.business_id = 1 AND d.days_past_due > 60 AND d.debt_account_id % 2 = 0;
SELECT count(collections.write_off(d.debt_account_id, d.outstanding, 'settled: balance waived'))
  FROM (SELECT * FROM collections.debt_position WHERE business_id = 1 AND outstanding > 0 AND days_past_due > 200
         ORDER BY debt_account_id LIMIT 2) d;

-- Risk flags and an affordability assessment.
INSERT INTO collections.risk_flag (business_id, customer_id, kind, severity, note)
SELECT 1, id, 'dispute', 'high', 'contests the fees' FROM demo_customer WHERE n % 37 = 0;
INSERT INTO collections.income_expense_profile (business_id, customer_id, currency, monthly_income, monthly_expenses, employment_status)
SELECT 1, id, 'EUR', 1400 + (n * 31) % 1800, 900 + (n * 17) % 1200, (ARRAY['employed', 'self_employed', 'unemployed', 'retired'])[1 + n % 4]
  FROM demo_customer WHERE n % 5 = 0;

-- Close of business, dashboards, and one round of crm_core maintenance.
SELECT * FROM collections.run_dpd();
SELECT * FROM crm_core.run_maintenance();
SELECT * FROM crm_core.seal_ledger();
\o
\echo 'Demo data loaded: business 1 "Acme Recouvrement", customers, loans and invoices with plans, 90 days of payments.'
\endif
