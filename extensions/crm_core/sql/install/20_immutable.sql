-- crm_core immutable history: append-only guards, the DDL event triggers that keep them in
-- place, roles, and the audit trail. (The ledger seal follows in 21_seal.sql.)

-- ---------------------------------------------------------------------------------------
-- Append-only guards

CREATE FUNCTION crm_core.append_only_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_append_only_guard' LANGUAGE C;
COMMENT ON FUNCTION crm_core.append_only_guard() IS
    'Trigger: refuses UPDATE, DELETE (row) and TRUNCATE (statement) on append-only tables.';

CREATE FUNCTION crm_core.invoked_by_superuser() RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_invoked_by_superuser' LANGUAGE C STABLE;
COMMENT ON FUNCTION crm_core.invoked_by_superuser() IS
    'Whether the role running the statement (after SET ROLE, before SECURITY DEFINER) is a superuser.';

CREATE FUNCTION crm_core._audit_retention_detach(partition regclass) RETURNS void
    AS 'MODULE_PATHNAME', 'crm_core_audit_retention_detach' LANGUAGE C STRICT;
REVOKE EXECUTE ON FUNCTION crm_core._audit_retention_detach(regclass) FROM PUBLIC;
COMMENT ON FUNCTION crm_core._audit_retention_detach(regclass) IS
    'Detaches a partition of crm_core.audit_log for retention; callable only as the audit log''s owner.';
CREATE FUNCTION crm_core._audit_month_from_default(partition_name name, lower_bound timestamp,
                                                   upper_bound timestamp) RETURNS void
    AS 'MODULE_PATHNAME', 'crm_core_audit_month_from_default' LANGUAGE C STRICT;
REVOKE EXECUTE ON FUNCTION crm_core._audit_month_from_default(name, timestamp, timestamp) FROM PUBLIC;
COMMENT ON FUNCTION crm_core._audit_month_from_default(name, timestamp, timestamp) IS
    'Creates a month of crm_core.audit_log with the rows waiting for it in audit_log_default; only as the audit log''s owner.';
