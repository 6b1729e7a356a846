-- crm_core tenant isolation: isolating a table (row-level security, the tenant guard, its
-- partitions). New in 0.2.0: the upgrade script includes it. See docs/tenants.md.

-- ---------------------------------------------------------------------------------------
-- Isolating a table

-- Refuses writes without a business, rows of another business and TRUNCATE (see tenant.cpp).
CREATE FUNCTION crm_core.tenant_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_tenant_guard' LANGUAGE C;
-- Table owners isolating their tables create triggers on it.
GRANT EXECUTE ON FUNCTION crm_core.tenant_guard() TO PUBLIC;
COMMENT ON FUNCTION crm_core.tenant_guard() IS
    'Trigger of isolated tables: refuses writes without a current business, rows of another business, and TRUNCATE.';

-- Raises what makes relation unfit for isolation by key_column: not a table, or no integer
-- key_column. (The caller must own it: ALTER TABLE and CREATE POLICY refuse anyone else.)
CREATE FUNCTION crm_core._check_tenant_table(relation regclass, key_column name) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind "char";
    key_type regtype;
BEGIN
    IF relation IS NULL THEN
        RAISE EXCEPTION 'relation must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class AS c WHERE c.oid = relation;
    IF kind IS NULL OR kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', relation
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Only ordinary and partitioned tables are isolated by business.';
    END IF;
    SELECT a.atttypid INTO key_type FROM pg_catalog.pg_attribute AS a
     WHERE a.attrelid = relation AND a.attname = key_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF key_type IS NULL THEN
        RAISE EXCEPTION 'table % has no % column', relation, key_column
            USING ERRCODE = 'undefined_column',
                  HINT = 'Isolated tables name their business in an integer column business_id.';
    END IF;
    IF key_type NOT IN ('bigint'::regtype, 'integer'::regtype, 'smallint'::regtype) THEN
        RAISE EXCEPTION 'column %.% is %, not an integer business id', relation, key_column, key_type
            USING ERRCODE = 'datatype_mismatch';
    END IF;
END;
$$;

-- Isolates a table by its business column: row-level security (forced, so the owner is
-- isolated too) with a policy for every role showing and accepting only the current business's
-- rows, one showing every row to crm_core_service, and (write_guards) the guard triggers, which
-- refuse with a clear message before any other trigger runs; without them the policy still
-- refuses, with PostgreSQL's message. Idempotent.
CREATE FUNCTION crm_core._apply_tenant_isolation(relation regclass, key_column name,
                                                 write_guards boolean)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM crm_core._check_tenant_table(relation, key_column);
    -- A plain STABLE call: an index condition evaluates it once per scan, and a row filter
    -- costs a cached lookup (a sub-select would cost an InitPlan in every statement).
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_policy
                    WHERE polrelid = relation AND polname = 'crm_core_tenant') THEN
        EXECUTE format('CREATE POLICY crm_core_tenant ON %s USING (%I = crm_core.current_business())',
                       relation, key_column);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_policy
                    WHERE polrelid = relation AND polname = 'crm_core_global_view') THEN
        EXECUTE format('CREATE POLICY crm_core_global_view ON %s TO crm_core_service USING (true)',
                       relation);
    END IF;
    IF write_guards THEN
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                        WHERE tgrelid = relation AND tgname = '_crm_core_tenant_statement') THEN
            -- INSERT is refused row by row (no business: no row is accepted).
            EXECUTE format('CREATE TRIGGER _crm_core_tenant_statement '
                           'BEFORE UPDATE OR DELETE OR TRUNCATE ON %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION crm_core.tenant_guard()', relation);
        END IF;
        -- "_crm_core..." sorts before lower-case trigger names: PostgreSQL fires BEFORE triggers
        -- in name order, so no other trigger reads anything for a row of another business.
        -- Partitions get it from their parent (PostgreSQL clones row triggers).
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                        WHERE tgrelid = relation AND tgname = '_crm_core_tenant_row') THEN
            EXECUTE format('CREATE TRIGGER _crm_core_tenant_row BEFORE INSERT OR UPDATE ON %s '
                           'FOR EACH ROW EXECUTE FUNCTION crm_core.tenant_guard(%L)',
                           relation, key_column);
        END IF;
    END IF;
    -- After the policies. This ALTER TABLE fires tenant_partitions_ddl(), which isolates the
    -- partitions below, as it does for partitions created or attached later (a partition read
    -- directly shows its own policies, not its parent's).
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', relation);
END;
$$;
GRANT EXECUTE ON FUNCTION crm_core._check_tenant_table(regclass, name),
    crm_core._apply_tenant_isolation(regclass, name, boolean) TO PUBLIC;

-- A partition created under, or attached to, an isolated table is isolated like it, by the
-- role that ran the command (it owns the partition: PostgreSQL requires it); so are the
-- partitions already there when a table is isolated. (Event triggers do not fire in
-- single-user mode: isolate partitioned tables in a normal session.)
CREATE FUNCTION crm_core.tenant_partitions_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    member record;
BEGIN
    FOR member IN
        SELECT DISTINCT tree.relid AS partition, isolated.parent,
               coalesce((SELECT pg_catalog.encode(g.tgargs, 'escape') FROM pg_catalog.pg_trigger AS g
                          WHERE g.tgrelid = isolated.parent AND g.tgname = '_crm_core_tenant_row'),
                        'business_id') AS key_with_nul,
               EXISTS (SELECT FROM pg_catalog.pg_trigger AS g
                        WHERE g.tgrelid = isolated.parent
                          AND g.tgname = '_crm_core_tenant_statement') AS write_guards
          FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd
          JOIN pg_catalog.pg_class AS c ON c.oid = cmd.objid
         CROSS JOIN LATERAL pg_catalog.pg_partition_tree(c.oid) AS tree
          JOIN pg_catalog.pg_class AS member_class ON member_class.oid = tree.relid
         CROSS JOIN LATERAL (SELECT a.relid AS parent  -- the nearest isolated ancestor
                               FROM pg_catalog.pg_partition_ancestors(tree.relid)
                                    WITH ORDINALITY AS a (relid, depth)
                              WHERE a.relid <> tree.relid
                                AND EXISTS (SELECT FROM pg_catalog.pg_policy AS p
                                             WHERE p.polrelid = a.relid AND p.polname = 'crm_core_tenant')
                              ORDER BY a.depth
                              LIMIT 1) AS isolated
         WHERE cmd.classid = 'pg_catalog.pg_class'::regclass AND c.relkind IN ('r', 'p')
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy AS p
                            WHERE p.polrelid = tree.relid AND p.polname = 'crm_core_tenant')
           -- Row security already set up by the partition's owner, or by a restore: pg_dump
           -- restores a partition's FORCE before attaching it, its ENABLE and policies after.
           AND NOT member_class.relrowsecurity AND NOT member_class.relforcerowsecurity
    LOOP
        -- tgargs holds the key column followed by a NUL byte.
        PERFORM crm_core._apply_tenant_isolation(
            member.partition, pg_catalog.split_part(member.key_with_nul, '\000', 1),
            member.write_guards);
    END LOOP;
