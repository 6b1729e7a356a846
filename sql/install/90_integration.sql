-- crm_core integration of the features: the audit log under partition management, and
-- pg_dump | psql restores that come back whole. See docs/audit.md and docs/immutability.md.

-- ---------------------------------------------------------------------------------------
-- Restores: pg_dump writes the TRUNCATE guard of every partition of an append-only table,
-- which the ddl_command_end event trigger has already put back when the restore attached the
-- partition (or enabled the parent's guards). A superuser's CREATE TRIGGER of a guard the
-- table already has, with the same function, replaces it instead of failing.

-- Drops trigger_name on relation when it is a crm_core guard calling function_name, so that
-- the CREATE TRIGGER about to run (a restore) recreates it. Superusers only.
CREATE FUNCTION crm_core._replace_restored_guard(relation regclass, trigger_name text,
                                                 function_name text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT crm_core.invoked_by_superuser()
       OR NOT trigger_name = ANY (crm_core.guard_trigger_names()::text[]) THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger AS g
                WHERE g.tgrelid = relation AND g.tgname = trigger_name
                  AND g.tgfoid = pg_catalog.to_regproc(function_name)
                  AND g.tgfoid IN (SELECT oid FROM pg_catalog.pg_proc
                                    WHERE pronamespace = 'crm_core'::regnamespace
                                      AND proname IN ('append_only_guard', 'ledger_guard'))) THEN
        EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, relation);
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._replace_restored_guard(regclass, text, text) FROM PUBLIC;

CREATE FUNCTION crm_core.guard_ddl_command_start() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'crm_core_guard_ddl_command_start' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION crm_core.guard_ddl_command_start() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.guard_ddl_command_start() IS
    'Event trigger: lets a restore (pg_dump | psql) recreate guard triggers the event triggers already added.';

CREATE EVENT TRIGGER crm_core_guard_ddl_command_start ON ddl_command_start
    WHEN TAG IN ('CREATE TRIGGER')
    EXECUTE FUNCTION crm_core.guard_ddl_command_start();

-- ---------------------------------------------------------------------------------------
-- The audit log: one partition per UTC month, premade 3 months ahead by
-- crm_core.run_maintenance(), kept 7 years. Retired months are detached, never dropped: they
-- are evidence, stay append-only on their own (registered in append_only_table) and stay in
-- every pg_dump until a superuser archives and drops them deliberately.
-- Registered without creating partitions: tables made during CREATE EXTENSION would be
-- extension members (not dumped with their rows, and recreated by every restore); until the
-- first maintenance run audited writes land in crm_core.audit_log_default.
INSERT INTO crm_core.partition_config (parent, control_column, partition_interval, premake,
                                       retention, retention_action, by_extension)
VALUES ('crm_core.audit_log', 'logged_at', interval '1 month', 3, interval '7 years', 'detach',
        true);

-- Every row the install script wrote into a dumped configuration table is the extension's.
UPDATE crm_core.append_only_table SET by_extension = true;