CREATE FUNCTION crm_core._audit_retention_detaching(relation regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_audit_retention_detaching' LANGUAGE C STRICT VOLATILE;
REVOKE EXECUTE ON FUNCTION crm_core._audit_retention_detaching(regclass) FROM PUBLIC;
COMMENT ON FUNCTION crm_core._audit_retention_detaching(regclass) IS
    'Whether crm_core''s audit retention is detaching this relation now (in this backend).';

-- Tables registered with make_append_only (their partitions inherit the guards).
CREATE TABLE crm_core.append_only_table (
    relid         regclass    PRIMARY KEY,
    registered_at timestamptz NOT NULL DEFAULT now(),
    registered_by name        NOT NULL DEFAULT current_user,
    -- Rows the install script writes (CREATE EXTENSION writes them again on restore).
    by_extension  boolean     NOT NULL DEFAULT false
);
COMMENT ON TABLE crm_core.append_only_table IS
    'Tables made append-only with crm_core.make_append_only(); guards cover all their partitions.';
SELECT pg_catalog.pg_extension_config_dump('crm_core.append_only_table', 'WHERE NOT by_extension');

-- Names of every guard trigger crm_core creates; the DDL event triggers protect these names.
CREATE FUNCTION crm_core.guard_trigger_names() RETURNS name[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['crm_core_guard_row', 'crm_core_guard_truncate', 'crm_core_guard_posted']::name[];

-- A table and every partition below it (pg_partition_tree returns nothing for a plain table).
CREATE FUNCTION crm_core.relation_tree(relation regclass)
RETURNS TABLE (relid regclass, parentrelid regclass, level integer)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT t.relid, t.parentrelid, t.level FROM pg_catalog.pg_partition_tree(relation) AS t
    UNION ALL
    SELECT relation, NULL::regclass, 0
     WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_partition_tree(relation));
END;

-- Puts the guard triggers on relation and every partition below it, ENABLE ALWAYS so that
-- session_replication_role = replica does not skip them. Idempotent.
CREATE FUNCTION crm_core.apply_append_only_guards(relation regclass, row_guard text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    member record;
BEGIN
    FOR member IN
        SELECT t.relid, t.parentrelid, c.relkind
          FROM crm_core.relation_tree(relation) AS t
          JOIN pg_catalog.pg_class AS c ON c.oid = t.relid
         WHERE c.relkind IN ('r', 'p')
         ORDER BY t.level
    LOOP
        -- Row triggers on a partitioned table are cloned onto its partitions by PostgreSQL.
        IF member.parentrelid IS NULL AND NOT EXISTS (
               SELECT FROM pg_catalog.pg_trigger
                WHERE tgrelid = member.relid AND tgname = 'crm_core_guard_row')
           AND row_guard IS NOT NULL THEN
            EXECUTE format('CREATE TRIGGER crm_core_guard_row BEFORE UPDATE OR DELETE ON %s '
                           'FOR EACH ROW EXECUTE FUNCTION %s', member.relid, row_guard);
        END IF;
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                        WHERE tgrelid = member.relid AND tgname = 'crm_core_guard_truncate') THEN
            EXECUTE format('CREATE TRIGGER crm_core_guard_truncate BEFORE TRUNCATE ON %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION crm_core.append_only_guard()',
                           member.relid);
        END IF;
        PERFORM crm_core.enable_guards_always(member.relid);
    END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.apply_append_only_guards(regclass, text) FROM PUBLIC;

-- Sets every guard trigger of relation to ENABLE ALWAYS.
CREATE FUNCTION crm_core.enable_guards_always(relation regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    guard name;
BEGIN
    FOR guard IN
        SELECT tgname FROM pg_catalog.pg_trigger
         WHERE tgrelid = relation AND tgname = ANY (crm_core.guard_trigger_names())
           AND tgenabled <> 'A'
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', relation, guard);
    END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.enable_guards_always(regclass) FROM PUBLIC;

CREATE FUNCTION crm_core.make_append_only(relation regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
BEGIN
    SELECT relkind INTO kind FROM pg_catalog.pg_class WHERE oid = relation;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', relation
              USING ERRCODE = 'wrong_object_type',
                    DETAIL = 'Only ordinary and partitioned tables can be made append-only.';
    END IF;
    IF EXISTS (SELECT FROM crm_core.append_only_table WHERE relid = relation) THEN
        RAISE EXCEPTION 'table % is already append-only', relation
              USING ERRCODE = 'duplicate_object',
                    HINT = 'See crm_core.append_only_table for registered tables.';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_partition_ancestors(relation) AS a
                 JOIN crm_core.append_only_table AS t ON t.relid = a.relid) THEN
        RAISE EXCEPTION 'table % is a partition of an append-only table', relation
              USING ERRCODE = 'duplicate_object',
                    DETAIL = 'It is already guarded through its parent.';
    END IF;
    INSERT INTO crm_core.append_only_table (relid) VALUES (relation);
    PERFORM crm_core.apply_append_only_guards(relation, 'crm_core.append_only_guard()');
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.make_append_only(regclass) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.make_append_only(regclass) IS
    'Refuses UPDATE, DELETE, MERGE and TRUNCATE on a table and all its partitions, present and future.';

-- ---------------------------------------------------------------------------------------
-- DDL event triggers: new partitions get the guards; guards cannot be disabled, dropped,
-- renamed or detached except by a superuser.

CREATE FUNCTION crm_core.guard_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    member record;
    loose record;
    detached record;
BEGIN
    -- Partitions created under, or attached to, a guarded table get its guards.
    FOR member IN
        SELECT DISTINCT tree.relid,
               (SELECT g.tgfoid::regprocedure::text FROM pg_catalog.pg_partition_ancestors(tree.relid) AS a
                  JOIN pg_catalog.pg_trigger AS g ON g.tgrelid = a.relid
                 WHERE g.tgname IN ('crm_core_guard_row', 'crm_core_guard_posted')
                 LIMIT 1) AS row_guard
          FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd
          JOIN pg_catalog.pg_class AS c ON c.oid = cmd.objid
          CROSS JOIN LATERAL pg_catalog.pg_partition_tree(c.oid) AS tree
         WHERE cmd.classid = 'pg_catalog.pg_class'::regclass AND c.relkind IN ('r', 'p')
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                            WHERE tgrelid = tree.relid AND tgname = 'crm_core_guard_truncate')
    LOOP
        IF member.row_guard IS NOT NULL THEN
            PERFORM crm_core.apply_append_only_guards(member.relid, NULL);
        END IF;
    END LOOP;

    -- A guarded table that is neither registered nor a partition was just detached.
    SELECT c.oid::regclass AS relation INTO detached
      FROM pg_catalog.pg_trigger AS g
      JOIN pg_catalog.pg_class AS c ON c.oid = g.tgrelid
     WHERE g.tgname = 'crm_core_guard_truncate' AND NOT c.relispartition
       AND NOT EXISTS (SELECT FROM crm_core.append_only_table AS t WHERE t.relid = c.oid)
     LIMIT 1;
    IF FOUND AND NOT crm_core.invoked_by_superuser()
       AND NOT crm_core._audit_retention_detaching(detached.relation) THEN
        RAISE EXCEPTION 'detaching % from its append-only table is refused', detached.relation
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Detaching a guarded partition removes its rows from the table''s '
                             'history; only a superuser may do it.',
                    HINT = 'See docs/immutability.md.';
    ELSIF FOUND THEN
        -- A superuser (or audit retention) detached it: it stays append-only on its own. DETACH dropped
        -- the row guard PostgreSQL had cloned onto it, so it gets its own.
        FOR detached IN
            SELECT c.oid::regclass AS relation
              FROM pg_catalog.pg_trigger AS g
              JOIN pg_catalog.pg_class AS c ON c.oid = g.tgrelid
             WHERE g.tgname = 'crm_core_guard_truncate' AND NOT c.relispartition
               AND NOT EXISTS (SELECT FROM crm_core.append_only_table AS t WHERE t.relid = c.oid)
        LOOP
            INSERT INTO crm_core.append_only_table (relid) VALUES (detached.relation);
            PERFORM crm_core.apply_append_only_guards(detached.relation,
                                                      'crm_core.append_only_guard()');
        END LOOP;
    END IF;

    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    -- A guard that is not ENABLE ALWAYS, or renamed, on a table this command touched.
    SELECT g.tgrelid::regclass AS relation, g.tgname INTO loose
      FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd
      JOIN pg_catalog.pg_trigger AS g
        ON g.tgrelid = cmd.objid OR g.oid = cmd.objid
           OR g.tgrelid IN (SELECT relid FROM pg_catalog.pg_partition_tree(cmd.objid::regclass)
                             WHERE cmd.classid = 'pg_catalog.pg_class'::regclass)
     WHERE (g.tgname = ANY (crm_core.guard_trigger_names())
            OR g.tgfoid IN (SELECT oid FROM pg_catalog.pg_proc
                             WHERE pronamespace = 'crm_core'::regnamespace
                               AND proname IN ('append_only_guard', 'ledger_guard')))
       AND (g.tgenabled <> 'A' OR NOT g.tgname = ANY (crm_core.guard_trigger_names()))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'guard trigger % on % must stay enabled and named as crm_core made it',
                        loose.tgname, loose.relation
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Only a superuser may disable or rename crm_core guard triggers.',
                    HINT = 'Record corrections as new rows; see docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_ddl_command_end() FROM PUBLIC;

CREATE FUNCTION crm_core.guard_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped record;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        DELETE FROM crm_core.append_only_table AS t
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE oid = t.relid);
        RETURN;
    END IF;
    SELECT d.object_identity INTO dropped
      FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
     WHERE d.object_type = 'trigger'
       AND d.address_names[array_length(d.address_names, 1)] = ANY (crm_core.guard_trigger_names())
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dropping guard trigger % is refused', dropped.object_identity
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Dropping or detaching an append-only table or partition, or its '
                             'guard triggers, removes history; only a superuser may do it.',
                    HINT = 'See docs/immutability.md.';
    END IF;
    -- A dropped column of a guarded table takes its history with it.
    SELECT d.object_identity INTO dropped
      FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
     WHERE d.object_type = 'table column'
       AND EXISTS (SELECT FROM pg_catalog.pg_trigger AS g
                    WHERE g.tgrelid = pg_catalog.to_regclass(
                              pg_catalog.format('%I.%I', d.address_names[1], d.address_names[2]))
                      AND g.tgname = 'crm_core_guard_truncate')
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dropping column % of an append-only table is refused', dropped.object_identity
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Dropping a column removes its history; only a superuser may do it.',
                    HINT = 'See docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_sql_drop() FROM PUBLIC;

