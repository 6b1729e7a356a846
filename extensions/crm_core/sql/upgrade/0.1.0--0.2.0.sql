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

-- ---- Ledger hardening (ledger) ----
-- The entries a transaction inserted are recorded from the rows themselves, after the insert
-- (a BEFORE trigger also sees rows that ON CONFLICT DO NOTHING never writes).
CREATE FUNCTION crm_core.ledger_entries_inserted() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_ledger_entries_inserted' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION crm_core.ledger_entries_inserted() FROM PUBLIC;
CREATE TRIGGER journal_entry_inserted
    AFTER INSERT ON crm_core.journal_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION crm_core.ledger_entries_inserted();
-- One trigger per rule: the ledger guard alone refuses changes to posted lines (it now also
-- refuses moving a line into a posted entry and locks the entry), and a line inserted into an
-- entry posted earlier is refused where lines are counted (the guard keeps INSERT for replica
-- mode only).
DROP TRIGGER journal_line_before_change ON crm_core.journal_line;
DROP FUNCTION crm_core.ledger_line_before_change();
-- The commit check runs once per entry: no deferred event per line any more (lines added to
-- an entry after its check are checked again just before commit).
DROP TRIGGER journal_line_balanced ON crm_core.journal_line;
-- An account's currency change looks for lines on the latest snapshot (C, was PL/pgSQL).
CREATE OR REPLACE FUNCTION crm_core.ledger_account_before_update() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_ledger_account_before_update' LANGUAGE C;
-- ---- end ledger hardening ----

-- ---- Ledger speed (ledger; issue 15) ----
-- One CHECK constraint per journal table, a C function that names the rule a row breaks:
-- PostgreSQL 15 reads and plans each CHECK expression again for every statement that writes
-- the table (about 16,000 instructions a constraint). The rules are those of 0.1.0's six
-- constraints; adding the two new ones reads both tables once (their rows all pass).
-- @include install/09_ledger_checks.sql
ALTER TABLE crm_core.journal_line
    DROP CONSTRAINT journal_line_amount_not_negative,
    DROP CONSTRAINT journal_line_amount_present,
    DROP CONSTRAINT journal_line_amount_finite,
    DROP CONSTRAINT journal_line_one_side,
    ADD CONSTRAINT journal_line_amount_valid CHECK (crm_core.line_amount_valid(debit, credit));
ALTER TABLE crm_core.journal_entry
    DROP CONSTRAINT journal_entry_status_valid,
    DROP CONSTRAINT journal_entry_not_own_reversal,
    ADD CONSTRAINT journal_entry_valid CHECK (crm_core.entry_valid(status, id, reverses_entry_id));
