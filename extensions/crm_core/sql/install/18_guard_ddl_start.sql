-- crm_core guards at ddl_command_start: the refusals before a statement runs. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.
-- The event trigger that calls them: 90_integration.sql.

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

-- DROP INDEX [CONCURRENTLY] index: the unique indexes that carry a ledger rule
-- (crm_core._ledger_rule_indexes(), 21_ledger_shape.sql) are dropped only by a superuser.
-- Refused before the statement runs: DROP INDEX CONCURRENTLY commits the index's invalidation
-- before sql_drop fires, so a later refusal would leave the rule unenforced.
CREATE OR REPLACE FUNCTION crm_core._guard_drop_index(index regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF crm_core.invoked_by_superuser()
       OR NOT (index::text = ANY (crm_core._ledger_rule_indexes())) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'dropping % is refused', index
          USING ERRCODE = 'insufficient_privilege',
                DETAIL = 'The ledger tables'' triggers, constraints, rules, columns and unique '
                         'indexes keep the ledger balanced; only a superuser may drop them.',
                HINT = 'See docs/immutability.md.';
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._guard_drop_index(regclass) FROM PUBLIC;