-- Refuses a non-superuser's rewrite of a guarded table or partition (ALTER COLUMN ... TYPE
-- ... USING): a rewrite changes every row without firing the row guards.
CREATE FUNCTION crm_core.guard_table_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rewritten regclass := pg_catalog.pg_event_trigger_table_rewrite_oid();
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger AS g
                WHERE g.tgrelid = rewritten AND g.tgname = 'crm_core_guard_truncate') THEN
        RAISE EXCEPTION 'rewriting append-only table % is refused', rewritten
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'A rewrite (ALTER COLUMN ... TYPE) changes every row without the '
                             'guards; only a superuser may do it.',
                    HINT = 'Add a new column instead; see docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_table_rewrite() FROM PUBLIC;

CREATE EVENT TRIGGER crm_core_guard_table_rewrite ON table_rewrite
    EXECUTE FUNCTION crm_core.guard_table_rewrite();
CREATE EVENT TRIGGER crm_core_guard_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'ALTER TRIGGER')
    EXECUTE FUNCTION crm_core.guard_ddl_command_end();
CREATE EVENT TRIGGER crm_core_guard_sql_drop ON sql_drop
    EXECUTE FUNCTION crm_core.guard_sql_drop();

-- The ledger's own tables: their triggers, constraints, rules, columns and defaults carry
-- the money invariants, so only a superuser changes them, even when a DBA hands the tables
-- to another owner. Indexes stay free.
CREATE FUNCTION crm_core.ledger_tables() RETURNS regclass[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY['crm_core.business', 'crm_core.account', 'crm_core.fiscal_period',
                 'crm_core.journal_entry', 'crm_core.journal_line', 'crm_core.account_balance_slot',
                 'crm_core.ledger_block']::regclass[]
$$;
COMMENT ON FUNCTION crm_core.ledger_tables() IS
    'The ledger tables whose shape (triggers, constraints, rules, columns) only a superuser changes.';

-- Refuses a non-superuser's command that reshaped a ledger table (fired at its end).
CREATE FUNCTION crm_core.guard_ledger_shape() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    touched regclass;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    SELECT t.relation INTO touched
      FROM (SELECT CASE cmd.classid
                   WHEN 'pg_catalog.pg_class'::regclass THEN cmd.objid
                   WHEN 'pg_catalog.pg_trigger'::regclass
                       THEN (SELECT g.tgrelid FROM pg_catalog.pg_trigger AS g WHERE g.oid = cmd.objid)
                   WHEN 'pg_catalog.pg_rewrite'::regclass
                       THEN (SELECT r.ev_class FROM pg_catalog.pg_rewrite AS r WHERE r.oid = cmd.objid)
                   WHEN 'pg_catalog.pg_constraint'::regclass
                       THEN (SELECT c.conrelid FROM pg_catalog.pg_constraint AS c WHERE c.oid = cmd.objid)
                   WHEN 'pg_catalog.pg_policy'::regclass
                       THEN (SELECT p.polrelid FROM pg_catalog.pg_policy AS p WHERE p.oid = cmd.objid)
                   END::regclass AS relation
              FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd) AS t
     WHERE t.relation = ANY (crm_core.ledger_tables())
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'changing ledger table % is refused', touched
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Its triggers, constraints, rules, columns and defaults keep the '
                             'ledger balanced; only a superuser may change them.',
                    HINT = 'See docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_ledger_shape() FROM PUBLIC;

-- Refuses a non-superuser's drop of a ledger table's trigger, constraint, rule, policy or column.
CREATE FUNCTION crm_core.guard_ledger_shape_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped record;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    SELECT d.object_identity INTO dropped
      FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
     WHERE d.object_type IN ('trigger', 'table constraint', 'rule', 'policy', 'table column')
       AND d.address_names[1] = 'crm_core'
       AND pg_catalog.format('%I.%I', d.address_names[1], d.address_names[2])
           = ANY (crm_core.ledger_tables()::text[])
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dropping % is refused', dropped.object_identity
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'The ledger tables'' triggers, constraints, rules and columns keep '
                             'the ledger balanced; only a superuser may drop them.',
                    HINT = 'See docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_ledger_shape_drop() FROM PUBLIC;

CREATE EVENT TRIGGER crm_core_guard_ledger_shape ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER', 'ALTER TRIGGER', 'CREATE RULE', 'ALTER RULE',
                 'CREATE POLICY', 'ALTER POLICY')
    EXECUTE FUNCTION crm_core.guard_ledger_shape();
