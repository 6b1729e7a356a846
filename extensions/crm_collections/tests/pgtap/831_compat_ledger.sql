-- Seed 002's names (collections_compat.account, journal_entry, ledger) over an imported ERP
-- ledger: the ERP's published validation queries run unchanged and find nothing wrong;
-- balance_after runs per account in its normal side; the views are read-only; each business
-- sees its own rows.
BEGIN;
SELECT plan(7);
\ir lib/fixture.sql
\ir lib/import.sql

INSERT INTO crm_core.business (id, name) VALUES (74, 'Tomtin Water');
SELECT pg_temp.imported(pg_temp.batch(74, 'erp_ledger', ARRAY[
    '{"account_number": "1170", "name": "Cash on hand", "account_type": "Asset", "opening_balance": "250"}',
    '{"account_number": "3000", "name": "Owner''s capital", "account_type": "Equity", "opening_balance": "250"}',
    '{"account_number": "4000", "name": "Sales", "account_type": "Revenue", "is_active": "false"}'
]::jsonb[], 'accounts', 'KES'));
SELECT pg_temp.imported(pg_temp.batch(74, 'erp_ledger', ARRAY[
    '{"entry_number": "JE-2", "transaction_date": "2026-01-06", "account_number": "1170", "is_debit": "false", "amount": "30"}',
    '{"entry_number": "JE-1", "transaction_date": "2026-01-05", "description": "Water sale", "account_number": "1170", "is_debit": "true", "amount": "100"}',
    '{"entry_number": "JE-1", "transaction_date": "2026-01-05", "description": "Water sale", "account_number": "4000", "is_debit": "false", "amount": "100"}',
    '{"entry_number": "JE-2", "transaction_date": "2026-01-06", "account_number": "4000", "is_debit": "true", "amount": "30"}'
]::jsonb[], 'journal_lines', 'KES'));
SELECT pg_temp.as_app(74);
SET LOCAL search_path = collections_compat, public, pg_catalog;

SELECT results_eq($$SELECT entry_number, total_debit, total_credit FROM journal_entry WHERE entry_number LIKE 'JE-%' ORDER BY entry_number$$,
                  $$VALUES ('JE-1', 100::numeric, 100::numeric), ('JE-2', 30, 30)$$,
                  'journal_entry: entry numbers of the source, totals from the lines');
-- Seed 002's "Validate journal entries balance", as published.
SELECT is_empty($$SELECT je.id, je.entry_number, je.total_debit, je.total_credit,
                         CASE WHEN je.total_debit != je.total_credit THEN 'UNBALANCED' ELSE 'OK' END AS status
                    FROM journal_entry je WHERE je.status = 'posted' AND je.total_debit != je.total_credit$$,
                'seed 002''s query "validate journal entries balance" runs unchanged: no unbalanced entry');
SELECT results_eq($$SELECT a.account_number, l.debit, l.credit, l.balance_after
                      FROM ledger l JOIN account a ON a.id = l.account_id
                     WHERE a.account_number IN ('1170', '4000') ORDER BY a.account_number, l.transaction_date, l.id$$,
                  $$VALUES ('1170', 100::numeric, 0::numeric, 100::numeric), ('1170', 0, 30, 70), ('1170', 250, 0, 320),
                           ('4000', 0, 100, 100), ('4000', 30, 0, 70)$$,
                  'ledger: one row per posted line, balance_after running per account in its normal side (the opening balance is dated the import day)');
-- Seed 002's "Check account balances accuracy", as published.
SELECT results_eq($$SELECT a.account_number, a.name, a.current_balance AS stored_balance,
                           COALESCE((SELECT balance_after FROM ledger WHERE ledger.account_id = a.id
                                      ORDER BY transaction_date DESC, id DESC LIMIT 1), 0) AS calculated_balance,
                           CASE WHEN a.current_balance = COALESCE((SELECT balance_after FROM ledger WHERE ledger.account_id = a.id
                                                                   ORDER BY transaction_date DESC, id DESC LIMIT 1), 0)
                                THEN 'OK' ELSE 'MISMATCH' END AS status
                      FROM account a WHERE a.is_active = TRUE ORDER BY a.account_number$$,
                  $$VALUES ('1170', 'Cash on hand', 320::numeric, 320::numeric, 'OK'), ('3000', 'Owner''s capital', 250, 250, 'OK')$$,
                  'seed 002''s query "check account balances accuracy" runs unchanged: every active account OK (Sales is inactive)');
SELECT throws_ok($$UPDATE ledger SET balance_after = 0$$, '55000', 'cannot update view "ledger"',
                 'the ledger view is read-only (a computed view)');
SELECT throws_ok($$DELETE FROM journal_entry$$, '55000', 'cannot delete from view "journal_entry"',
                 'journal_entry is read-only (a computed view)');
RESET ROLE;
SELECT pg_temp.as_app(71);
SET LOCAL search_path = collections_compat, public, pg_catalog;
SELECT is((SELECT count(*) FROM ledger WHERE business_id = 74), 0::bigint, 'another business sees none of these lines');

SELECT * FROM finish();
ROLLBACK;
