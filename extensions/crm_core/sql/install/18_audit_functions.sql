-- crm_core audit trail: the functions that audit a table (its triggers, registration) and the C
-- functions that run SQL as the audit log's owner. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.
-- The audit log and its trigger function: 22_audit_log.sql; its partitions: 91_audit_partitions.sql.

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

-- Stops auditing relation: drops its audit trigger and the TRUNCATE guards of it and its
-- partitions, and its registration. What the log holds stays. A superuser's decision (the
-- guards refuse anyone else's drop of an audit trigger): e.g. before crm_core.distribute(),
-- which cannot place an audited table on a Citus cluster (docs/scale-out.md).
CREATE OR REPLACE FUNCTION crm_core.unaudit_table(relation regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    member regclass;
BEGIN
    -- (current_user: the caller, since this function is not SECURITY DEFINER)
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r
             WHERE r.rolname OPERATOR(pg_catalog.=) current_user) THEN
        RAISE EXCEPTION 'only a superuser may stop auditing table %', relation
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'The audit trail of a table ends only by a superuser''s decision.';
    END IF;
    DELETE FROM crm_core.audited_table AS a WHERE a.relid OPERATOR(pg_catalog.=) relation;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not audited', relation
              USING ERRCODE = 'undefined_object',
                    HINT = 'See crm_core.audited_table for registered tables.';
    END IF;
    IF crm_core._has_guard(relation, 'crm_core_audit') THEN
        EXECUTE format('DROP TRIGGER crm_core_audit ON %s', relation);  -- and its clones
    END IF;
    FOR member IN SELECT t.relid FROM crm_core.relation_tree(relation) AS t ORDER BY t.level LOOP
        IF crm_core._has_guard(member, 'crm_core_audit_truncate') THEN
            EXECUTE format('DROP TRIGGER crm_core_audit_truncate ON %s', member);
        END IF;
    END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.unaudit_table(regclass) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.unaudit_table(regclass) IS
    'Stops auditing a table (superuser): drops its audit triggers and registration; the logged rows stay.';

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
