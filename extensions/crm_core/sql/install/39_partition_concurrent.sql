-- crm_core partitions: retirement by DETACH PARTITION ... CONCURRENTLY, and the grants on every
-- function of 36-39. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

CREATE OR REPLACE FUNCTION crm_core.concurrent_retirements()
    RETURNS TABLE(set_lock_timeout text, detach text, finish text)
    -- SECURITY DEFINER: crm_core_service reads the registrations through it.
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('SET lock_timeout = %L', crm_core._lock_timeout_setting(c.lock_timeout)),
           format('ALTER TABLE %I.%I DETACH PARTITION %I.%I %s', pn.nspname, r.relname,
                  b.schema_name, b.table_name,
                  CASE WHEN i.inhdetachpending THEN 'FINALIZE' ELSE 'CONCURRENTLY' END),
           format('SELECT * FROM crm_core.finish_retirement(%L, %L)',
                  format('%I.%I', pn.nspname, r.relname), format('%I.%I', b.schema_name, b.table_name))
    FROM crm_core.partition_config c
    JOIN pg_class r ON r.oid = c.parent
    JOIN pg_namespace pn ON pn.oid = r.relnamespace
    CROSS JOIN LATERAL (SELECT array_agg(x.table_name::text) AS names,
                               array_agg(x.lower_bound) AS lowers,
                               array_agg(x.upper_bound) AS uppers
                        FROM crm_core._partition_bounds(c.parent) x
                        WHERE NOT x.is_default) e
    CROSS JOIN LATERAL crm_core._partition_plan(r.relname, c.partition_interval, c.premake,
                                                c.retention, now(), coalesce(e.names, '{}'),
                                                coalesce(e.lowers, '{}'),
                                                coalesce(e.uppers, '{}')) s
    JOIN crm_core._partition_bounds(c.parent) b ON NOT b.is_default AND b.table_name = s.partition_name
    JOIN pg_inherits i ON i.inhrelid = b.relid AND i.inhparent = c.parent
    WHERE c.detach_concurrently AND s.action = 'retire'
      AND NOT EXISTS (SELECT FROM pg_partitioned_table t
                      WHERE t.partrelid = c.parent AND t.partdefid <> 0)
    ORDER BY c.parent::oid, s.lower_bound
$$;
COMMENT ON FUNCTION crm_core.concurrent_retirements() IS
    'Statements that retire partitions concurrently (detach_concurrently tables); run each as a '
    'top-level statement, e.g. SELECT * FROM crm_core.concurrent_retirements() \gexec in psql.';

-- Finishes a retirement after ALTER TABLE parent DETACH PARTITION partition CONCURRENTLY: drops
-- or archives the detached table as configured and logs it; when the partition is still
-- attached (the detach timed out or failed) logs that it is deferred to the next run.
CREATE OR REPLACE FUNCTION crm_core.finish_retirement(parent regclass, partition regclass)
    RETURNS SETOF crm_core.maintenance_action
    -- SECURITY DEFINER: crm_core_service runs it; the partition is dropped or archived as its
    -- owner (crm_core._dispose_retired).
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cfg    crm_core.partition_config;
    rel    pg_class%ROWTYPE;
    result crm_core.maintenance_action;
BEGIN
    SELECT * INTO cfg FROM crm_core.partition_config c WHERE c.parent = parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not registered for partition maintenance', parent
            USING ERRCODE = 'undefined_object';
    END IF;
    SELECT * INTO rel FROM pg_class WHERE oid = partition;
    result := (parent, NULL, rel.relname, NULL);
    IF EXISTS (SELECT FROM pg_inherits WHERE inhrelid = partition AND inhparent = parent) THEN
        result.action := 'deferred';
        result.detail := CASE WHEN EXISTS (SELECT FROM pg_inherits
                                           WHERE inhrelid = partition AND inhdetachpending)
                              THEN 'the concurrent detach was interrupted (lock_timeout?); it is '
                                   'finished (FINALIZE) at the next run'
                              ELSE 'the concurrent detach did not happen (lock_timeout?); retried '
                                   'at the next run' END;
    ELSIF rel.relispartition
          OR rel.relnamespace <> (SELECT p.relnamespace FROM pg_class p WHERE p.oid = parent) THEN
        RAISE EXCEPTION '% is not a partition detached from %', partition, parent
            USING ERRCODE = 'invalid_parameter_value';
    ELSE
        BEGIN
            PERFORM set_config('lock_timeout', crm_core._lock_timeout_setting(cfg.lock_timeout), true);
            result.detail := crm_core._dispose_retired(cfg, partition, 'detached concurrently');
            result.action := 'retired';
        EXCEPTION WHEN OTHERS THEN
            SELECT f.action, f.detail INTO result.action, result.detail
            FROM crm_core._failed_step(SQLSTATE, SQLERRM, cfg.lock_timeout) f;
        END;
    END IF;
    PERFORM crm_core._log_partition_action(parent, result.action, result.partition_name,
                                           result.detail);
    RETURN NEXT result;
END
$$;
COMMENT ON FUNCTION crm_core.finish_retirement(regclass, regclass) IS
    'After DETACH PARTITION ... CONCURRENTLY: drops or archives the detached partition as '
    'configured and logs the retirement (deferred when it is still attached).';

REVOKE ALL ON FUNCTION
    crm_core._dispose_retired(crm_core.partition_config, regclass, text),
    crm_core._retire_partition(crm_core.partition_config, text),
    crm_core._check_concurrent_detach(regclass, boolean, boolean),
    crm_core.run_maintenance(boolean, regclass, integer),
    crm_core.partition_by_time(regclass, name, interval, integer, interval, text, name, interval, boolean, boolean),
    crm_core.alter_partitioning(regclass, integer, interval, text, name, interval, boolean, boolean),
    crm_core.concurrent_retirements(),
    crm_core.finish_retirement(regclass, regclass)
FROM PUBLIC;