CREATE EVENT TRIGGER crm_core_guard_ledger_shape_drop ON sql_drop
    EXECUTE FUNCTION crm_core.guard_ledger_shape_drop();

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
    registered_by name        NOT NULL DEFAULT current_user
);
COMMENT ON TABLE crm_core.audited_table IS
    'Tables whose changes crm_core.audit_trigger() writes to crm_core.audit_log; NULL columns = all.';
SELECT pg_catalog.pg_extension_config_dump('crm_core.audited_table', '');

CREATE FUNCTION crm_core.audit_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_audit_trigger' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION crm_core.audit_trigger() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.audit_trigger() IS
    'Trigger: AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW; writes crm_core.audit_log. Arguments: watched columns.';

CREATE FUNCTION crm_core.audit_table(relation regclass, columns text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
    unknown text[];
    arguments text;
    member regclass;
BEGIN
    SELECT relkind INTO kind FROM pg_catalog.pg_class WHERE oid = relation;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', relation
              USING ERRCODE = 'wrong_object_type',
                    DETAIL = 'Only ordinary and partitioned tables can be audited.',
                    HINT = 'Audit the table the view reads from.';
    END IF;
    IF relation = 'crm_core.audit_log'::regclass THEN
        RAISE EXCEPTION 'crm_core.audit_log cannot audit itself'
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM crm_core.audited_table WHERE relid = relation) THEN
        RAISE EXCEPTION 'table % is already audited', relation
              USING ERRCODE = 'duplicate_object',
                    HINT = 'See crm_core.audited_table for registered tables and columns.';
    END IF;
    IF columns IS NOT NULL THEN
        IF cardinality(columns) = 0 THEN
            RAISE EXCEPTION 'columns must list at least one column, or be NULL for all'
                  USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT array_agg(wanted ORDER BY wanted COLLATE "C") INTO unknown
          FROM unnest(columns) AS wanted
         WHERE wanted IS NULL OR NOT EXISTS (
                   SELECT FROM pg_catalog.pg_attribute
                    WHERE attrelid = relation AND attname = wanted
                      AND attnum > 0 AND NOT attisdropped);
        IF unknown IS NOT NULL THEN
            RAISE EXCEPTION 'table % has no column %', relation, array_to_string(unknown, ', ', 'NULL')
                  USING ERRCODE = 'undefined_column',
                        HINT = 'Column names are case-sensitive, as stored in pg_attribute.';
        END IF;
        SELECT string_agg(quote_literal(c), ', ' ORDER BY c) INTO arguments
          FROM (SELECT DISTINCT c FROM unnest(columns) AS c) AS distinct_columns;
    END IF;
    INSERT INTO crm_core.audited_table (relid, columns) VALUES (relation, columns);
    EXECUTE format('CREATE TRIGGER crm_core_audit AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION crm_core.audit_trigger(%s)',
                   relation, coalesce(arguments, ''));
    FOR member IN SELECT relid FROM crm_core.relation_tree(relation) LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER crm_core_audit', member);
    END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.audit_table(regclass, text[]) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.audit_table(regclass, text[]) IS
    'Writes every INSERT, UPDATE and DELETE of the table (only changes to columns, when given) to crm_core.audit_log.';

