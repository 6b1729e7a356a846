-- crm_core 0.1.0 -> 0.2.0. Source of the installed crm_core--0.1.0--0.2.0.sql: make expands
-- each "-- @include install/PART.sql" line into that part's text, so a part that is new in
-- 0.2.0, or made only of CREATE OR REPLACE statements, is written once. Everything else that
-- changed since 0.1.0 (new columns, dropped or renamed objects) is written here by hand.
-- tests/upgrade proves that an upgraded 0.1.0 database has the same catalog as a fresh 0.2.0.

-- ---- Units as currencies (crm_erp's quantity ledger: stock counted in the same ledger) ----
-- An account's currency is an ISO 4217 code or a unit ('unit:water_20l'). Only the check and
-- the table comment change; existing accounts all pass the new check.
ALTER TABLE crm_core.account DROP CONSTRAINT account_currency_iso;
ALTER TABLE crm_core.account ADD CONSTRAINT account_currency_iso_or_unit
    CHECK (currency ~ '^[A-Z]{3}$' OR currency ~ '^unit:[a-z0-9][a-z0-9_.-]{0,39}$');
COMMENT ON TABLE crm_core.account IS
    'Chart of accounts per business: kind (normal balance), ISO currency or unit, optional parent for '
    'rollups, optional overdraft rule, closed when closed_at is set.';
-- ---- end units as currencies ----

-- ---- Subledgers (ledger) ----
-- A journal line may name what it belongs to within its account (a loan, a customer).
-- Adding the nullable column rewrites nothing; the account index is rebuilt once with the
-- subledger as its last key (this blocks writes to journal_line while it builds; see
-- docs/ledger.md, "Upgrading from 0.1.0").
ALTER TABLE crm_core.journal_line ADD COLUMN subledger bigint;
COMMENT ON COLUMN crm_core.journal_line.subledger IS
    'What the line belongs to within its account (e.g. a loan id); NULL for none.';
DROP INDEX crm_core.journal_line_account_idx;
CREATE INDEX journal_line_account_idx ON crm_core.journal_line (business_id, account_id, subledger);
-- check_balances() gains a last column (subledger): its result type changes.
DROP FUNCTION crm_core.check_balances();
-- ---- end subledgers ----

-- ---- Ledger functions (ledger) ----
-- The ledger's SQL functions (balances, checks, posting helpers), all CREATE OR REPLACE. Keep
-- this include after every block that changes what they read (columns, tables, dropped forms).
-- @include install/11_ledger_functions.sql
-- ---- end ledger functions ----
