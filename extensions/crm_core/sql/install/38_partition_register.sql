-- crm_core partitions: the registration API (partition_by_time, alter_partitioning). Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

CREATE OR REPLACE FUNCTION crm_core.partition_by_time(parent regclass, control_column name, every interval,
                                           premake integer, retention interval DEFAULT NULL,
                                           retention_action text DEFAULT 'detach',
                                           archive_schema name DEFAULT NULL,
                                           lock_timeout interval DEFAULT interval '100 milliseconds',
                                           default_partition boolean DEFAULT false,
                                           detach_concurrently boolean DEFAULT false)
    RETURNS SETOF crm_core.maintenance_action
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    rel       pg_class%ROWTYPE;
    strategy  "char";
    key_count int2;
    key_attnum int2;
    key_name  name;
    key_type  regtype;
BEGIN
    IF parent IS NULL OR control_column IS NULL OR every IS NULL OR premake IS NULL THEN
        RAISE EXCEPTION 'parent, control_column, every and premake are required'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO rel FROM pg_class WHERE oid = parent;
    IF rel.relkind = 'r' THEN
        RAISE EXCEPTION 'table % is not partitioned', parent
            USING ERRCODE = 'wrong_object_type',
                  HINT = format('Create it with PARTITION BY RANGE (%I).', control_column);
    ELSIF rel.relkind <> 'p' THEN
        RAISE EXCEPTION '% is not a table', parent USING ERRCODE = 'wrong_object_type';
    END IF;
    IF NOT pg_has_role(rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must own table % to partition it', parent
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT partstrat, partnatts, partattrs[0] INTO strategy, key_count, key_attnum
    FROM pg_partitioned_table WHERE partrelid = parent;
    IF strategy <> 'r' THEN
        RAISE EXCEPTION 'table % is partitioned by %, not by RANGE', parent,
                        CASE strategy WHEN 'l' THEN 'LIST' ELSE 'HASH' END
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'crm_core manages time-range partitions only.';
    END IF;
    IF key_count <> 1 OR key_attnum = 0 THEN
        RAISE EXCEPTION 'the partition key of % is not a single column', parent
            USING ERRCODE = 'feature_not_supported';
    END IF;
    SELECT attname, atttypid INTO key_name, key_type FROM pg_attribute
    WHERE attrelid = parent AND attnum = key_attnum;
    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = parent AND attname = control_column
                   AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column % of table % does not exist', control_column, parent
            USING ERRCODE = 'undefined_column';
    END IF;
    IF key_name <> control_column THEN
        RAISE EXCEPTION 'column % is not the partition key of %', control_column, parent
            USING ERRCODE = 'invalid_column_reference',
                  DETAIL = format('The table is partitioned by RANGE (%I).', key_name);
    END IF;
    IF key_type NOT IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) THEN
        RAISE EXCEPTION 'partition key %.% is of type %, not a date or timestamp',
                        parent, control_column, key_type
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF EXISTS (SELECT FROM crm_core.partition_config c WHERE c.parent = parent) THEN
        RAISE EXCEPTION 'table % is already registered for partition maintenance', parent
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Use crm_core.alter_partitioning() to change it.';
    END IF;
    PERFORM crm_core._check_partitioning(every, premake, retention, retention_action,
                                         archive_schema, lock_timeout);
    PERFORM crm_core._check_concurrent_detach(parent, detach_concurrently, default_partition);
    PERFORM crm_core._check_owner_may_create(parent, (SELECT nspname FROM pg_namespace
                                                      WHERE oid = rel.relnamespace), false);
    IF retention_action = 'archive' THEN
        PERFORM crm_core._check_owner_may_create(parent, archive_schema, true);
    END IF;

    INSERT INTO crm_core.partition_config AS c (parent, control_column, partition_interval, premake,
                                           retention, retention_action, archive_schema,
                                           lock_timeout, detach_concurrently)
    VALUES (parent, control_column, every, premake, retention, retention_action,
            archive_schema, lock_timeout, detach_concurrently);

    IF default_partition AND NOT EXISTS (SELECT FROM pg_partitioned_table
                                         WHERE partrelid = parent AND partdefid <> 0) THEN
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT',
                       (SELECT nspname FROM pg_namespace WHERE oid = rel.relnamespace),
                       crm_core._partition_identifier(rel.relname, '_default'), parent);
    END IF;
    RETURN QUERY SELECT * FROM crm_core.run_maintenance(false, parent);
