-- crm_core 0.1.0 -> 0.2.0. Source of the installed crm_core--0.1.0--0.2.0.sql: make expands
-- each "-- @include install/PART.sql" line into that part's text, so a part that is new in
-- 0.2.0, or made only of CREATE OR REPLACE statements, is written once. Everything else that
-- changed since 0.1.0 (new columns, dropped or renamed objects) is written here by hand.
-- tests/upgrade proves that an upgraded 0.1.0 database has the same catalog as a fresh 0.2.0.

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

-- ---- Tenant isolation (tenants) ----
-- Tenant isolation (docs/tenants.md): current_business(), business grants, crm_core_service,
-- enable/disable_tenant_isolation, and the policies on crm_core's own tables. The policies
-- part isolates every crm_core table with a business_id column that exists when it runs:
-- keep it after every block that adds such a table.
-- @include install/15_tenants.sql
-- @include install/95_tenant_policies.sql
-- ---- end tenant isolation ----