-- Room on each page for new versions of the slot rows (new pages; VACUUM FULL
-- crm_core.account_balance_slot repacks the old ones, see docs/ledger.md).
ALTER TABLE crm_core.account_balance_slot SET (fillfactor = 10);
-- No foreign keys on the journal tables: the ledger's triggers check each reference where
-- they read it anyway (PostgreSQL's checks ran one query per row on top) and refuse deleting,
-- renumbering or truncating what a journal row names.
ALTER TABLE crm_core.journal_line
    DROP CONSTRAINT journal_line_business_id_entry_id_fkey,
    DROP CONSTRAINT journal_line_business_id_account_id_fkey;
ALTER TABLE crm_core.journal_entry
    DROP CONSTRAINT journal_entry_business_id_fkey,
    DROP CONSTRAINT journal_entry_business_id_reverses_entry_id_fkey;
DROP TRIGGER account_before_update ON crm_core.account;
CREATE TRIGGER account_before_update
    BEFORE UPDATE ON crm_core.account
    FOR EACH ROW WHEN (OLD.currency IS DISTINCT FROM NEW.currency
                       OR OLD.business_id IS DISTINCT FROM NEW.business_id
                       OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION crm_core.ledger_account_before_update();
CREATE FUNCTION crm_core.ledger_business_before_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_ledger_business_before_change' LANGUAGE C;
CREATE FUNCTION crm_core.ledger_reference_truncate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_ledger_reference_truncate' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION crm_core.ledger_business_before_change(),
    crm_core.ledger_reference_truncate() FROM PUBLIC;
CREATE TRIGGER account_before_delete
    BEFORE DELETE ON crm_core.account
    FOR EACH ROW EXECUTE FUNCTION crm_core.ledger_account_before_update();
CREATE TRIGGER business_before_update
    BEFORE UPDATE ON crm_core.business
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION crm_core.ledger_business_before_change();
CREATE TRIGGER business_before_delete
    BEFORE DELETE ON crm_core.business
    FOR EACH ROW EXECUTE FUNCTION crm_core.ledger_business_before_change();
CREATE TRIGGER account_not_truncated
    BEFORE TRUNCATE ON crm_core.account
    FOR EACH STATEMENT EXECUTE FUNCTION crm_core.ledger_reference_truncate();
CREATE TRIGGER business_not_truncated
    BEFORE TRUNCATE ON crm_core.business
    FOR EACH STATEMENT EXECUTE FUNCTION crm_core.ledger_reference_truncate();
CREATE TRIGGER business_changed
    AFTER INSERT OR UPDATE OR DELETE ON crm_core.business
    FOR EACH STATEMENT EXECUTE FUNCTION crm_core.ledger_reference_changed();
-- Two indexes fewer written per posting: the primary key leads with id and serves lookups by
-- id alone (journal_entry_id_idx goes), and only reversals enter journal_entry_reversed_once
-- (a partial unique index instead of a constraint). Rebuilding the key blocks writes to
-- journal_entry while it builds (docs/ledger.md, "Upgrading from 0.1.0").
ALTER TABLE crm_core.journal_entry
    DROP CONSTRAINT journal_entry_pkey,
    ADD PRIMARY KEY (id, business_id),
    DROP CONSTRAINT journal_entry_reversed_once;
DROP INDEX crm_core.journal_entry_id_idx;
CREATE UNIQUE INDEX journal_entry_reversed_once ON crm_core.journal_entry
    (business_id, reverses_entry_id) WHERE reverses_entry_id IS NOT NULL;
-- Entries without an idempotency key (most) enter no index for it: the unique constraint
-- becomes a partial unique index of the same name (built here once, blocking writes to
-- journal_entry while it builds). post_entry() infers it by its columns and predicate.
ALTER TABLE crm_core.journal_entry DROP CONSTRAINT journal_entry_idempotency_key_unique;
CREATE UNIQUE INDEX journal_entry_idempotency_key_unique ON crm_core.journal_entry
    (business_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Unique indexes that carry a ledger rule (the two above) are the ledger's shape: a table
-- owner who is not a superuser may no longer drop or rename them. The guards are replaced; the
-- ddl_command_end trigger also fires for ALTER INDEX now (both triggers made again as a fresh
-- install makes them).
-- @include install/21_ledger_shape.sql
DROP EVENT TRIGGER crm_core_guard_ledger_shape;
DROP EVENT TRIGGER crm_core_guard_ledger_shape_drop;
-- @include install/21_ledger_shape_triggers.sql
-- The commit check runs before COMMIT from the ledger's bookkeeping; the constraint trigger
-- keeps its name for SET CONSTRAINTS and is disabled, so it queues no event (10_ledger.sql).
DROP TRIGGER journal_entry_balanced ON crm_core.journal_entry;
CREATE CONSTRAINT TRIGGER journal_entry_balanced
    AFTER INSERT OR UPDATE ON crm_core.journal_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    EXECUTE FUNCTION crm_core.ledger_check_entry();
-- Enabled again on a Citus cluster, where it runs the check on the shards (at the end of this
-- script, once crm_core._ledger_distributed() exists).
ALTER TABLE crm_core.journal_entry DISABLE TRIGGER journal_entry_balanced;
COMMENT ON TRIGGER journal_entry_balanced ON crm_core.journal_entry IS
    'Disabled on purpose: the ledger checks every posted entry before COMMIT (and under SET CONSTRAINTS ... IMMEDIATE at each statement''s end) without it; it gives that check the name SET CONSTRAINTS takes. Enabled, it checks its entry a second time.';
-- A rolled-back account insert empties this backend's account cache too (it may hold the
-- account): the cache-invalidating trigger fires on INSERT as well.
DROP TRIGGER account_changed ON crm_core.account;
CREATE TRIGGER account_changed
    AFTER INSERT OR UPDATE OR DELETE ON crm_core.account
    FOR EACH STATEMENT EXECUTE FUNCTION crm_core.ledger_reference_changed();
-- ---- end ledger speed ----

-- ---- Ledger functions (ledger) ----
-- The ledger's SQL functions (balances, checks, posting helpers), all CREATE OR REPLACE. Keep
-- this include after every block that changes what they read (columns, tables, dropped forms).
-- @include install/11_ledger_functions.sql
-- ---- end ledger functions ----

-- ---- Guards of immutable history, seals and audit (harden-guards; issue 10: 3, 4, 7, 9, 14, 15, 17, 23) ----
-- The guard functions, all CREATE OR REPLACE: recognised by the function they call, refusals
-- before a statement runs, pinned search_path for the C functions that run SQL for others.
DROP FUNCTION crm_core._replace_restored_guard(regclass, text, text);
-- @include install/17_guard_registry.sql
-- @include install/18_audit_functions.sql
-- @include install/18_guard_ddl_start.sql
-- @include install/19_guard_ddl_end.sql
-- @include install/19_seal_functions.sql
DROP FUNCTION crm_core.guard_trigger_names();
-- The ddl_command_start event trigger now also reads ALTER TABLE, ALTER TYPE and DROP INDEX.
DROP EVENT TRIGGER crm_core_guard_ddl_command_start;
CREATE EVENT TRIGGER crm_core_guard_ddl_command_start ON ddl_command_start
    WHEN TAG IN ('CREATE TRIGGER', 'ALTER TABLE', 'ALTER TYPE', 'DROP INDEX')
    EXECUTE FUNCTION crm_core.guard_ddl_command_start();
-- PostgreSQL checks EXECUTE on a row trigger's function when it clones the trigger onto a new
-- partition: the owner of an audited partitioned table must be able to create partitions.
GRANT EXECUTE ON FUNCTION crm_core.audit_trigger() TO PUBLIC;
COMMENT ON FUNCTION crm_core.audit_trigger() IS
    'Trigger: AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW writes crm_core.audit_log (arguments: watched columns); BEFORE TRUNCATE refuses non-superusers.';
-- An auditor (crm_core_readonly) runs verify_ledger(), which reads the per-entry hashes.
GRANT SELECT ON crm_core.ledger_sealed_entry TO crm_core_readonly;
-- Tables audited under 0.1.0 get the TRUNCATE guard on every partition.
SELECT crm_core.apply_audit_guards(relid) FROM crm_core.audited_table
 WHERE EXISTS (SELECT FROM pg_catalog.pg_class WHERE oid = relid);
-- ---- end guards ----

-- ---- The lines' replica-mode guard per statement (ledger speed; issue 15) ----
-- crm_core_guard_posted on journal_line fires on UPDATE and DELETE only; the INSERT refusal of
-- replica mode moves to a statement trigger (one call per INSERT or COPY, not one per line),
-- registered in crm_core.guard_triggers() (17_guard_registry.sql, included above) and ENABLE
-- ALWAYS like the other guards. Both are made in this one transaction: no line goes unguarded.
DROP TRIGGER crm_core_guard_posted ON crm_core.journal_line;
CREATE TRIGGER crm_core_guard_posted BEFORE UPDATE OR DELETE ON crm_core.journal_line
    FOR EACH ROW EXECUTE FUNCTION crm_core.ledger_guard('line');
CREATE TRIGGER crm_core_guard_replica_insert BEFORE INSERT ON crm_core.journal_line
    FOR EACH STATEMENT EXECUTE FUNCTION crm_core.ledger_guard('line');
SELECT crm_core.enable_guards_always('crm_core.journal_line');
-- ---- end the lines' replica-mode guard ----

-- ---- jobs and upgrades (issue 11: job registry, concurrent retention) -------------------------
-- Registered jobs: new in 0.2.0.
-- @include install/50_jobs.sql
-- @include install/50_jobs_run.sql
-- Retention by DETACH PARTITION ... CONCURRENTLY: a new setting, and partition_by_time and
-- alter_partitioning take it as a last argument (their functions now live in
-- 38_partition_register.sql, beside the retention path).
ALTER TABLE crm_core.partition_config ADD COLUMN detach_concurrently boolean NOT NULL DEFAULT false;
-- @include install/36_partition_retention.sql
-- @include install/37_partition_run.sql
-- @include install/38_partition_register.sql
-- @include install/39_partition_concurrent.sql
-- The planner and one table's maintenance (harden-ops): _maintain_table takes a budget and a pass.
-- @include install/31_partition_planner.sql
-- @include install/32_partition_create.sql
-- @include install/33_partition_maintain.sql
-- @include install/34_partition_admin.sql
-- @include install/35_partition_status.sql
-- The grants a DBA gave on the old signatures (EXECUTE to a maintenance role) move to the new
-- ones; then the old signatures go.
DO $$
DECLARE
    signature record;
    grant_item record;
BEGIN
    FOR signature IN
        SELECT * FROM (VALUES
            ('crm_core.partition_by_time(regclass, name, interval, integer, interval, text, name, interval, boolean)'::regprocedure,
             'crm_core.partition_by_time(regclass, name, interval, integer, interval, text, name, interval, boolean, boolean)'::regprocedure),
            ('crm_core.alter_partitioning(regclass, integer, interval, text, name, interval, boolean)'::regprocedure,
             'crm_core.alter_partitioning(regclass, integer, interval, text, name, interval, boolean, boolean)'::regprocedure),
            -- run_maintenance takes max_new_partitions, _maintain_table a budget and a pass
            -- (harden-ops)
            ('crm_core.run_maintenance(boolean, regclass)'::regprocedure,
             'crm_core.run_maintenance(boolean, regclass, integer)'::regprocedure),
            ('crm_core._maintain_table(crm_core.partition_config)'::regprocedure,
             'crm_core._maintain_table(crm_core.partition_config, integer, boolean)'::regprocedure))
            AS s(old_signature, new_signature)
    LOOP
        FOR grant_item IN
            SELECT a.grantee, a.is_grantable
            FROM pg_catalog.pg_proc AS p, pg_catalog.aclexplode(p.proacl) AS a
            WHERE p.oid = signature.old_signature AND a.grantee <> p.proowner
        LOOP
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', signature.new_signature,
                                      CASE grant_item.grantee WHEN 0 THEN 'PUBLIC'
                                           ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(grant_item.grantee)) END,
                                      CASE WHEN grant_item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;
END
$$;
DROP FUNCTION crm_core.partition_by_time(regclass, name, interval, integer, interval, text, name,
                                         interval, boolean);
DROP FUNCTION crm_core.alter_partitioning(regclass, integer, interval, text, name, interval, boolean);
DROP FUNCTION crm_core.run_maintenance(boolean, regclass);
DROP FUNCTION crm_core._maintain_table(crm_core.partition_config);
-- ---- end of jobs and upgrades ------------------------------------------------------------------
-- ---- Scale-out on Citus (citus; docs/scale-out.md) ----
-- The waits for postings in flight lock the journal shards of the business on a cluster; the
-- seal_status view in a form Citus can plan (grouped subqueries, no LATERAL from a reference
-- table); crm_core.distribute() with the table list it places, the account_balances view,
-- sealing per node. (The balance reads' PL/pgSQL forms are in 11_ledger_functions.sql.)
-- @include install/05_ledger_locks.sql
-- @include install/25_seal_status.sql
-- @include install/95_scale_out.sql
-- @include install/95_scale_out_distribute.sql
-- ---- end scale-out ----

-- ---- Operations hardening (harden-ops; issue 10: 5, 6, 8, 11, 12, 13, 16, 18, 19) ----
-- Acting as a table's owner, crm_core's own advisory locks.
-- @include install/05_identity_and_locks.sql
-- The partition parts are re-applied above (31_partition_planner.sql to
-- 39_partition_concurrent.sql, with the grants of the two changed signatures); _count_rows goes
-- now that the status view no longer calls it. The matview functions and status view
-- (41_matview_planning.sql to 45_matview_status.sql) are re-applied whole.
DROP FUNCTION crm_core._count_rows(regclass);
-- @include install/41_matview_planning.sql
-- @include install/42_matview_buckets.sql
-- @include install/43_matview_registration.sql
-- @include install/44_matview_refresh.sql
-- @include install/45_matview_status.sql
-- Internal helpers of 20_append_only.sql and 21_ledger_shape.sql are no longer executable by
-- PUBLIC.
REVOKE EXECUTE ON FUNCTION crm_core.invoked_by_superuser(), crm_core.relation_tree(regclass),
    crm_core.ledger_tables() FROM PUBLIC;
-- seal_ledger (19_seal_functions.sql) runs as the extension owner for crm_core_service; a
-- block names the login that sealed it.
ALTER TABLE crm_core.ledger_block ALTER COLUMN sealed_by SET DEFAULT session_user;
-- The application role edits drafts column by column and deletes nothing: a table-wide UPDATE
-- or DELETE grant let it LOCK the journal in ACCESS EXCLUSIVE mode.
REVOKE UPDATE, DELETE ON crm_core.journal_entry, crm_core.journal_line FROM crm_core_app;
GRANT UPDATE (status, effective_date, memo, idempotency_key, source_ref, metadata)
    ON crm_core.journal_entry TO crm_core_app;
GRANT UPDATE (account_id, debit, credit, currency, memo, subledger)
    ON crm_core.journal_line TO crm_core_app;
-- The service role, its functions and grants.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_service') THEN
        CREATE ROLE crm_core_service NOLOGIN;
    END IF;
END;
$$;
-- @include install/50_service.sql
-- ---- end operations hardening ----

-- ---- Registrations by extensions (collections) ----
-- Registrations made by an extension's install script (crm_collections audits its customers
-- and registers its dashboards) are not dumped: CREATE EXTENSION makes them again on restore.
ALTER TABLE crm_core.audited_table ADD COLUMN by_extension boolean NOT NULL DEFAULT false;
SELECT pg_catalog.pg_extension_config_dump('crm_core.audited_table', 'WHERE NOT by_extension');
ALTER TABLE crm_core.matview ADD COLUMN by_extension boolean NOT NULL DEFAULT false;
SELECT pg_catalog.pg_extension_config_dump('crm_core.matview', 'WHERE NOT by_extension');
-- ---- end registrations by extensions ----

-- ---- Tenant isolation (tenants) ----
-- Tenant isolation (docs/tenants.md): current_business(), business grants, crm_core_service,
-- enable/disable_tenant_isolation, and the policies on crm_core's own tables. The policies
-- part isolates every crm_core table with a business_id column that exists when it runs:
-- keep it after every block that adds such a table.
-- @include install/15_tenants.sql
-- @include install/16_tenant_isolation.sql
-- @include install/95_tenant_policies.sql
-- ---- end tenant isolation ----

-- On a distributed ledger the commit check runs as journal_entry_balanced on the shards
-- (distribute() enables it; 10_ledger.sql and 95_scale_out_distribute.sql say why).
DO $$
BEGIN
    IF crm_core._ledger_distributed() THEN
        ALTER TABLE crm_core.journal_entry ENABLE TRIGGER journal_entry_balanced;
    END IF;
END;
$$;
