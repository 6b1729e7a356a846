-- crm_core partitions: retention (retiring a partition). Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.
-- (Functions whose signature changed are dropped in the upgrade script first.)

-- What retention does with a partition once it is detached: drop it, move it to the archive
-- schema, or keep it, as the partition's owner; returns the log detail ("<how> and dropped" ...).
CREATE OR REPLACE FUNCTION crm_core._dispose_retired(cfg crm_core.partition_config,
                                                     victim regclass, how text)
    RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE cfg.retention_action
        WHEN 'drop' THEN
            PERFORM crm_core._execute_as_owner(victim, format('DROP TABLE %s', victim));
            RETURN how || ' and dropped';
        WHEN 'archive' THEN
            PERFORM crm_core._execute_as_owner(victim, format('ALTER TABLE %s SET SCHEMA %I',
                                                              victim, cfg.archive_schema));
            RETURN format('%s and moved to schema %I', how, cfg.archive_schema);
        ELSE
            RETURN how || '; the table is kept';
    END CASE;
END
$$;

-- Retires one partition as its table is configured: detach (as the parent's owner), then drop
-- or move to the archive schema (as the partition's owner). Plain DETACH (not CONCURRENTLY: a function runs inside a transaction block) under
-- lock_timeout: writers wait at most that long, and a timeout defers to the next run. A partition
-- left pending by an interrupted DETACH ... CONCURRENTLY is finished with FINALIZE, which takes
-- only SHARE UPDATE EXCLUSIVE on the parent.
CREATE OR REPLACE FUNCTION crm_core._retire_partition(cfg crm_core.partition_config, partition_name text)
    RETURNS TABLE(r_parent regclass, r_action text, r_partition text, r_detail text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    victim regclass;
BEGIN
    r_parent := cfg.parent;
    r_partition := partition_name;
    SELECT b.relid::regclass INTO victim FROM crm_core._partition_bounds(cfg.parent) b
    WHERE b.table_name = partition_name;
    BEGIN
        PERFORM set_config('lock_timeout', crm_core._lock_timeout_setting(cfg.lock_timeout), true);
        IF cfg.parent = 'crm_core.audit_log'::regclass THEN
            -- Guarded evidence: only crm_core's SECURITY DEFINER path may detach it (91_audit_partitions.sql).
            PERFORM crm_core._retire_audit_partition(victim);
        ELSE
            PERFORM crm_core._execute_as_owner(cfg.parent, format(
                'ALTER TABLE %s DETACH PARTITION %s%s', cfg.parent, victim,
                CASE WHEN EXISTS (SELECT FROM pg_inherits
                                  WHERE inhrelid = victim AND inhdetachpending)
                     THEN ' FINALIZE' ELSE '' END));
        END IF;
        r_detail := crm_core._dispose_retired(cfg, victim, 'detached');
        r_action := 'retired';
    EXCEPTION WHEN OTHERS THEN
        SELECT f.action, f.detail INTO r_action, r_detail
        FROM crm_core._failed_step(SQLSTATE, SQLERRM, cfg.lock_timeout) f;
    END;
    PERFORM crm_core._log_partition_action(cfg.parent, r_action, r_partition, r_detail);
    RETURN NEXT;
END
$$;


-- Refuses detach_concurrently for a table that has (or will get) a default partition:
-- PostgreSQL cannot detach concurrently then.
CREATE OR REPLACE FUNCTION crm_core._check_concurrent_detach(parent regclass,
                                                             detach_concurrently boolean,
                                                             default_partition boolean)
    RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF detach_concurrently IS NULL THEN
        RAISE EXCEPTION 'detach_concurrently must be true or false' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF detach_concurrently
       AND (default_partition OR EXISTS (SELECT FROM pg_partitioned_table
                                          WHERE partrelid = parent AND partdefid <> 0)) THEN
        RAISE EXCEPTION 'table % cannot retire partitions concurrently: it has a default partition', parent
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'PostgreSQL cannot DETACH PARTITION ... CONCURRENTLY while a default '
                         'partition exists; drop it first, or keep detach_concurrently false.';
    END IF;
END
$$;
