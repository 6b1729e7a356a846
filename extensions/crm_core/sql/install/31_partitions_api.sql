-- crm_core partitions: retention and the public registration API. Only CREATE OR REPLACE,
-- COMMENT and REVOKE statements: the upgrade script includes this part whole (functions whose
-- signature changed are dropped there first). Tables: 30_partitions.sql; the planner and the
-- maintenance of one table: 31_partition_maintenance.sql.

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
            -- Guarded evidence: only crm_core's SECURITY DEFINER path may detach it (90_integration.sql).
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

CREATE OR REPLACE FUNCTION crm_core.run_maintenance(refresh_matviews boolean DEFAULT true,
                                         only_parent regclass DEFAULT NULL,
                                         max_new_partitions integer DEFAULT 64)
    RETURNS TABLE(parent regclass, action text, partition_name text, detail text)
    -- SECURITY DEFINER: crm_core_service runs it without owning anyone's tables; every
    -- statement on a table runs as that table's owner (crm_core._execute_as_owner).
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cfg       crm_core.partition_config;
    todo      record;
    step      record;
    tables    crm_core.partition_config[] := '{}';  -- in the order they are maintained
    backfills boolean[] := '{}';                    -- which pass each entry of tables is
    later     crm_core.partition_config[] := '{}';  -- with gaps in the past (second pass)
    now_utc   timestamp := now() AT TIME ZONE 'UTC';
    budget    integer := max_new_partitions;
    retire    text[] := '{}';
    parents   regclass[] := '{}';
    timed_out regclass[] := '{}';
    skipped   regclass[] := '{}';  -- deferred whole or unregistered in the first pass
    backlog   regclass[] := '{}';
    left_over bigint[] := '{}';
