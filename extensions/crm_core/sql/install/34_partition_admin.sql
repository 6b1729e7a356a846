-- crm_core partitions: checks of the settings, unregistering a table, moving rows out of the
-- default partition. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

-- ---------------------------------------------------------------------------------------------
-- Public API.

-- Validates the settings shared by partition_by_time and alter_partitioning.
CREATE OR REPLACE FUNCTION crm_core._check_partitioning(every interval, premake integer, retention interval,
                                             retention_action text, archive_schema name,
                                             lock_timeout interval) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM crm_core._partition_unit(every);
    IF premake IS NULL OR premake < 0 OR premake > 1000 THEN
        RAISE EXCEPTION 'premake must be between 0 and 1000, not %', coalesce(premake::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention IS NOT NULL AND NOT retention > interval '0' THEN
        RAISE EXCEPTION 'retention must be positive, not %', retention
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL (or clear_retention => true) to keep partitions forever.';
    END IF;
    IF retention_action IS NULL OR retention_action NOT IN ('detach', 'drop', 'archive') THEN
        RAISE EXCEPTION 'retention_action must be detach, drop or archive, not %',
                        coalesce(retention_action, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (retention_action = 'archive') <> (archive_schema IS NOT NULL) THEN
        RAISE EXCEPTION 'archive_schema is required with retention_action archive, and only then'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF archive_schema IS NOT NULL AND to_regnamespace(quote_ident(archive_schema)) IS NULL THEN
        RAISE EXCEPTION 'archive schema % does not exist', archive_schema
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    IF lock_timeout IS NULL OR NOT lock_timeout > interval '0' THEN
        RAISE EXCEPTION 'lock_timeout must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- Refuses a schema where the table's owner cannot create tables: maintenance creates the
-- table's partitions (or moves retired ones to its archive schema) as that owner.
CREATE OR REPLACE FUNCTION crm_core._check_owner_may_create(parent regclass, schema_name name,
                                                 archive boolean) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    owner name := (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = parent);
BEGIN
    IF NOT (has_schema_privilege(owner, to_regnamespace(quote_ident(schema_name)), 'CREATE')
            AND has_schema_privilege(owner, to_regnamespace(quote_ident(schema_name)), 'USAGE')) THEN
        RAISE EXCEPTION '%, the owner of %, cannot create tables in %schema %', owner, parent,
                        CASE WHEN archive THEN 'archive ' ELSE '' END, schema_name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = CASE WHEN archive
                                THEN 'Retention moves old partitions there as the table''s owner.'
                                ELSE 'Maintenance creates partitions as the table''s owner.' END,
                  HINT = format('GRANT USAGE, CREATE ON SCHEMA %I TO %I;', schema_name, owner);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION crm_core.unregister_partitioning(parent regclass) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    DELETE FROM crm_core.partition_config c WHERE c.parent = parent;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION crm_core.unregister_partitioning(regclass) IS
    'Stops maintaining a table; its partitions stay as they are.';

CREATE OR REPLACE FUNCTION crm_core.move_default_rows(parent regclass)
    RETURNS SETOF crm_core.maintenance_action
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD'
AS $$
#variable_conflict use_variable
DECLARE
    cfg         crm_core.partition_config;
    default_rel regclass;
    parent_nsp  name;
    parent_name name;
    slot        record;
    moved       bigint;
    next_from   timestamp := '-infinity';
    slot_start  bigint;
    result      crm_core.maintenance_action;
BEGIN
    SELECT * INTO cfg FROM crm_core.partition_config c WHERE c.parent = parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not registered for partition maintenance', parent
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it with crm_core.partition_by_time().';
    END IF;
    SELECT b.relid INTO default_rel FROM crm_core._partition_bounds(parent) b WHERE b.is_default;
    IF default_rel IS NULL THEN
        RETURN;
    END IF;
    SELECT n.nspname, c.relname INTO parent_nsp, parent_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    -- Writers that would route rows to the default partition wait (lock_timeout bounded)
    -- while rows move; rows are deleted and inserted in one statement: none lost or doubled.
    -- The default partition is read and emptied as its owner.
    PERFORM set_config('lock_timeout', crm_core._lock_timeout_setting(cfg.lock_timeout), true);
    PERFORM crm_core._execute_as_owner(default_rel, format('LOCK TABLE ONLY %s IN EXCLUSIVE MODE',
                                                           default_rel));
    -- One slot at a time, from the oldest: the first slot holding a row at or after next_from
    -- (microseconds since 1970; rows with a NULL or infinite key stay).
    LOOP
        slot_start := crm_core._select_as_owner(default_rel, format(
            'SELECT (extract(epoch FROM min(date_trunc(%L, %I::timestamp))) * 1000000)::bigint '
            'FROM ONLY %s WHERE %I::timestamp >= %L AND %I::timestamp < ''infinity''',
            crm_core._partition_unit(cfg.partition_interval), cfg.control_column, default_rel,
            cfg.control_column, next_from, cfg.control_column));
        EXIT WHEN slot_start IS NULL;
        SELECT s.* INTO slot
        FROM crm_core._partition_slot(parent_name, cfg.partition_interval,
                                      to_timestamp(slot_start / 1000000.0) AT TIME ZONE 'UTC') s;
        next_from := slot.upper_bound;
        result := (parent, 'moved', slot.partition_name, NULL);
        IF EXISTS (SELECT FROM crm_core._partition_bounds(parent) b
                   WHERE NOT b.is_default AND b.lower_bound < slot.upper_bound
                     AND slot.lower_bound < b.upper_bound)
           OR to_regclass(format('%I.%I', parent_nsp, slot.partition_name)) IS NOT NULL THEN
            result.action := 'deferred';
            result.detail := format('rows for [%s, %s) stay in the default partition: another table '
                             'overlaps that range or has that name', slot.lower_bound,
                             slot.upper_bound);
        ELSE
            moved := crm_core._create_partition(parent, parent_nsp, slot.partition_name,
                                                cfg.control_column, slot.lower_bound,
                                                slot.upper_bound, default_rel);
            result.detail := format('%s rows moved from %s into [%s, %s) UTC', moved, default_rel,
                             slot.lower_bound, slot.upper_bound);
        END IF;
        PERFORM crm_core._log_partition_action(parent, result.action, result.partition_name,
                                               result.detail);
        RETURN NEXT result;
    END LOOP;
END
$$;
COMMENT ON FUNCTION crm_core.move_default_rows(regclass) IS
    'Moves rows out of the default partition into new partitions of their own ranges, in one '
    'transaction (nothing lost, nothing doubled). Rows with a NULL key stay.';
