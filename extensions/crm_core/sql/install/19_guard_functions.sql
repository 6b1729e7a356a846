-- crm_core guards of immutable history and of the audit trail: the functions that put crm_core's
-- triggers on tables, and the DDL event-trigger functions that keep them there (the event
-- triggers themselves, the tables and the C functions they call are in 20_immutable.sql and
-- 90_integration.sql). Only CREATE OR REPLACE and idempotent statements: the upgrade scripts
-- include this file. PL/pgSQL bodies name tables made in later parts; they run after install.
--
-- crm_core recognises its triggers by the function they call (crm_core.guard_triggers()), never
-- by name alone: a role's own trigger named like a guard is nobody else's business. Every
-- function here runs with search_path = pg_catalog, pg_temp (or pg_catalog, crm_core, pg_temp)
-- and names crm_core's objects with their schema, whoever calls it.

-- ---------------------------------------------------------------------------------------
-- Which triggers are crm_core's

-- Every trigger crm_core puts on tables: the function it calls, the name crm_core gives it, and
-- what it protects ('append-only' rows or an 'audited' table). (During CREATE EXTENSION a
-- function not created yet is NULL.)
CREATE OR REPLACE FUNCTION crm_core.guard_triggers()
RETURNS TABLE (function regprocedure, trigger_name name, kind text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.to_regprocedure(g.function), g.trigger_name::name, g.kind
      FROM (VALUES ('crm_core.append_only_guard()', 'crm_core_guard_row', 'append-only'),
                   ('crm_core.append_only_guard()', 'crm_core_guard_truncate', 'append-only'),
                   ('crm_core.ledger_guard()', 'crm_core_guard_posted', 'append-only'),
                   ('crm_core.audit_trigger()', 'crm_core_audit', 'audited'),
                   ('crm_core.audit_trigger()', 'crm_core_audit_truncate', 'audited'))
           AS g (function, trigger_name, kind)
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_triggers() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.guard_triggers() IS
    'crm_core''s guard and audit triggers: the function each calls, its name, what it protects.';

-- Whether relation carries crm_core's trigger trigger_name (that name, calling crm_core's function).
CREATE OR REPLACE FUNCTION crm_core._has_guard(relation regclass, trigger_name name)
RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger AS t
                     JOIN crm_core.guard_triggers() AS g
                       ON g.function OPERATOR(pg_catalog.=) t.tgfoid
                      AND g.trigger_name OPERATOR(pg_catalog.=) t.tgname
                    WHERE t.tgrelid OPERATOR(pg_catalog.=) _has_guard.relation
                      AND t.tgname OPERATOR(pg_catalog.=) _has_guard.trigger_name)
$$;
REVOKE EXECUTE ON FUNCTION crm_core._has_guard(regclass, name) FROM PUBLIC;

-- What crm_core's triggers on relation protect: 'append-only', else 'audited', else NULL.
CREATE OR REPLACE FUNCTION crm_core._guarded_as(relation regclass) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT g.kind
      FROM pg_catalog.pg_trigger AS t
      JOIN crm_core.guard_triggers() AS g ON g.function OPERATOR(pg_catalog.=) t.tgfoid
     WHERE t.tgrelid OPERATOR(pg_catalog.=) _guarded_as.relation
     ORDER BY g.kind
     LIMIT 1
$$;
REVOKE EXECUTE ON FUNCTION crm_core._guarded_as(regclass) FROM PUBLIC;

