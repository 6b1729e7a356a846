-- crm_core guards: which triggers are crm_core's, and the functions that put the append-only
-- triggers on tables (20_append_only.sql and 23_ledger_history.sql call them). Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.
-- PL/pgSQL bodies name tables made in later parts; they run after install. The guards' DDL
-- event-trigger functions: 18_guard_ddl_start.sql, 19_guard_ddl_end.sql; audit: 18_audit_functions.sql.
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
                   ('crm_core.ledger_guard()', 'crm_core_guard_replica_insert', 'append-only'),
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
