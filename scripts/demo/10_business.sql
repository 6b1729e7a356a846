-- Demo, part 1 (before the import): the businesses the demo files are imported into, in
-- database crm_core_demo. Idempotent. Business 1, a French collection agency, receives the
-- legacy files of seeds 003 (voice_csv), 000 (debt_accounts_json) and 001 (recouvrement);
-- business 2, a small trading company, receives seed 002's chart of accounts and journal
-- (erp_ledger, crm_core alone). scripts/demo-import.sh then imports the files with crm-core.
\o /dev/null
INSERT INTO crm_core.business (id, name) VALUES (1, 'Acme Recouvrement'), (2, 'Acme Négoce')
ON CONFLICT (id) DO NOTHING;
SELECT * FROM collections.setup_business(1, 'EUR', 'FR');
\o
