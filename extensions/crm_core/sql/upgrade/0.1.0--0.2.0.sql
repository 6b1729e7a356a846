-- crm_core 0.1.0 -> 0.2.0. Source of the installed crm_core--0.1.0--0.2.0.sql: make expands
-- each "-- @include install/PART.sql" line into that part's text, so a part that is new in
-- 0.2.0, or made only of CREATE OR REPLACE statements, is written once. Everything else that
-- changed since 0.1.0 (new columns, dropped or renamed objects) is written here by hand.
-- tests/upgrade proves that an upgraded 0.1.0 database has the same catalog as a fresh 0.2.0.

-- ---------------------------------------------------------------------------------------
-- Registrations made by an extension's install script (crm_collections audits its customers
-- and registers its dashboards) are not dumped: CREATE EXTENSION makes them again on restore.
ALTER TABLE crm_core.audited_table ADD COLUMN by_extension boolean NOT NULL DEFAULT false;
SELECT pg_catalog.pg_extension_config_dump('crm_core.audited_table', 'WHERE NOT by_extension');
ALTER TABLE crm_core.matview ADD COLUMN by_extension boolean NOT NULL DEFAULT false;
SELECT pg_catalog.pg_extension_config_dump('crm_core.matview', 'WHERE NOT by_extension');
