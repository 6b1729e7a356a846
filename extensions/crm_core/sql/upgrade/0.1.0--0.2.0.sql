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