-- One append-only table (or partition) that stores values of stored_type, in a column of that type or
-- of a domain, array, range or composite type built on it; NULL if none does.
CREATE OR REPLACE FUNCTION crm_core._append_only_table_storing(stored_type regtype) RETURNS regclass
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE containing (type) AS (
        SELECT stored_type::oid
        UNION
        SELECT outer_type
          FROM containing
          JOIN (SELECT d.typbasetype, d.oid FROM pg_catalog.pg_type AS d WHERE d.typtype = 'd'
                UNION ALL
                SELECT a.typelem, a.oid FROM pg_catalog.pg_type AS a
                 WHERE a.typsubscript OPERATOR(pg_catalog.=) 'pg_catalog.array_subscript_handler'::regproc
                UNION ALL
                SELECT r.rngsubtype, r.rngtypid FROM pg_catalog.pg_range AS r
                UNION ALL
                SELECT r.rngtypid, r.rngmultitypid FROM pg_catalog.pg_range AS r
                UNION ALL
                SELECT c.atttypid, k.reltype
                  FROM pg_catalog.pg_attribute AS c
                  JOIN pg_catalog.pg_class AS k ON k.oid OPERATOR(pg_catalog.=) c.attrelid
                 WHERE c.attnum OPERATOR(pg_catalog.>) 0 AND NOT c.attisdropped
                   AND k.reltype OPERATOR(pg_catalog.<>) 0) AS edge (inner_type, outer_type)
            ON edge.inner_type OPERATOR(pg_catalog.=) containing.type
    )
    SELECT a.attrelid::regclass
      FROM pg_catalog.pg_attribute AS a
      JOIN pg_catalog.pg_trigger AS t ON t.tgrelid OPERATOR(pg_catalog.=) a.attrelid
      JOIN crm_core.guard_triggers() AS g
        ON g.function OPERATOR(pg_catalog.=) t.tgfoid AND g.kind OPERATOR(pg_catalog.=) 'append-only'
     WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
       AND a.atttypid IN (SELECT containing.type FROM containing)
     ORDER BY a.attrelid
     LIMIT 1
$$;
REVOKE EXECUTE ON FUNCTION crm_core._append_only_table_storing(regtype) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------
-- Putting the triggers on tables

-- Creates crm_core's trigger trigger_name with definition (the CREATE TRIGGER statement after
-- the name) unless relation already has it; another trigger of that name is an error.
CREATE OR REPLACE FUNCTION crm_core._create_guard(relation regclass, trigger_name name,
                                                  definition text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF crm_core._has_guard(relation, trigger_name) THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = relation AND tgname = trigger_name) THEN
        RAISE EXCEPTION 'table % has a trigger named % that is not crm_core''s', relation, trigger_name
              USING ERRCODE = 'duplicate_object',
                    DETAIL = 'crm_core needs that name for its own trigger on this table.',
                    HINT = 'Rename or drop that trigger, then retry.';
    END IF;
    EXECUTE format('CREATE TRIGGER %I ', trigger_name) || definition;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._create_guard(regclass, name, text) FROM PUBLIC;