-- ---------------------------------------------------------------------------------------
-- The ledger: its guards (crm_core_guard_posted, 10_ledger.sql) become ENABLE ALWAYS here.
INSERT INTO crm_core.append_only_table (relid)
VALUES ('crm_core.journal_entry'), ('crm_core.journal_line');
SELECT crm_core.apply_append_only_guards('crm_core.journal_entry', NULL);
SELECT crm_core.apply_append_only_guards('crm_core.journal_line', NULL);

-- ---------------------------------------------------------------------------------------
-- Sealed blocks: tamper evidence for what even a superuser can do.

-- One block per business and number: the hash of the previous block and of its rows.
CREATE TABLE crm_core.ledger_block (
    business_id    bigint      NOT NULL REFERENCES crm_core.business (id),
    block_no       bigint      NOT NULL CHECK (block_no > 0),
    previous_hash  bytea       NOT NULL CHECK (length(previous_hash) = 32),
    block_hash     bytea       NOT NULL CHECK (length(block_hash) = 32),
    entries        integer     NOT NULL,
    lines          integer     NOT NULL,
    first_entry_id bigint      NOT NULL,
    last_entry_id  bigint      NOT NULL,
    horizon        xid8        NOT NULL,
    sealed_at      timestamptz NOT NULL DEFAULT now(),
    sealed_by      name        NOT NULL DEFAULT current_user,
    PRIMARY KEY (business_id, block_no)
);
COMMENT ON TABLE crm_core.ledger_block IS
    'Hash chain per business: block_hash = SHA-256 over previous_hash and the rows sealed in it '
    '(crm_core.ledger_sealed_entry). horizon: rows written by transactions older than it were sealable.';