END
$$;
COMMENT ON FUNCTION crm_core.partition_by_time(regclass, name, interval, integer, interval, text, name, interval, boolean, boolean) IS
    'Registers a RANGE-partitioned table for maintenance by time (day, week, month, quarter or year '
    'in UTC) and creates its first partitions.';

CREATE OR REPLACE FUNCTION crm_core.alter_partitioning(parent regclass, premake integer DEFAULT NULL,
                                            retention interval DEFAULT NULL,
                                            retention_action text DEFAULT NULL,
                                            archive_schema name DEFAULT NULL,
                                            lock_timeout interval DEFAULT NULL,
                                            clear_retention boolean DEFAULT false,
                                            detach_concurrently boolean DEFAULT NULL)
    RETURNS crm_core.partition_config
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cfg crm_core.partition_config;
BEGIN
    SELECT * INTO cfg FROM crm_core.partition_config c WHERE c.parent = parent FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not registered for partition maintenance', parent
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it with crm_core.partition_by_time().';
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = parent), 'USAGE') THEN
        RAISE EXCEPTION 'must own table % to change its partitioning', parent
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF clear_retention AND retention IS NOT NULL THEN
        RAISE EXCEPTION 'pass either retention or clear_retention, not both'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cfg.premake := coalesce(premake, cfg.premake);
    cfg.retention := CASE WHEN clear_retention THEN NULL ELSE coalesce(retention, cfg.retention) END;
    cfg.retention_action := coalesce(retention_action, cfg.retention_action);
    cfg.archive_schema := CASE WHEN cfg.retention_action = 'archive'
                               THEN coalesce(archive_schema, cfg.archive_schema) END;
    cfg.lock_timeout := coalesce(lock_timeout, cfg.lock_timeout);
    cfg.detach_concurrently := coalesce(detach_concurrently, cfg.detach_concurrently);
    PERFORM crm_core._check_partitioning(cfg.partition_interval, cfg.premake, cfg.retention,
                                         cfg.retention_action, cfg.archive_schema,
                                         cfg.lock_timeout);
    PERFORM crm_core._check_concurrent_detach(parent, cfg.detach_concurrently, false);
    IF cfg.retention_action = 'archive' THEN
        PERFORM crm_core._check_owner_may_create(parent, cfg.archive_schema, true);
    END IF;
    UPDATE crm_core.partition_config c
    SET premake = cfg.premake, retention = cfg.retention, retention_action = cfg.retention_action,
        archive_schema = cfg.archive_schema, lock_timeout = cfg.lock_timeout,
        detach_concurrently = cfg.detach_concurrently
    WHERE c.parent = parent;
    RETURN cfg;
END
$$;
COMMENT ON FUNCTION crm_core.alter_partitioning(regclass, integer, interval, text, name, interval, boolean, boolean) IS
    'Changes a registration; NULL keeps a setting, clear_retention => true keeps partitions forever.';

-- The retirements due on tables registered with detach_concurrently, as top-level statements to
-- run in this order, each on its own (not in a transaction block, not in a function):
--   SET lock_timeout ...; ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (FINALIZE when an
--   earlier one was interrupted); SELECT * FROM crm_core.finish_retirement(...)
-- crm-core-service runs them before run_maintenance(); from psql:
--   SELECT * FROM crm_core.concurrent_retirements() \gexec
-- A concurrent detach takes SHARE UPDATE EXCLUSIVE on the parent, so readers and writers of the
-- parent carry on while it waits for the transactions that use the partition.
