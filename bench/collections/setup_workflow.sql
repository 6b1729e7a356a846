-- Fixture of the run_dunning benchmark (variable: debts): :debts debts of business 1, one
-- customer each (E.164 phone, every other one an email), no plan, unpaid since
-- (g::bigint * 7919) % 150 - 20 days (0 to 129 days past due, or not yet due), each owing 500 to 1,499
-- in the ledger (its opening entry in the debt's subledger). Loaded in bulk with triggers off
-- (session_replication_role = replica): run_dunning reads debts, products, buckets, customers,
-- blocks, promises, the outbox and the subledger balances. Ten rules over four templates; 1%
-- of the customers blocked, 1% of the debts with an open promise.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
INSERT INTO crm_core.business (id, name) VALUES (1, 'dunning bench');
SELECT count(*) FROM collections.setup_business(1);
SET session_replication_role = replica;
INSERT INTO collections.customer (business_id, id, full_name, phone, email)
SELECT 1, g, 'Customer ' || g, '+336' || lpad(g::text, 8, '0'),
       CASE WHEN g % 2 = 0 THEN 'c' || g || '@example.org' END
  FROM generate_series(1, :debts) AS g;
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, product_id, currency,
                                      principal, opened_on, due_on, status, unpaid_since, opening_entry_id)
SELECT 1, g, g, 'L-' || g, (SELECT id FROM collections.product WHERE business_id = 1 AND code = 'standard'),
       'EUR', 500 + g % 1000, CURRENT_DATE - 400, CURRENT_DATE - ((g::bigint * 7919) % 150 - 20)::int, 'active',
       CURRENT_DATE - ((g::bigint * 7919) % 150 - 20)::int, g
  FROM generate_series(1, :debts) AS g;
INSERT INTO crm_core.journal_entry (business_id, id, status, effective_date, memo, source_ref)
SELECT 1, g, 'posted', CURRENT_DATE - 400, 'opening', 'collections.debt_account:' || g
  FROM generate_series(1, :debts) AS g;
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, currency, subledger)
SELECT 1, g, x.account_id, x.debit, x.credit, 'EUR', g
  FROM generate_series(1, :debts) AS g
 CROSS JOIN LATERAL (
       SELECT p.principal_account_id AS account_id, (500 + g % 1000)::numeric AS debit, NULL::numeric AS credit
         FROM collections.product p WHERE p.business_id = 1 AND p.code = 'standard'
       UNION ALL
       SELECT p.cash_account_id, NULL, (500 + g % 1000)::numeric
         FROM collections.product p WHERE p.business_id = 1 AND p.code = 'standard') x;
INSERT INTO collections.promise (business_id, debt_account_id, amount, due_on)
SELECT 1, g, 100, CURRENT_DATE + 10 FROM generate_series(1, :debts, 100) AS g;
INSERT INTO collections.dunning_block (business_id, customer_id, reason, blocked_until)
SELECT 1, g, 'dispute', CURRENT_DATE + 30 FROM generate_series(7, :debts, 100) AS g;
SET session_replication_role = origin;
SELECT setval('collections.customer_id_seq', :debts), setval('collections.debt_account_id_seq', :debts),
       setval('crm_core.journal_entry_id_seq', :debts);
INSERT INTO collections.dunning_template (business_id, id, code, channel, subject, body) VALUES
    (1, 1, 'gentle', 'sms', NULL, 'Hello {{customer_name}}, {{amount_overdue}} {{currency}} on {{external_ref}} is overdue.'),
    (1, 2, 'firm', 'sms', NULL, '{{customer_name}}: {{days_past_due}} days late, {{amount_due}} {{currency}} due ({{bucket}}).'),
    (1, 3, 'mail', 'email', 'About {{external_ref}}', 'Dear {{customer_name}}, please pay {{amount_due}} {{currency}}.'),
    (1, 4, 'final', 'sms', NULL, 'Final notice {{external_ref}}: {{amount_due}} {{currency}}.');
INSERT INTO collections.dunning_rule (business_id, template_id, min_dpd, max_dpd, min_amount, cooldown) VALUES
    (1, 1, 1, 5, NULL, '7 days'), (1, 1, 6, 15, NULL, '7 days'), (1, 2, 16, 30, 600, '7 days'),
    (1, 3, 10, 40, NULL, '14 days'), (1, 2, 31, 45, NULL, '7 days'), (1, 3, 46, 60, NULL, '14 days'),
    (1, 2, 61, 75, 800, '7 days'), (1, 4, 76, 90, NULL, '10 days'), (1, 4, 91, 120, NULL, '10 days'),
    (1, 3, 121, NULL, 1000, '30 days');
VACUUM ANALYZE collections.debt_account;
VACUUM ANALYZE collections.customer;
VACUUM ANALYZE crm_core.journal_line;
ANALYZE collections.promise;
ANALYZE collections.dunning_block;