END;
$$;
-- PostgreSQL checks no EXECUTE privilege when it fires an event trigger.
REVOKE EXECUTE ON FUNCTION crm_core.tenant_partitions_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER crm_core_tenant_partitions ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION crm_core.tenant_partitions_ddl();

CREATE FUNCTION crm_core.enable_tenant_isolation(relation regclass) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog, pg_temp
    RETURN crm_core._apply_tenant_isolation(relation, 'business_id', true);
GRANT EXECUTE ON FUNCTION crm_core.enable_tenant_isolation(regclass) TO PUBLIC;
COMMENT ON FUNCTION crm_core.enable_tenant_isolation(regclass) IS
    'Makes a table (keyed by business_id) show and accept only the current business''s rows, as crm_core''s own tables; run as its owner. Idempotent.';

-- Undoes enable_tenant_isolation() on a table and its partitions; row-level security stays on
-- where other policies remain. crm_core's own tables stay isolated.
CREATE FUNCTION crm_core.disable_tenant_isolation(relation regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    member regclass;
    ours text;
BEGIN
    PERFORM crm_core._check_tenant_table(relation, 'business_id');
    IF EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = relation
                  AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
                  AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension AS e
                                     WHERE e.extname = 'crm_core')) THEN
        RAISE EXCEPTION '% is a table of crm_core: it stays isolated', relation
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Roles that need every business: see docs/tenants.md, "Who sees every business".';
    END IF;
    -- The table first: dropping its row trigger drops the partitions' clones.
    FOR member IN SELECT relation
                  UNION ALL  -- pg_partition_tree() is empty for a table that is not partitioned
                  (SELECT t.relid FROM pg_catalog.pg_partition_tree(relation) AS t
                    WHERE t.relid <> relation ORDER BY t.level) LOOP
        FOR ours IN SELECT format('DROP POLICY %I ON %s', p.polname, member)
                      FROM pg_catalog.pg_policy AS p
                     WHERE p.polrelid = member
                       AND p.polname IN ('crm_core_tenant', 'crm_core_global_view')
                    UNION ALL
                    SELECT format('DROP TRIGGER %I ON %s', g.tgname, member)
                      FROM pg_catalog.pg_trigger AS g
                     WHERE g.tgrelid = member AND g.tgparentid = 0
                       AND g.tgname IN ('_crm_core_tenant_statement', '_crm_core_tenant_row') LOOP
            EXECUTE ours;
        END LOOP;
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_policy WHERE polrelid = member) THEN
            EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY',
                           member);
        END IF;
    END LOOP;
END;
$$;
GRANT EXECUTE ON FUNCTION crm_core.disable_tenant_isolation(regclass) TO PUBLIC;
COMMENT ON FUNCTION crm_core.disable_tenant_isolation(regclass) IS
    'Undoes crm_core.enable_tenant_isolation() on a table (run as its owner); crm_core''s own tables stay isolated.';