-- Puts the guard triggers on relation and every partition below it, ENABLE ALWAYS so that
-- session_replication_role = replica does not skip them. Idempotent.
CREATE OR REPLACE FUNCTION crm_core.apply_append_only_guards(relation regclass, row_guard text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    member record;
BEGIN
    FOR member IN
        SELECT t.relid, t.parentrelid
          FROM crm_core.relation_tree(relation) AS t
          JOIN pg_catalog.pg_class AS c ON c.oid = t.relid
         WHERE c.relkind IN ('r', 'p')
         ORDER BY t.level
    LOOP
        -- Row triggers on a partitioned table are cloned onto its partitions by PostgreSQL.
        IF member.parentrelid IS NULL AND row_guard IS NOT NULL THEN
            PERFORM crm_core._create_guard(member.relid, 'crm_core_guard_row',
                format('BEFORE UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION %s',
                       member.relid, row_guard));
        END IF;
        PERFORM crm_core._create_guard(member.relid, 'crm_core_guard_truncate',
            format('BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION crm_core.append_only_guard()', member.relid));
        PERFORM crm_core.enable_guards_always(member.relid);
    END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.apply_append_only_guards(regclass, text) FROM PUBLIC;

-- Puts the audit trail's TRUNCATE guard on relation and every partition below it (statement
-- triggers are not cloned onto partitions) and makes crm_core's triggers there ENABLE ALWAYS.
CREATE OR REPLACE FUNCTION crm_core.apply_audit_guards(relation regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    member regclass;
BEGIN
    FOR member IN
        SELECT t.relid
          FROM crm_core.relation_tree(relation) AS t
          JOIN pg_catalog.pg_class AS c ON c.oid = t.relid
         WHERE c.relkind IN ('r', 'p')
         ORDER BY t.level
    LOOP
        PERFORM crm_core._create_guard(member, 'crm_core_audit_truncate',
            format('BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION crm_core.audit_trigger()', member));
        PERFORM crm_core.enable_guards_always(member);
    END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.apply_audit_guards(regclass) FROM PUBLIC;

-- Sets every crm_core trigger of relation to ENABLE ALWAYS.
CREATE OR REPLACE FUNCTION crm_core.enable_guards_always(relation regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    guard name;
BEGIN
    FOR guard IN
        SELECT t.tgname FROM pg_catalog.pg_trigger AS t
         WHERE t.tgrelid = relation AND t.tgenabled <> 'A'
           AND crm_core._has_guard(relation, t.tgname)
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', relation, guard);
    END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.enable_guards_always(regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION crm_core.audit_table(relation regclass, columns text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
    unknown text[];
    arguments text;
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
    PERFORM crm_core.apply_audit_guards(relation);
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.audit_table(regclass, text[]) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.audit_table(regclass, text[]) IS
    'Writes every INSERT, UPDATE and DELETE of the table (only changes to columns, when given) to crm_core.audit_log.';

-- ---------------------------------------------------------------------------------------
-- Refusals before a statement runs (called by crm_core.guard_ddl_command_start(), C, which
-- reads the statement's parse tree): refusing at ddl_command_start leaves nothing changed, even
-- for commands that commit on their own (DETACH PARTITION ... CONCURRENTLY).

-- CREATE [OR REPLACE] TRIGGER trigger_name ON relation EXECUTE FUNCTION function: replacing one
-- of crm_core's triggers is refused to everyone but a superuser. A superuser's plain CREATE of a
-- trigger the table already has, calling the same function, is a restore (pg_dump writes each
-- partition's TRUNCATE guard, which the event triggers already put back): the old copy is dropped
-- so that the statement puts it back.
CREATE OR REPLACE FUNCTION crm_core._guard_create_trigger(relation regclass, trigger_name text,
                                                          function oid, replacing boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT crm_core._has_guard(relation, trigger_name) THEN
        RETURN;
    END IF;
    IF replacing THEN
        IF NOT crm_core.invoked_by_superuser() THEN
            RAISE EXCEPTION 'replacing crm_core trigger % on % is refused', trigger_name, relation
                  USING ERRCODE = 'insufficient_privilege',
                        DETAIL = 'crm_core''s guard and audit triggers keep history and the audit '
                                 'trail complete; only a superuser may replace them.',
                        HINT = 'See docs/immutability.md.';
        END IF;
    ELSIF crm_core.invoked_by_superuser()
          AND EXISTS (SELECT FROM pg_catalog.pg_trigger
                       WHERE tgrelid = relation AND tgname = trigger_name AND tgfoid = function) THEN
        EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, relation);
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._guard_create_trigger(regclass, text, oid, boolean) FROM PUBLIC;

-- ALTER TABLE ... DETACH PARTITION partition [CONCURRENTLY | FINALIZE]: a partition of an
-- append-only or audited table leaves it only by a superuser's hand, or by crm_core's audit
-- retention (crm_core._audit_retention_detach).
CREATE OR REPLACE FUNCTION crm_core._guard_detach(partition regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind text := crm_core._guarded_as(partition);
BEGIN
    IF kind IS NULL OR crm_core.invoked_by_superuser()
       OR crm_core._audit_retention_detaching(partition) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'detaching % from its % table is refused', partition, kind
          USING ERRCODE = 'insufficient_privilege',
                DETAIL = 'Detaching a partition takes its rows out of the table''s history '
                         'without a trace; only a superuser may do it.',
                HINT = 'See docs/immutability.md.';
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._guard_detach(regclass) FROM PUBLIC;

-- ALTER TABLE relation RENAME COLUMN column_name: a renamed column (then re-added with a
-- default) changes what stored rows say; a renamed watched column would silently stop being
-- audited. Refused to everyone but a superuser for append-only tables, tables whose row type an
-- append-only table stores, and the watched columns of audited tables.
CREATE OR REPLACE FUNCTION crm_core._guard_rename_column(relation regclass, column_name text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stored_in regclass;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    IF crm_core._guarded_as(relation) = 'append-only' THEN
        RAISE EXCEPTION 'renaming column % of append-only table % is refused', column_name, relation
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'A renamed column changes what every stored row says; only a '
                             'superuser may do it.',
                    HINT = 'Add a new column instead; see docs/immutability.md.';
    END IF;
    stored_in := crm_core._append_only_table_storing(
                     (SELECT reltype FROM pg_catalog.pg_class WHERE oid = relation));
    IF stored_in IS NOT NULL THEN
        RAISE EXCEPTION 'renaming column % of % is refused', column_name, relation
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = format('Append-only table %s stores its row type; a renamed column '
                                    'changes what its rows say. Only a superuser may do it.',
                                    stored_in),
                    HINT = 'See docs/immutability.md.';
    END IF;
    IF EXISTS (SELECT FROM crm_core.audited_table
                WHERE relid = relation AND column_name = ANY (columns)) THEN
        RAISE EXCEPTION 'renaming audited column % of % is refused', column_name, relation
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'The audit trigger watches this column by name; renamed, its changes '
                             'would no longer be audited. Only a superuser may do it.',
                    HINT = 'See docs/audit.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._guard_rename_column(regclass, text) FROM PUBLIC;

-- ALTER TYPE type RENAME VALUE / RENAME ATTRIBUTE part_name (part: 'value' or 'attribute'):
-- refused to everyone but a superuser when an append-only table stores the type.
CREATE OR REPLACE FUNCTION crm_core._guard_rename_type(type regtype, part text, part_name text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stored_in regclass;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    stored_in := crm_core._append_only_table_storing(type);
    IF stored_in IS NULL THEN
        RETURN;
    END IF;
    IF part = 'value' THEN
        RAISE EXCEPTION 'renaming a value of type % is refused', type
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = format('Append-only table %s stores it; a renamed value changes what '
                                    'its rows say. Only a superuser may do it.', stored_in),
                    HINT = 'Add a new value instead; see docs/immutability.md.';
    END IF;
    RAISE EXCEPTION 'renaming attribute % of type % is refused', part_name, type
          USING ERRCODE = 'insufficient_privilege',
                DETAIL = format('Append-only table %s stores it; a renamed attribute changes what '
                                'its rows say. Only a superuser may do it.', stored_in),
                HINT = 'See docs/immutability.md.';
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._guard_rename_type(regtype, text, text) FROM PUBLIC;

-- The C side: reads the parse tree of CREATE TRIGGER, ALTER TABLE and ALTER TYPE and calls the
-- refusals above. SECURITY DEFINER to call them; it names nothing unqualified and resolves the
-- statement's own names with the session's search_path, as the statement itself will.
CREATE OR REPLACE FUNCTION crm_core.guard_ddl_command_start() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'crm_core_guard_ddl_command_start' LANGUAGE C SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION crm_core.guard_ddl_command_start() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.guard_ddl_command_start() IS
    'Event trigger: refuses, before they run, DDL that would weaken crm_core''s guards (detach, rename, replace a guard); lets a restore recreate guards.';

-- The function a trigger that the running command dropped called (its catalog row is gone
-- for everyone but this transaction), or NULL.
CREATE OR REPLACE FUNCTION crm_core._dropped_trigger_function(trigger oid) RETURNS regprocedure
    AS 'MODULE_PATHNAME', 'crm_core_dropped_trigger_function' LANGUAGE C STRICT STABLE;
REVOKE EXECUTE ON FUNCTION crm_core._dropped_trigger_function(oid) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------
-- Refusals after a statement ran (ddl_command_end, sql_drop, table_rewrite)

CREATE OR REPLACE FUNCTION crm_core.guard_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- The functions crm_core's triggers call, looked up once (this runs after every CREATE and
    -- ALTER TABLE of the database).
    append_only_guards oid[];
    audit_guard oid;
    member record;
    detached regclass;
    loose record;
BEGIN
    SELECT pg_catalog.array_agg(g.function) FILTER (WHERE g.kind = 'append-only'),
           pg_catalog.min(g.function::oid) FILTER (WHERE g.kind = 'audited')
      INTO append_only_guards, audit_guard
      FROM crm_core.guard_triggers() AS g;

    -- Partitions created under, or attached to, a guarded or audited table get the statement
    -- (TRUNCATE) guards, which PostgreSQL does not clone from the parent. (A member that has
    -- its guard is not looked at further: most commands touch guarded members only.)
    FOR member IN
        SELECT tree.relid,
               NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS t
                            WHERE t.tgrelid = tree.relid AND t.tgname = 'crm_core_guard_truncate'
                              AND t.tgfoid = ANY (append_only_guards))
               AND EXISTS (SELECT FROM pg_catalog.pg_partition_ancestors(tree.relid) AS a
                             JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = a.relid
                            WHERE t.tgfoid = ANY (append_only_guards)) AS needs_append_only,
               NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS t
                            WHERE t.tgrelid = tree.relid AND t.tgname = 'crm_core_audit_truncate'
                              AND t.tgfoid = audit_guard)
               AND EXISTS (SELECT FROM pg_catalog.pg_partition_ancestors(tree.relid) AS a
                             JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = a.relid
                            WHERE t.tgfoid = audit_guard) AS needs_audit
          FROM (SELECT DISTINCT member_of.relid
                  FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd
                  JOIN pg_catalog.pg_class AS c ON c.oid = cmd.objid
                 CROSS JOIN LATERAL pg_catalog.pg_partition_tree(c.oid) AS member_of
                 WHERE cmd.classid = 'pg_catalog.pg_class'::regclass AND c.relkind IN ('r', 'p'))
               AS tree
    LOOP
        IF member.needs_append_only THEN
            PERFORM crm_core.apply_append_only_guards(member.relid, NULL);
        END IF;
        IF member.needs_audit THEN
            PERFORM crm_core.apply_audit_guards(member.relid);
        END IF;
    END LOOP;

    -- A partition just detached from a table carrying crm_core's triggers (by a superuser or the
    -- audit retention: crm_core.guard_ddl_command_start() refuses everyone else). Only an ALTER
    -- TABLE of such a table can detach one: the scans are skipped after any other command.
    IF EXISTS (SELECT FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd
                 JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = cmd.objid
                WHERE cmd.command_tag = 'ALTER TABLE'
                  AND cmd.classid = 'pg_catalog.pg_class'::regclass
                  AND (t.tgfoid = ANY (append_only_guards) OR t.tgfoid = audit_guard)) THEN
        -- Detached from an append-only table (crm_core's TRUNCATE guard, neither registered nor
        -- a partition): it stays append-only on its own. DETACH dropped the row guard PostgreSQL
        -- had cloned onto it, so it gets its own.
        FOR detached IN
            SELECT DISTINCT c.oid::regclass
              FROM pg_catalog.pg_trigger AS t
              JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
             WHERE t.tgfoid = ANY (append_only_guards) AND t.tgname = 'crm_core_guard_truncate'
               AND NOT c.relispartition
               AND NOT EXISTS (SELECT FROM crm_core.append_only_table AS r WHERE r.relid = c.oid)
        LOOP
            INSERT INTO crm_core.append_only_table (relid) VALUES (detached);
            PERFORM crm_core.apply_append_only_guards(detached, 'crm_core.append_only_guard()');
        END LOOP;
        -- Detached from an audited table: it leaves the audit. DETACH dropped its clone of the
        -- audit trigger; its TRUNCATE guard goes too.
        FOR detached IN
            SELECT c.oid::regclass
              FROM pg_catalog.pg_trigger AS t
              JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
             WHERE t.tgfoid = audit_guard AND t.tgname = 'crm_core_audit_truncate'
               AND NOT c.relispartition
               AND NOT EXISTS (SELECT FROM crm_core.audited_table AS r WHERE r.relid = c.oid)
               AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS a
                                WHERE a.tgrelid = c.oid AND a.tgfoid = audit_guard
                                  AND a.tgname = 'crm_core_audit')
        LOOP
            EXECUTE format('DROP TRIGGER crm_core_audit_truncate ON %s', detached);
        END LOOP;
    END IF;

    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    -- One of crm_core's triggers, on a table this command touched, that is not ENABLE ALWAYS
    -- or not named as crm_core named it.
    WITH guard AS MATERIALIZED (SELECT g.function, g.trigger_name FROM crm_core.guard_triggers() AS g)
    SELECT t.tgrelid::regclass AS relation, t.tgname INTO loose
      FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd
      JOIN pg_catalog.pg_trigger AS t
        ON t.tgrelid = cmd.objid OR t.oid = cmd.objid
           OR t.tgrelid IN (SELECT relid FROM pg_catalog.pg_partition_tree(cmd.objid::regclass)
                             WHERE cmd.classid = 'pg_catalog.pg_class'::regclass)
     WHERE t.tgfoid IN (SELECT guard.function FROM guard)
       AND (t.tgenabled <> 'A'
            OR NOT EXISTS (SELECT FROM guard
                            WHERE guard.function = t.tgfoid AND guard.trigger_name = t.tgname))
     ORDER BY t.tgrelid::regclass::text, t.tgname
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'crm_core trigger % on % must stay enabled and named as crm_core made it',
                        loose.tgname, loose.relation
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Only a superuser may disable or rename crm_core''s guard and audit '
                             'triggers.',
                    HINT = 'Record corrections as new rows; see docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_ddl_command_end() FROM PUBLIC;

CREATE OR REPLACE FUNCTION crm_core.guard_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped record;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        DELETE FROM crm_core.append_only_table AS t
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE oid = t.relid);
        DELETE FROM crm_core.audited_table AS t
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE oid = t.relid);
        RETURN;
    END IF;
    -- One of crm_core's triggers, dropped alone or with its table, partition or schema.
    SELECT d.object_identity INTO dropped
      FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
     WHERE d.object_type = 'trigger'
       AND crm_core._dropped_trigger_function(d.objid)
           IN (SELECT g.function FROM crm_core.guard_triggers() AS g)
     ORDER BY d.object_identity
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dropping crm_core trigger % is refused', dropped.object_identity
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'crm_core''s guard and audit triggers keep history and the audit '
                             'trail complete: only a superuser may drop them, or the tables and '
                             'partitions that carry them.',
                    HINT = 'See docs/immutability.md.';
    END IF;
    -- A dropped column of an append-only table takes its history with it.
    SELECT d.object_identity INTO dropped
      FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
     WHERE d.object_type = 'table column'
       AND crm_core._guarded_as(pg_catalog.to_regclass(
               pg_catalog.format('%I.%I', d.address_names[1], d.address_names[2]))) = 'append-only'
     ORDER BY d.object_identity
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

-- Refuses a non-superuser's rewrite of an append-only table or partition (ALTER COLUMN ... TYPE
-- ... USING), and one that rewrites column values of an audited table: a rewrite changes every
-- row without firing the row triggers.
CREATE OR REPLACE FUNCTION crm_core.guard_table_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rewritten regclass := pg_catalog.pg_event_trigger_table_rewrite_oid();
    kind text;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    kind := crm_core._guarded_as(rewritten);
    IF kind = 'append-only' THEN
        RAISE EXCEPTION 'rewriting append-only table % is refused', rewritten
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'A rewrite (ALTER COLUMN ... TYPE) changes every row without the '
                             'guards; only a superuser may do it.',
                    HINT = 'Add a new column instead; see docs/immutability.md.';
    END IF;
    -- 4: AT_REWRITE_COLUMN_REWRITE, a column's values recomputed (ALTER COLUMN ... TYPE).
    IF kind = 'audited' AND pg_catalog.pg_event_trigger_table_rewrite_reason() & 4 <> 0 THEN
        RAISE EXCEPTION 'rewriting audited table % is refused', rewritten
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'ALTER COLUMN ... TYPE recomputes every row''s value without the '
                             'audit trigger; only a superuser may do it.',
                    HINT = 'UPDATE the rows instead (each change is audited); see docs/audit.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_table_rewrite() FROM PUBLIC;

-- ---------------------------------------------------------------------------------------
-- C functions that run SQL as another role (the audit log's owner) or for a superuser's
-- maintenance: their statements run with a pinned search_path.

CREATE OR REPLACE FUNCTION crm_core._audit_retention_detach(partition regclass) RETURNS void
    AS 'MODULE_PATHNAME', 'crm_core_audit_retention_detach' LANGUAGE C STRICT
    SET search_path = pg_catalog, crm_core, pg_temp;
REVOKE EXECUTE ON FUNCTION crm_core._audit_retention_detach(regclass) FROM PUBLIC;
COMMENT ON FUNCTION crm_core._audit_retention_detach(regclass) IS
    'Detaches a partition of crm_core.audit_log for retention; callable only as the audit log''s owner.';
CREATE OR REPLACE FUNCTION crm_core._audit_month_from_default(partition_name name,
                                                              lower_bound timestamp,
                                                              upper_bound timestamp)
RETURNS void
    AS 'MODULE_PATHNAME', 'crm_core_audit_month_from_default' LANGUAGE C STRICT
    SET search_path = pg_catalog, crm_core, pg_temp;
REVOKE EXECUTE ON FUNCTION crm_core._audit_month_from_default(name, timestamp, timestamp) FROM PUBLIC;
COMMENT ON FUNCTION crm_core._audit_month_from_default(name, timestamp, timestamp) IS
    'Creates a month of crm_core.audit_log with the rows waiting for it in audit_log_default; only as the audit log''s owner.';

CREATE OR REPLACE FUNCTION crm_core.seal_ledger(entries_per_block integer DEFAULT 1000)
RETURNS TABLE (business_id bigint, blocks_sealed integer, rows_sealed bigint)
    AS 'MODULE_PATHNAME', 'crm_core_seal_ledger' LANGUAGE C STRICT VOLATILE
    -- SECURITY DEFINER: crm_core_service seals without write access to the chain's tables.
    SECURITY DEFINER SET search_path = pg_catalog, crm_core, pg_temp;
REVOKE EXECUTE ON FUNCTION crm_core.seal_ledger(integer) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.seal_ledger(integer) IS
    'Seals committed, not yet sealed posted entries (with their lines) into hash-chained blocks per business. Run by maintenance.';

CREATE OR REPLACE FUNCTION crm_core.verify_ledger(business_id bigint DEFAULT NULL,
                                                  digest text DEFAULT NULL)
RETURNS TABLE (business_id bigint, ok boolean, blocks_checked bigint, rows_checked bigint,
               broken_block bigint, broken_row_kind text, broken_row_id bigint, problem text)
    AS 'MODULE_PATHNAME', 'crm_core_verify_ledger' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, crm_core, pg_temp;
REVOKE EXECUTE ON FUNCTION crm_core.verify_ledger(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.verify_ledger(bigint, text) IS
    'Recomputes every sealed block from the rows as they are now; reports the first broken block and row per business, and every business a digest from ledger_digest() names that is gone.';

CREATE OR REPLACE FUNCTION crm_core.ledger_digest(business_id bigint DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_core_ledger_digest' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, crm_core, pg_temp;
REVOKE EXECUTE ON FUNCTION crm_core.ledger_digest(bigint) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.ledger_digest(bigint) IS
    'The last block hash of each business chain (every business and every chain found), as text to keep outside the database and pass to verify_ledger() later.';
