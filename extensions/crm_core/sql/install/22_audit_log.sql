-- crm_core audit trail: the audit log, its monthly partitions, the registry of audited tables,
-- the guards' DDL event triggers and the audit trigger function. The functions that audit a
-- table: 18_audit_functions.sql; the log under partition management: 91_audit_partitions.sql.

-- ---------------------------------------------------------------------------------------
-- Audit trail

CREATE TABLE crm_core.audit_log (
    id                bigint      GENERATED ALWAYS AS IDENTITY,
    logged_at         timestamptz NOT NULL DEFAULT statement_timestamp(),
    relid             oid         NOT NULL,
    table_name        text        NOT NULL,
    operation         text        NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    business_id       bigint,
    row_key           jsonb,
    old_values        jsonb,
    new_values        jsonb,
    txid              bigint      NOT NULL,
    db_user           text        NOT NULL,
    session_user_name text        NOT NULL,
    application_name  text,
    client_addr       inet
) PARTITION BY RANGE (logged_at);
COMMENT ON TABLE crm_core.audit_log IS
    'Append-only audit trail of registered tables (crm_core.audit_table), partitioned by month (UTC).';

-- The keys and indexes of one partition of crm_core.audit_log. They live on each partition, not
-- on the parent: the parent is an extension member, and pg_dump restores the monthly partitions
-- (not members) by attaching them before it creates their indexes, which would clash with
-- indexes an attach clones from the parent. Idempotent.
CREATE FUNCTION crm_core._index_audit_partition(partition regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    table_name name := (SELECT relname FROM pg_catalog.pg_class WHERE oid = partition);
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index WHERE indrelid = partition AND indisprimary) THEN
        EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (logged_at, id)', partition);
    END IF;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (relid, row_key)',
                   table_name || '_row', partition);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (business_id, logged_at) '
                   'WHERE business_id IS NOT NULL', table_name || '_business', partition);
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._index_audit_partition(regclass) FROM PUBLIC;
-- Safety net: a late premake never makes audited writes fail; rows here mean premake is late
-- (or were written before the first crm_core.run_maintenance()). An extension member, so its
-- rows are dumped as configuration data; the monthly partitions are made by maintenance.
CREATE TABLE crm_core.audit_log_default PARTITION OF crm_core.audit_log DEFAULT;
SELECT pg_catalog.pg_extension_config_dump('crm_core.audit_log_default', '');
SELECT crm_core._index_audit_partition('crm_core.audit_log_default');

-- Creates the monthly partitions (UTC months) of crm_core.audit_log from this month to
-- months_ahead months ahead; returns how many it created.
CREATE FUNCTION crm_core.audit_log_premake(months_ahead integer DEFAULT 1) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    month_start timestamp;
    partition_name text;
    created integer := 0;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120, not %', months_ahead
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR step IN 0 .. months_ahead LOOP
        month_start := this_month + make_interval(months => step);
        partition_name := 'audit_log_p' || to_char(month_start, 'YYYYMM');
        CONTINUE WHEN to_regclass(format('crm_core.%I', partition_name)) IS NOT NULL;
        -- Rows of that month wait in the default partition: they move into the new month.
        IF EXISTS (SELECT FROM ONLY crm_core.audit_log_default
                    WHERE logged_at >= month_start AT TIME ZONE 'UTC'
                      AND logged_at < (month_start + interval '1 month') AT TIME ZONE 'UTC') THEN
            PERFORM crm_core._audit_month_from_default(partition_name, month_start,
                                                       month_start + interval '1 month');
            created := created + 1;
            CONTINUE;
        END IF;
        EXECUTE format('CREATE TABLE crm_core.%I PARTITION OF crm_core.audit_log '
                       'FOR VALUES FROM (%L) TO (%L)', partition_name,
                       month_start AT TIME ZONE 'UTC',
                       (month_start + interval '1 month') AT TIME ZONE 'UTC');
        PERFORM crm_core._index_audit_partition(format('crm_core.%I', partition_name)::regclass);
        created := created + 1;
    END LOOP;
    PERFORM crm_core.apply_append_only_guards('crm_core.audit_log', NULL);
    RETURN created;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.audit_log_premake(integer) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.audit_log_premake(integer) IS
    'Creates this and the next months_ahead monthly partitions of crm_core.audit_log (until partition management takes over).';

SELECT crm_core.make_append_only('crm_core.audit_log');

-- Tables registered with audit_table.
CREATE TABLE crm_core.audited_table (
    relid         regclass    PRIMARY KEY,
    columns       text[],
    registered_at timestamptz NOT NULL DEFAULT now(),
    registered_by name        NOT NULL DEFAULT current_user,
    -- Rows an extension's install script writes (CREATE EXTENSION writes them again on restore).
    by_extension  boolean     NOT NULL DEFAULT false
);
COMMENT ON TABLE crm_core.audited_table IS
    'Tables whose changes crm_core.audit_trigger() writes to crm_core.audit_log; NULL columns = all.';
SELECT pg_catalog.pg_extension_config_dump('crm_core.audited_table', 'WHERE NOT by_extension');

-- DDL event triggers (their functions are in 19_guard_ddl_end.sql; they read the two
-- registrations above): new partitions get the guards; guards cannot be disabled, dropped,
-- renamed, replaced or detached except by a superuser. crm_core_guard_ddl_command_start
-- (90_integration.sql) refuses before a statement runs.
CREATE EVENT TRIGGER crm_core_guard_table_rewrite ON table_rewrite
    EXECUTE FUNCTION crm_core.guard_table_rewrite();
CREATE EVENT TRIGGER crm_core_guard_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'ALTER TRIGGER')
    EXECUTE FUNCTION crm_core.guard_ddl_command_end();
CREATE EVENT TRIGGER crm_core_guard_sql_drop ON sql_drop
    EXECUTE FUNCTION crm_core.guard_sql_drop();

-- EXECUTE is PUBLIC's, as for append_only_guard(): PostgreSQL checks it when it clones the row
-- trigger onto a partition the table's owner creates. It does nothing but as a trigger.
CREATE FUNCTION crm_core.audit_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_audit_trigger' LANGUAGE C;
GRANT EXECUTE ON FUNCTION crm_core.audit_trigger() TO PUBLIC;
COMMENT ON FUNCTION crm_core.audit_trigger() IS
    'Trigger: AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW writes crm_core.audit_log (arguments: watched columns); BEFORE TRUNCATE refuses non-superusers.';
