-- crm_core 0.1.0 -> 0.2.0. Source of the installed crm_core--0.1.0--0.2.0.sql: make expands
-- each "-- @include install/PART.sql" line into that part's text, so a part that is new in
-- 0.2.0, or made only of CREATE OR REPLACE statements, is written once. Everything else that
-- changed since 0.1.0 (new columns, dropped or renamed objects) is written here by hand.
-- tests/upgrade proves that an upgraded 0.1.0 database has the same catalog as a fresh 0.2.0.

-- ---- Operations hardening (harden-ops): partitions, matviews, roles, crm-core-service ------
-- Acting as a table's owner, crm_core's own advisory locks.
-- @include install/05_identity_and_locks.sql
-- Partition and matview functions and status views are re-applied whole (CREATE OR REPLACE
-- parts); the functions whose signature changed go first, _count_rows once the view that
-- called it no longer does.
DROP FUNCTION crm_core.run_maintenance(boolean, regclass);
DROP FUNCTION crm_core._maintain_table(crm_core.partition_config);
-- @include install/31_partition_functions.sql
DROP FUNCTION crm_core._count_rows(regclass);
-- @include install/41_matview_functions.sql
-- Internal helpers of 20_immutable.sql are no longer executable by PUBLIC.
REVOKE EXECUTE ON FUNCTION crm_core.invoked_by_superuser(),
    crm_core.guard_trigger_names(), crm_core.relation_tree(regclass), crm_core.ledger_tables()
    FROM PUBLIC;
-- seal_ledger runs as the extension owner for crm_core_service; blocks name the login.
ALTER FUNCTION crm_core.seal_ledger(integer) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER TABLE crm_core.ledger_block ALTER COLUMN sealed_by SET DEFAULT session_user;
-- The application role edits drafts column by column and deletes nothing: a table-wide UPDATE
-- or DELETE grant let it LOCK the journal in ACCESS EXCLUSIVE mode.
REVOKE UPDATE, DELETE ON crm_core.journal_entry, crm_core.journal_line FROM crm_core_app;
GRANT UPDATE (status, effective_date, memo, idempotency_key, source_ref, metadata)
    ON crm_core.journal_entry TO crm_core_app;
GRANT UPDATE (account_id, debit, credit, currency, memo) ON crm_core.journal_line TO crm_core_app;
-- The service role, its functions and grants.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_service') THEN
        CREATE ROLE crm_core_service NOLOGIN;
    END IF;
END;
$$;
-- @include install/50_service.sql
