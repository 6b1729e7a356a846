-- crm_core append-only tables: the row and TRUNCATE guard, the registry of append-only tables and
-- make_append_only(). The functions that put the guards on tables: 17_guard_registry.sql.

-- ---------------------------------------------------------------------------------------
-- Append-only guards

CREATE FUNCTION crm_core.append_only_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_append_only_guard' LANGUAGE C;
-- Executable by PUBLIC: PostgreSQL checks EXECUTE when it clones the row guard onto a
-- partition that the table's owner creates.
COMMENT ON FUNCTION crm_core.append_only_guard() IS
    'Trigger: refuses UPDATE, DELETE (row) and TRUNCATE (statement) on append-only tables.';

CREATE FUNCTION crm_core.invoked_by_superuser() RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_invoked_by_superuser' LANGUAGE C STABLE;
REVOKE EXECUTE ON FUNCTION crm_core.invoked_by_superuser() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.invoked_by_superuser() IS
    'Whether the role running the statement (after SET ROLE, before SECURITY DEFINER) is a superuser.';

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
REVOKE EXECUTE ON FUNCTION crm_core.relation_tree(regclass) FROM PUBLIC;

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