BEGIN
    IF max_new_partitions IS NULL OR max_new_partitions < 1 OR max_new_partitions > 10000 THEN
        RAISE EXCEPTION 'max_new_partitions must be between 1 and 10000, not %',
                        coalesce(max_new_partitions::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Each new partition holds a few locks until commit; the default, 64, '
                         'stays well inside max_locks_per_transaction.';
    END IF;
    -- First the current and premade partitions of every table, then the gaps in the past with
    -- what is left of the budget: a backlog never keeps another table from its next partition,
    -- and one run never holds the locks of hundreds of new tables. One query plans every table
    -- and says which pass has work for it; a table with none takes no lock.
    FOR todo IN
        SELECT c AS cfg, w.ahead, w.backfill
        FROM crm_core.partition_config c
        LEFT JOIN pg_class r ON r.oid = c.parent
        CROSS JOIN LATERAL (
            SELECT r.oid IS NULL OR coalesce(bool_or(p.action = 'retire' OR p.upper_bound > now_utc),
                                             false) AS ahead,
                   coalesce(bool_or(p.action = 'create' AND p.upper_bound <= now_utc), false)
                       AS backfill
            FROM (SELECT array_agg(b.table_name::text) AS names,
                         array_agg(b.lower_bound) AS lowers,
                         array_agg(b.upper_bound) AS uppers
                  FROM crm_core._partition_bounds(c.parent) b
                  WHERE NOT b.is_default) e
            CROSS JOIN LATERAL crm_core._partition_plan(
                r.relname, c.partition_interval, c.premake, c.retention, now(),
                coalesce(e.names, '{}'), coalesce(e.lowers, '{}'), coalesce(e.uppers, '{}')) p
            WHERE r.oid IS NOT NULL) w
        WHERE (only_parent IS NULL OR c.parent = only_parent) AND (w.ahead OR w.backfill)
        ORDER BY c.parent::oid
    LOOP
        IF todo.ahead THEN
            tables := tables || todo.cfg;
            backfills := backfills || false;
        END IF;
        IF todo.backfill THEN
            later := later || todo.cfg;
        END IF;
    END LOOP;
    tables := tables || later;
    backfills := backfills || array_fill(true, ARRAY[cardinality(later)]);

    FOR i IN 1 .. cardinality(tables) LOOP
        cfg := tables[i];
        CONTINUE WHEN backfills[i] AND (cfg.parent = ANY (skipped) OR cfg.parent = ANY (timed_out));
        FOR step IN SELECT * FROM crm_core._maintain_table(cfg, greatest(budget, 0), backfills[i]) LOOP
            IF step.r_action = 'retire' THEN
                parents := parents || step.r_parent;
                retire := retire || step.r_partition;
                CONTINUE;
            ELSIF step.r_action = 'postponed' THEN
                backlog := backlog || step.r_parent;
                left_over := left_over || step.r_detail::bigint;
                CONTINUE;
            ELSIF step.r_action = 'created' THEN
                budget := budget - 1;
            ELSIF step.r_action = 'deferred' AND step.r_detail LIKE 'lock\_timeout%' THEN
                timed_out := timed_out || step.r_parent;
            ELSIF step.r_partition IS NULL THEN
                skipped := skipped || step.r_parent;
            END IF;
            parent := step.r_parent;
            action := step.r_action;
            partition_name := step.r_partition;
            detail := step.r_detail;
            RETURN NEXT;
        END LOOP;
    END LOOP;

    -- One row per table whose creations wait for the next run.
    FOR step IN SELECT b.parent, sum(b.n) AS n FROM unnest(backlog, left_over) AS b(parent, n)
                GROUP BY b.parent ORDER BY b.parent::oid LOOP
        parent := step.parent;
        action := 'backlog';
        partition_name := NULL;
        detail := format('%s more partitions to create: the per-run limit of %s was reached; '
                         'the next run continues', step.n, max_new_partitions);
        PERFORM crm_core._log_partition_action(parent, action, partition_name, detail);
        RETURN NEXT;
    END LOOP;

    -- Rows another run holds are skipped, never waited for: that run stamps them itself.
    INSERT INTO crm_core.partition_state AS s (parent, last_maintenance_at)
    SELECT c.parent, clock_timestamp() FROM crm_core.partition_config c
    WHERE (only_parent IS NULL OR c.parent = only_parent)
      AND NOT EXISTS (SELECT FROM crm_core.partition_state s WHERE s.parent = c.parent)
    ON CONFLICT ON CONSTRAINT partition_state_pkey DO NOTHING;
    UPDATE crm_core.partition_state s SET last_maintenance_at = clock_timestamp()
    WHERE s.parent IN (SELECT l.parent FROM crm_core.partition_state l
                       WHERE only_parent IS NULL OR l.parent = only_parent
                       FOR UPDATE SKIP LOCKED);

    -- Materialized views (crm_core.refresh_due() of 41_matview_functions.sql, when installed),
    -- before retention so that no DETACH lock is held while they refresh.
    IF refresh_matviews AND only_parent IS NULL
       AND to_regprocedure('crm_core.refresh_due()') IS NOT NULL THEN
        RETURN QUERY EXECUTE
            'SELECT r.view::regclass,
                    CASE r.status WHEN ''failed'' THEN ''refresh_failed'' ELSE ''refreshed'' END,
                    NULL::text,
                    CASE r.status WHEN ''failed'' THEN r.message
                         ELSE format(''%s rows in %s ms'', r.rows, round(r.duration_ms::numeric, 1)) END
             FROM crm_core.refresh_due() r WHERE r.status <> ''skipped''';
    END IF;

    -- Retention last: the ACCESS EXCLUSIVE lock of each DETACH lasts until commit. Tables that
    -- retire concurrently are left to top-level statements (crm_core.concurrent_retirements()).
    FOR i IN 1 .. coalesce(array_length(retire, 1), 0) LOOP
        parent := parents[i];
        partition_name := retire[i];
        SELECT * INTO cfg FROM crm_core.partition_config c WHERE c.parent = parents[i];
        IF cfg.detach_concurrently THEN
            action := 'deferred';
            detail := CASE WHEN EXISTS (SELECT FROM pg_partitioned_table
                                        WHERE partrelid = parent AND partdefid <> 0)
                           THEN 'DETACH PARTITION ... CONCURRENTLY is impossible while the table '
                                'has a default partition: drop it, or set detach_concurrently to '
                                'false with crm_core.alter_partitioning()'
                           ELSE 'retired by DETACH PARTITION ... CONCURRENTLY outside a transaction: '
                                'run the statements of crm_core.concurrent_retirements() '
                                '(crm-core-service does; see docs/partitions.md)' END;
            PERFORM crm_core._log_partition_action(parent, action, partition_name, detail);
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF parent = ANY (timed_out) THEN
            action := 'deferred';
            detail := 'an earlier step on this table hit lock_timeout; retried at the next run';
            PERFORM crm_core._log_partition_action(parent, action, partition_name, detail);
            RETURN NEXT;
            CONTINUE;
        END IF;
        SELECT r_action, r_detail INTO action, detail
        FROM crm_core._retire_partition(cfg, retire[i]);
        IF action = 'deferred' THEN
            timed_out := timed_out || parent;
        END IF;
        RETURN NEXT;
    END LOOP;

    DELETE FROM crm_core.partition_log
    WHERE id IN (SELECT l.id FROM crm_core.partition_log l
                 WHERE l.logged_at < now() - interval '90 days' FOR UPDATE SKIP LOCKED);
END
$$;
COMMENT ON FUNCTION crm_core.run_maintenance(boolean, regclass, integer) IS
    'Creates missing partitions (the current and premade ones first, then gaps newest first; at '
    'most max_new_partitions per run, the rest reported as backlog), applies retention, '
    'refreshes due materialized views; returns and logs what it did. Idempotent; safe from cron '
    'and from two sessions at once.';

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