-- Which entries each block holds, in block order, with the hashes of the entry and of each of
-- its lines (in line id order) at sealing time: one row per entry keeps sealing cheap.
CREATE TABLE crm_core.ledger_sealed_entry (
    business_id bigint   NOT NULL,
    block_no    bigint   NOT NULL,
    position    integer  NOT NULL,
    entry_id    bigint   NOT NULL,
    entry_hash  bytea    NOT NULL CHECK (length(entry_hash) = 32),
    line_ids    bigint[] NOT NULL,
    line_hashes bytea    NOT NULL CHECK (length(line_hashes) = 32 * cardinality(line_ids)),
    PRIMARY KEY (business_id, entry_id),
    UNIQUE (business_id, block_no, position)
);
-- No foreign key to ledger_block: seal_ledger writes a block and its entries in one statement,
-- verify_ledger checks they match, and a per-row RI check would double the cost of sealing.
COMMENT ON TABLE crm_core.ledger_sealed_entry IS
    'Entries of each sealed block in order, with the SHA-256 of the entry and of each line '
    '(line_hashes: 32 bytes per id in line_ids).';

-- Where the next seal starts looking: every posted entry of the business not sealed yet was
-- posted by a transaction from scan_from on (posted_txid, stamped by the ledger). Keeps each
-- seal proportional to what is new, not to the whole ledger.
CREATE TABLE crm_core.seal_progress (
    business_id bigint      PRIMARY KEY REFERENCES crm_core.business (id),
    scan_from   xid8        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE crm_core.seal_progress IS
    'Per business: seal_ledger() scans posted entries with posted_txid >= scan_from.';
CREATE INDEX journal_entry_posted_txid_idx ON crm_core.journal_entry (business_id, posted_txid)
    WHERE status = 'posted';

SELECT crm_core.make_append_only('crm_core.ledger_block');
SELECT crm_core.make_append_only('crm_core.ledger_sealed_entry');
-- The chain is dumped with the ledger (restored verbatim, it verifies against a digest taken
-- before the dump). seal_progress is not: it only shortens the next scan, holds transaction
-- ids of the cluster that wrote it, and without it seal_ledger() scans every posted entry once.
SELECT pg_catalog.pg_extension_config_dump('crm_core.ledger_block', '');
SELECT pg_catalog.pg_extension_config_dump('crm_core.ledger_sealed_entry', '');

CREATE FUNCTION crm_core.seal_ledger(entries_per_block integer DEFAULT 1000)
RETURNS TABLE (business_id bigint, blocks_sealed integer, rows_sealed bigint)
    AS 'MODULE_PATHNAME', 'crm_core_seal_ledger' LANGUAGE C STRICT VOLATILE;
REVOKE EXECUTE ON FUNCTION crm_core.seal_ledger(integer) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.seal_ledger(integer) IS
    'Seals committed, not yet sealed posted entries (with their lines) into hash-chained blocks per business. Run by maintenance.';

CREATE FUNCTION crm_core.verify_ledger(business_id bigint DEFAULT NULL, digest text DEFAULT NULL)
RETURNS TABLE (business_id bigint, ok boolean, blocks_checked bigint, rows_checked bigint,
               broken_block bigint, broken_row_kind text, broken_row_id bigint, problem text)
    AS 'MODULE_PATHNAME', 'crm_core_verify_ledger' LANGUAGE C VOLATILE;
REVOKE EXECUTE ON FUNCTION crm_core.verify_ledger(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.verify_ledger(bigint, text) IS
    'Recomputes every sealed block from the rows as they are now; reports the first broken block and row per business. With a digest from ledger_digest(), also checks the pinned blocks.';

CREATE FUNCTION crm_core.ledger_digest(business_id bigint DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_core_ledger_digest' LANGUAGE C VOLATILE;
REVOKE EXECUTE ON FUNCTION crm_core.ledger_digest(bigint) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.ledger_digest(bigint) IS
    'The last block hash of each business chain, as text to keep outside the database and pass to verify_ledger() later.';

CREATE VIEW crm_core.seal_status AS
SELECT b.id AS business_id,
       coalesce(blocks.sealed_blocks, 0)::bigint AS sealed_blocks,
       coalesce(pending.unsealed_rows, 0)::bigint AS unsealed_rows,
       pending.oldest_unsealed_at,
       blocks.last_sealed_at
  FROM crm_core.business AS b
  LEFT JOIN LATERAL (
        SELECT count(*) AS sealed_blocks, max(k.sealed_at) AS last_sealed_at
          FROM crm_core.ledger_block AS k WHERE k.business_id = b.id) AS blocks ON true
  LEFT JOIN LATERAL (
        SELECT sum(1 + (SELECT count(*) FROM crm_core.journal_line AS l
                         WHERE l.business_id = e.business_id AND l.entry_id = e.id))
                   AS unsealed_rows,
               min(e.posted_at) AS oldest_unsealed_at
          FROM crm_core.journal_entry AS e
         WHERE e.business_id = b.id AND e.status = 'posted'
           AND NOT EXISTS (SELECT FROM crm_core.ledger_sealed_entry AS s
                            WHERE s.business_id = e.business_id AND s.entry_id = e.id)) AS pending
       ON true;
COMMENT ON VIEW crm_core.seal_status IS
    'Per business: sealed blocks, posted rows (entries + lines) not sealed yet, the oldest of them, the last seal.';

-- ---------------------------------------------------------------------------------------
-- Roles (least privilege). NOLOGIN group roles, created once per cluster: grant them to
-- login roles. crm_core_app writes postings and reads; crm_core_readonly reads.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_app') THEN
        CREATE ROLE crm_core_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_readonly') THEN
        CREATE ROLE crm_core_readonly NOLOGIN;
    END IF;
END;
$$;
GRANT USAGE ON SCHEMA crm_core TO crm_core_app, crm_core_readonly;
GRANT SELECT ON crm_core.business, crm_core.account, crm_core.fiscal_period,
    crm_core.journal_entry, crm_core.journal_line, crm_core.account_balance_slot,
    crm_core.ledger_block, crm_core.seal_status TO crm_core_app, crm_core_readonly;
-- Drafts are edited and posted by UPDATE; the guards refuse it once posted.
GRANT INSERT, UPDATE, DELETE ON crm_core.journal_entry, crm_core.journal_line TO crm_core_app;
GRANT SELECT ON crm_core.audit_log TO crm_core_readonly;
GRANT EXECUTE ON FUNCTION crm_core.verify_ledger(bigint, text), crm_core.ledger_digest(bigint)
    TO crm_core_readonly;
