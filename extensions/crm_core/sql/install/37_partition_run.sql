-- crm_core partitions: run_maintenance(). Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

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

    -- Materialized views (crm_core.refresh_due() of 44_matview_refresh.sql, when installed),
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
