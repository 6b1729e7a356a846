-- Materialized views: the functions and the status view over the tables of 40_matviews.sql.
-- Only CREATE OR REPLACE and other idempotent statements, so that every upgrade script
-- re-applies this whole part (sql/upgrade/*.sql: "-- @include"); the event triggers that call
-- two of these functions follow in 42_matview_event_triggers.sql.

-- ---------------------------------------------------------------------------------------------
-- Planning (C++: extension/src/core/matview_plan.cpp).

CREATE OR REPLACE FUNCTION crm_core._matview_refresh_order(views oid[], dependents oid[], dependencies oid[])
    RETURNS oid[] AS 'MODULE_PATHNAME', 'crm_core_matview_refresh_order'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION crm_core._matview_cycle(views oid[], dependents oid[], dependencies oid[],
                                        through oid DEFAULT NULL)
    RETURNS oid[] AS 'MODULE_PATHNAME', 'crm_core_matview_cycle'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION crm_core._matview_with_dependents(root oid, views oid[], dependents oid[],
                                                  dependencies oid[])
    RETURNS oid[] AS 'MODULE_PATHNAME', 'crm_core_matview_with_dependents'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION crm_core._matview_next_due(last_success_at timestamptz, refresh_every interval,
                                           registered_at timestamptz)
    RETURNS timestamptz AS 'MODULE_PATHNAME', 'crm_core_matview_next_due'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_core._matview_next_due(timestamptz, interval, timestamptz) IS
    'One refresh_every after the last success (a month counts as 30 days), or registered_at if none.';

-- Which registered view reads which, from the rewrite rules' dependencies in pg_depend,
-- looking through plain views (a matview reads the stored rows of another matview, so the
-- walk stops at any materialized view or table).
CREATE OR REPLACE FUNCTION crm_core._matview_dependencies(OUT dependent regclass, OUT dependency regclass)
    RETURNS SETOF record LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE registered AS (
        SELECT m.view::oid AS relid FROM crm_core.matview m
    ), reads AS (
        SELECT DISTINCT r.ev_class AS reader, d.refobjid AS source
        FROM pg_catalog.pg_rewrite r
        JOIN pg_catalog.pg_depend d
          ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
         AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
    ), walk (root, relid) AS (
        SELECT reads.reader, reads.source
        FROM reads JOIN registered ON registered.relid = reads.reader
        UNION
        SELECT walk.root, reads.source
        FROM walk
        JOIN pg_catalog.pg_class c ON c.oid = walk.relid AND c.relkind = 'v'
        JOIN reads ON reads.reader = walk.relid
    )
    SELECT walk.root::regclass, walk.relid::regclass
    FROM walk JOIN registered ON registered.relid = walk.relid
    WHERE walk.root <> walk.relid
$$;

-- A dependency cycle as text: "a -> b -> a" (a reads b, b reads a).
CREATE OR REPLACE FUNCTION crm_core._matview_cycle_text(cycle oid[]) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(c.relid::regclass::text, ' -> ' ORDER BY c.ord)
    FROM unnest(cycle) WITH ORDINALITY AS c(relid, ord)
$$;

-- The key of crm_core's own lock (crm_core._try_xact_lock) that serializes refreshes of one
-- view across sessions.
CREATE OR REPLACE FUNCTION crm_core._matview_lock_key(view regclass) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (x'6d767266'::bigint << 32) | view::oid::bigint
$$;

-- ---------------------------------------------------------------------------------------------
-- Incremental bucket summaries (C++: extension/src/pg/matview_bucket.cpp).

CREATE OR REPLACE FUNCTION crm_core._bucket_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_bucket_invalidate'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION crm_core._bucket_invalidate() IS
    'Statement trigger on a bucket summary''s source: logs the bucket ranges its rows touched.';

CREATE OR REPLACE FUNCTION crm_core._bucket_log_rows(summary oid, rel regclass, time_column name,
                                          width_us bigint, origin_us bigint)
    RETURNS boolean AS 'MODULE_PATHNAME', 'crm_core_bucket_log_rows'
    LANGUAGE C STRICT SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION crm_core._bucket_summary_refresh(summary regclass, rebuild boolean)
    RETURNS bigint AS 'MODULE_PATHNAME', 'crm_core_bucket_summary_refresh'
    LANGUAGE C STRICT;

-- The bucket grid of a summary in microseconds since 2000-01-01, as the C++ trigger sees
-- times: timestamptz in UTC, timestamp and date as written (origin read in UTC).
CREATE OR REPLACE FUNCTION crm_core._bucket_grid(time_type regtype, bucket_width interval,
                                      bucket_origin timestamptz,
                                      OUT width_us bigint, OUT origin_us bigint)
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (extract(epoch FROM bucket_width) * 1000000)::bigint,
           (CASE WHEN time_type = 'timestamptz'::regtype
                 THEN extract(epoch FROM bucket_origin - '2000-01-01 00:00:00+00'::timestamptz)
                 ELSE extract(epoch FROM (bucket_origin AT TIME ZONE 'UTC') - '2000-01-01'::timestamp)
            END * 1000000)::bigint
$$;

-- The name of the invalidation trigger for one event on a source table or partition.
CREATE OR REPLACE FUNCTION crm_core._bucket_trigger_name(event text) RETURNS name
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ('crm_core_bucket_' || event)::name
$$;

-- Puts the invalidation triggers on a summary source and on every partition below it that
-- lacks them: a statement trigger fires only for the table a statement names, so writes
-- straight into a partition need the partition's own triggers. With log_existing, the rows a
-- newly covered table already holds (an attached partition) are logged as changes for every
-- summary of the source. Idempotent.
CREATE OR REPLACE FUNCTION crm_core._bucket_install_triggers(source regclass, log_existing boolean)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel regclass;
    feed record;
    event text;
    transition text;
BEGIN
    FOR rel IN SELECT t.relid FROM pg_catalog.pg_partition_tree(source) t
               JOIN pg_catalog.pg_class c ON c.oid = t.relid AND c.relkind IN ('r', 'p')
               WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = t.relid
                                 AND tg.tgname = crm_core._bucket_trigger_name('insert')) LOOP
        IF log_existing AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = rel) = 'r' THEN
            FOR feed IN SELECT b.summary, b.time_column, g.width_us, g.origin_us
                        FROM crm_core.bucket_summary b
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = b.source AND a.attname = b.time_column
                        CROSS JOIN LATERAL crm_core._bucket_grid(a.atttypid::regtype, b.bucket_width,
                                                                 b.bucket_origin) g
                        WHERE b.source = $1 LOOP
                PERFORM crm_core._bucket_log_rows(feed.summary, rel, feed.time_column,
                                                  feed.width_us, feed.origin_us);
            END LOOP;
        END IF;
        -- One trigger per event: transition tables allow only one event per trigger.
        FOREACH event IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
            CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = rel
                                  AND t.tgname = crm_core._bucket_trigger_name(event));
            transition := CASE event WHEN 'insert' THEN 'REFERENCING NEW TABLE AS crm_core_new'
                                     WHEN 'update' THEN 'REFERENCING OLD TABLE AS crm_core_old NEW TABLE AS crm_core_new'
                                     WHEN 'delete' THEN 'REFERENCING OLD TABLE AS crm_core_old'
                                     ELSE '' END;
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s %s FOR EACH STATEMENT '
                           'EXECUTE FUNCTION crm_core._bucket_invalidate()',
                           crm_core._bucket_trigger_name(event), event, rel, transition);
        END LOOP;
    END LOOP;
END
$$;

-- Drops invalidation triggers that feed no summary any more: left on a detached partition, or
-- by the last summary of a source being unregistered.
CREATE OR REPLACE FUNCTION crm_core._bucket_drop_stray_triggers() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    stray record;
BEGIN
    FOR stray IN
        SELECT t.tgname, t.tgrelid::regclass AS rel FROM pg_catalog.pg_trigger t
        WHERE t.tgfoid = 'crm_core._bucket_invalidate()'::regprocedure
          AND NOT EXISTS (SELECT 1 FROM crm_core.bucket_summary b
                          WHERE b.source IN (SELECT pg_catalog.pg_partition_ancestors(t.tgrelid)))
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', stray.tgname, stray.rel);
    END LOOP;
END
$$;

-- New partitions of a summary's source (CREATE TABLE ... PARTITION OF, ATTACH PARTITION) get
-- the invalidation triggers too; a detached one loses them. SECURITY DEFINER: it fires for
-- every CREATE/ALTER TABLE, by roles with no access to crm_core or its trigger function.
CREATE OR REPLACE FUNCTION crm_core._bucket_follow_partitions() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    source regclass;
BEGIN
    PERFORM crm_core._bucket_drop_stray_triggers();
    FOR source IN
        SELECT DISTINCT b.source
        FROM pg_catalog.pg_event_trigger_ddl_commands() c
        CROSS JOIN LATERAL pg_catalog.pg_partition_ancestors(c.objid) AS a(relid)
        JOIN crm_core.bucket_summary b ON b.source = a.relid
        WHERE c.classid = 'pg_catalog.pg_class'::regclass AND c.object_type = 'table'
    LOOP
        PERFORM crm_core._bucket_install_triggers(source, true);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Registration.

-- Refuses registering `view` when it closes a dependency cycle among registered views (a cycle
-- elsewhere, made later by redefining a plain view, is refresh_due()'s to report).
CREATE OR REPLACE FUNCTION crm_core._matview_refuse_cycle(view regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    views oid[];
    dependents oid[];
    dependencies oid[];
    cycle oid[];
BEGIN
    SELECT array_agg(m.view::oid) INTO views FROM crm_core.matview m;
    SELECT array_agg(d.dependent::oid), array_agg(d.dependency::oid)
      INTO dependents, dependencies FROM crm_core._matview_dependencies() d;
    cycle := crm_core._matview_cycle(views, dependents, dependencies, view);
    IF cardinality(cycle) > 0 THEN
        RAISE EXCEPTION 'registering % would close a dependency cycle: %',
                        view, crm_core._matview_cycle_text(cycle)
            USING ERRCODE = 'invalid_object_definition',
                  DETAIL = 'Each view in a cycle reads another, so no refresh order exists.',
                  HINT = 'Redefine one of the views (or the plain views between them) to break the cycle.';
    END IF;
END
$$;

-- Checks the common arguments of both register functions.
CREATE OR REPLACE FUNCTION crm_core._matview_check_arguments(view regclass, refresh_every interval,
                                                  lock_timeout interval, keep_history interval)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF view IS NULL THEN
        RAISE EXCEPTION 'view must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF refresh_every IS NULL OR refresh_every <= interval '0' THEN
        RAISE EXCEPTION 'refresh_every must be a positive interval, not %',
                        coalesce(refresh_every::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'For example interval ''5 minutes''.';
    END IF;
    IF lock_timeout IS NULL OR lock_timeout <= interval '0' THEN
        RAISE EXCEPTION 'lock_timeout must be a positive interval, not %',
                        coalesce(lock_timeout::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF keep_history IS NULL OR keep_history < interval '0' THEN
        RAISE EXCEPTION 'keep_history must be zero or a positive interval, not %',
                        coalesce(keep_history::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM crm_core.matview m WHERE m.view = $1) THEN
        RAISE EXCEPTION '% is already registered', view
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Call crm_core.unregister_matview() first to change its settings.';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION crm_core.register_matview(view regclass, refresh_every interval,
                                          concurrently boolean DEFAULT true,
                                          lock_timeout interval DEFAULT interval '2 seconds',
                                          keep_history interval DEFAULT interval '30 days')
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel pg_catalog.pg_class;
    rejected text;
BEGIN
    PERFORM crm_core._matview_check_arguments(view, refresh_every, lock_timeout, keep_history);
    SELECT * INTO rel FROM pg_catalog.pg_class c WHERE c.oid = view;
    IF rel.relkind <> 'm' THEN
        RAISE EXCEPTION '% is not a materialized view', view
            USING ERRCODE = 'wrong_object_type',
                  HINT = CASE WHEN rel.relkind IN ('r', 'p')
                              THEN 'For an incremental summary table use crm_core.register_bucket_summary().'
                              ELSE 'Register a view created with CREATE MATERIALIZED VIEW.' END;
    END IF;
    IF NOT pg_has_role(rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must own materialized view % to register it', view
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- $3 is `concurrently`, a keyword PL/pgSQL expressions cannot name.
    IF $3 IS NULL THEN
        RAISE EXCEPTION 'concurrently must be true or false' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF $3 THEN
        IF NOT rel.relispopulated THEN
            RAISE EXCEPTION '% is not populated, and REFRESH MATERIALIZED VIEW CONCURRENTLY needs a populated view', view
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('Run REFRESH MATERIALIZED VIEW %s once, or register with concurrently => false.', view);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                       WHERE i.indrelid = view AND i.indisunique AND i.indisvalid
                         AND i.indpred IS NULL AND i.indexprs IS NULL) THEN
            SELECT string_agg(format('%s is %s', i.indexrelid::regclass,
                                     concat_ws(' and ',
                                               CASE WHEN i.indpred IS NOT NULL THEN 'partial (has WHERE)' END,
                                               CASE WHEN i.indexprs IS NOT NULL THEN 'on expressions' END,
                                               CASE WHEN NOT i.indisvalid THEN 'invalid' END)),
                              '; ')
              INTO rejected
              FROM pg_catalog.pg_index i WHERE i.indrelid = view AND i.indisunique;
            RAISE EXCEPTION '% has no unique index on plain columns without WHERE, which REFRESH MATERIALIZED VIEW CONCURRENTLY needs', view
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = coalesce('Unique indexes that do not qualify: ' || rejected || '.',
                                        'It has no unique index at all.'),
                      HINT = format('CREATE UNIQUE INDEX ON %s (columns that identify a row), or register with concurrently => false (readers then wait during each refresh).', view);
        END IF;
    END IF;
    INSERT INTO crm_core.matview (view, mode, refresh_every, lock_timeout, keep_history)
    VALUES (view, CASE WHEN $3 THEN 'concurrently' ELSE 'blocking' END,
            refresh_every, lock_timeout, keep_history);
    PERFORM crm_core._matview_refuse_cycle(view);
END
$$;
COMMENT ON FUNCTION crm_core.register_matview(regclass, interval, boolean, interval, interval) IS
    'Keeps a materialized view fresh: crm_core.refresh_due() refreshes it every refresh_every.';

CREATE OR REPLACE FUNCTION crm_core.register_bucket_summary(summary regclass, source regclass,
                                                 time_column name, bucket_width interval,
                                                 query text, refresh_every interval,
                                                 bucket_column name DEFAULT 'bucket',
                                                 bucket_origin timestamptz DEFAULT '2000-01-01 00:00:00+00',
                                                 lock_timeout interval DEFAULT interval '2 seconds',
                                                 keep_history interval DEFAULT interval '30 days')
    -- No pinned search_path: the query's names resolve with the caller's, which is recorded.
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    time_type regtype;
    origin_us bigint;
    width_us bigint;
BEGIN
    PERFORM crm_core._matview_check_arguments(summary, refresh_every, lock_timeout, keep_history);
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = summary) <> 'r' THEN
        RAISE EXCEPTION 'summary % must be a plain table', summary
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Create a table with the query''s columns; crm_core fills it.';
    END IF;
    IF source IS NULL OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = source) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'source % must be a table or a partitioned table', coalesce(source::text, 'NULL')
            USING ERRCODE = 'wrong_object_type';
    END IF;
    -- The query runs as the summary's owner, and the source gets crm_core's triggers: only
    -- their owner may choose either.
    IF NOT pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = summary), 'USAGE') THEN
        RAISE EXCEPTION 'must own table % to register it as a bucket summary', summary
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Its query runs as the summary''s owner.';
    END IF;
    IF NOT pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = source), 'USAGE') THEN
        RAISE EXCEPTION 'must own table % to summarize it', source
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'crm_core puts invalidation triggers on the source.';
    END IF;
    SELECT a.atttypid::regtype INTO time_type FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = source AND a.attname = time_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF time_type IS NULL THEN
        RAISE EXCEPTION 'source % has no column %', source, coalesce(quote_ident(time_column), 'NULL')
            USING ERRCODE = 'undefined_column';
    END IF;
    IF time_type NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
        RAISE EXCEPTION 'time column %.% is %, not timestamptz, timestamp or date', source, quote_ident(time_column), time_type
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = summary
                   AND a.attname = bucket_column AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'summary % has no bucket column %', summary, coalesce(quote_ident(bucket_column), 'NULL')
            USING ERRCODE = 'undefined_column';
    END IF;
    IF bucket_width IS NULL OR bucket_width <= interval '0' OR extract(month FROM bucket_width) <> 0
       OR extract(year FROM bucket_width) <> 0 THEN
        RAISE EXCEPTION 'bucket_width must be a positive fixed interval (days, hours ...), not %',
                        coalesce(bucket_width::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Months and years vary in length; use date_bin() widths such as ''1 day'' or ''7 days''.';
    END IF;
    SELECT g.width_us, g.origin_us INTO width_us, origin_us
      FROM crm_core._bucket_grid(time_type, bucket_width, bucket_origin) g;
    IF time_type = 'date'::regtype AND (width_us % 86400000000 <> 0 OR origin_us % 86400000000 <> 0) THEN
        RAISE EXCEPTION 'a date column needs whole-day buckets starting at midnight'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF query IS NULL OR position('$1' IN query) = 0 OR position('$2' IN query) = 0 THEN
        RAISE EXCEPTION 'query must read source rows with $1 <= % < $2', quote_ident(time_column)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('For example: SELECT date_bin(%L, %I, %L) AS %I, ... FROM %s WHERE %I >= $1 AND %I < $2 GROUP BY 1, ...',
                                bucket_width, time_column, bucket_origin, bucket_column, source, time_column, time_column);
    END IF;

    INSERT INTO crm_core.matview (view, mode, refresh_every, lock_timeout, keep_history)
    VALUES (summary, 'incremental', refresh_every, lock_timeout, keep_history);
    INSERT INTO crm_core.bucket_summary (summary, source, time_column, bucket_column, bucket_width,
                                         bucket_origin, query, search_path)
    VALUES (summary, source, time_column, bucket_column, bucket_width, bucket_origin, query,
            pg_catalog.current_setting('search_path'));
    PERFORM crm_core._matview_refuse_cycle(summary);

    PERFORM crm_core._bucket_install_triggers(source, false);
    RETURN crm_core._bucket_summary_refresh(summary, true);
END
$$;
COMMENT ON FUNCTION crm_core.register_bucket_summary(regclass, regclass, name, interval, text, interval, name, timestamptz, interval, interval) IS
    'Fills a summary table from query and keeps it fresh by recomputing only the time buckets whose source rows changed.';

CREATE OR REPLACE FUNCTION crm_core.unregister_matview(view regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = view), 'USAGE')
       AND EXISTS (SELECT 1 FROM crm_core.matview m WHERE m.view = $1) THEN
        RAISE EXCEPTION 'must own % % to unregister it',
                        CASE (SELECT c.relkind FROM pg_class c WHERE c.oid = view)
                            WHEN 'm' THEN 'materialized view' ELSE 'table' END, view
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM crm_core.bucket_invalidation i WHERE i.summary = view::oid;
    DELETE FROM crm_core.matview m WHERE m.view = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not registered', coalesce(view::text, 'NULL')
            USING ERRCODE = 'undefined_object';
    END IF;
    -- The last summary of a source takes the triggers of the source and its partitions along.
    PERFORM crm_core._bucket_drop_stray_triggers();
END
$$;
COMMENT ON FUNCTION crm_core.unregister_matview(regclass) IS
    'Stops refreshing a view (or bucket summary); its state and history go with it.';

CREATE OR REPLACE FUNCTION crm_core.rebuild_bucket_summary(summary regclass)
    RETURNS TABLE (view regclass, status text, duration_ms double precision, rows bigint,
                   message text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM crm_core.bucket_summary b WHERE b.summary = $1) THEN
        RAISE EXCEPTION '% is not a registered bucket summary', coalesce($1::text, 'NULL')
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it with crm_core.register_bucket_summary() first.';
    END IF;
    -- Invalidating everything makes the next refresh a full rebuild, with the usual locks and
    -- history.
    INSERT INTO crm_core.bucket_invalidation (summary, lower_us, upper_us)
    VALUES ($1, -9223372036854775808, 9223372036854775807);
    RETURN QUERY SELECT * FROM crm_core.refresh_now($1);
END
$$;
COMMENT ON FUNCTION crm_core.rebuild_bucket_summary(regclass) IS
    'Recomputes a bucket summary from scratch (e.g. after partitions were detached or dropped).';

-- Forgets registered views (and bucket summaries, with their sources' triggers) that are
-- dropped, so no refresh trips over a dangling OID.
-- SECURITY DEFINER: it fires for every DROP in the database, by roles with no access to crm_core.
CREATE OR REPLACE FUNCTION crm_core._matview_forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    summaries_dropped boolean;
BEGIN
    SELECT EXISTS (SELECT 1 FROM crm_core.bucket_summary b WHERE b.summary::oid IN (
                       SELECT d.objid FROM pg_catalog.pg_event_trigger_dropped_objects() d
                       WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0))
      INTO summaries_dropped;
    DELETE FROM crm_core.matview m
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0 AND m.view::oid = d.objid;
    IF summaries_dropped THEN
        DELETE FROM crm_core.bucket_invalidation i
         WHERE NOT EXISTS (SELECT 1 FROM crm_core.bucket_summary b WHERE b.summary::oid = i.summary);
        PERFORM crm_core._bucket_drop_stray_triggers();
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Refresh.

-- Refreshes one view: per-view advisory lock (skipped when another session holds it), its own
-- lock_timeout, its own subtransaction (a failure is recorded, never raised); records state
-- and history and trims the history.
CREATE OR REPLACE FUNCTION crm_core._matview_refresh_one(view regclass, OUT status text,
                                              OUT duration_ms double precision, OUT rows bigint,
                                              OUT message text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    config crm_core.matview;
    started timestamptz;
    finished timestamptz;
    error_state text;
    caller_lock_timeout text := current_setting('lock_timeout');
BEGIN
    SELECT * INTO config FROM crm_core.matview m WHERE m.view = $1;
    IF config.view IS NULL THEN
        status := 'skipped';
        message := 'unregistered while this call ran';
        RETURN;
    END IF;
    IF NOT crm_core._try_xact_lock(crm_core._matview_lock_key(view)) THEN
        status := 'skipped';
        message := 'another session is refreshing it; retried on the next call';
        RETURN;
    END IF;
    started := clock_timestamp();
    BEGIN
        PERFORM set_config('lock_timeout',
                           ceil(extract(epoch FROM config.lock_timeout) * 1000)::bigint::text, true);
        IF config.mode = 'incremental' THEN
            rows := crm_core._bucket_summary_refresh(view, false);
        ELSE
            EXECUTE format('REFRESH MATERIALIZED VIEW %s %s',
                           CASE WHEN config.mode = 'concurrently' THEN 'CONCURRENTLY' ELSE '' END, view);
            EXECUTE format('SELECT count(*) FROM %s', view) INTO rows;
        END IF;
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        status := 'refreshed';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS error_state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
        status := 'failed';
        rows := NULL;
    END;
    finished := clock_timestamp();
    duration_ms := extract(epoch FROM finished - started) * 1000;

    INSERT INTO crm_core.matview_history (view, started_at, finished_at, duration_ms, rows,
                                          status, mode, sqlstate, message)
    VALUES (view, started, finished, duration_ms, rows, status, config.mode, error_state, message);
    DELETE FROM crm_core.matview_history h
     WHERE h.view = $1 AND h.started_at < now() - config.keep_history;
    INSERT INTO crm_core.matview_state AS s (view, last_attempt_at, last_success_at, last_status,
                                             last_duration_ms, last_rows, last_error_at,
                                             last_sqlstate, last_error, consecutive_failures)
    VALUES (view, started, CASE WHEN status = 'refreshed' THEN started END, status, duration_ms, rows,
            CASE WHEN status = 'failed' THEN started END, error_state, message,
            CASE WHEN status = 'failed' THEN 1 ELSE 0 END)
    ON CONFLICT ON CONSTRAINT matview_state_pkey DO UPDATE SET
        last_attempt_at = excluded.last_attempt_at,
        last_success_at = coalesce(excluded.last_success_at, s.last_success_at),
        last_status = excluded.last_status,
        last_duration_ms = excluded.last_duration_ms,
        last_rows = excluded.last_rows,
        last_error_at = coalesce(excluded.last_error_at, s.last_error_at),
        last_sqlstate = coalesce(excluded.last_sqlstate, s.last_sqlstate),
        last_error = coalesce(excluded.last_error, s.last_error),
        consecutive_failures = CASE WHEN excluded.last_status = 'failed'
                                    THEN s.consecutive_failures + 1 ELSE 0 END;
END
$$;

-- Records a failure that happened before any refresh could start (e.g. a dependency cycle).
CREATE OR REPLACE FUNCTION crm_core._matview_record_failure(view regclass, sqlstate text, message text)
    RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO crm_core.matview_history (view, started_at, finished_at, duration_ms, status, mode,
                                          sqlstate, message)
    SELECT m.view, clock_timestamp(), clock_timestamp(), 0, 'failed', m.mode, $2, $3
    FROM crm_core.matview m WHERE m.view = $1;
    INSERT INTO crm_core.matview_state AS s (view, last_attempt_at, last_status, last_error_at,
                                             last_sqlstate, last_error, consecutive_failures)
    VALUES ($1, clock_timestamp(), 'failed', clock_timestamp(), $2, $3, 1)
    ON CONFLICT ON CONSTRAINT matview_state_pkey DO UPDATE SET
        last_attempt_at = excluded.last_attempt_at, last_status = 'failed',
        last_error_at = excluded.last_error_at, last_sqlstate = excluded.last_sqlstate,
        last_error = excluded.last_error, consecutive_failures = s.consecutive_failures + 1;
$$;

-- Refreshes `views` in the given (dependency) order, only the due ones when only_due; a view
-- whose dependency failed or was skipped in this call (or is in not_refreshed) is skipped too
-- (still due next call).
CREATE OR REPLACE FUNCTION crm_core._matview_refresh_list(views oid[], only_due boolean, dependents oid[],
                                               dependencies oid[], not_refreshed oid[] DEFAULT '{}')
    RETURNS TABLE (view regclass, status text, duration_ms double precision, rows bigint,
                   message text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    relid oid;
    unavailable oid[] := coalesce(not_refreshed, '{}');
    waits_for oid;
    outcome record;
BEGIN
    FOREACH relid IN ARRAY views LOOP
        IF only_due AND NOT EXISTS (
               SELECT 1 FROM crm_core.matview m LEFT JOIN crm_core.matview_state s ON s.view = m.view
               WHERE m.view = relid::regclass
                 AND crm_core._matview_next_due(s.last_success_at, m.refresh_every, m.registered_at) <= now()) THEN
            CONTINUE;
        END IF;
        view := relid::regclass;
        SELECT e.dependency INTO waits_for
          FROM unnest(dependents, dependencies) AS e(dependent, dependency)
         WHERE e.dependent = relid AND e.dependency = ANY (unavailable) LIMIT 1;
        IF waits_for IS NOT NULL THEN
            status := 'skipped';
            duration_ms := 0;
            rows := NULL;
            message := format('waits for %s, which was not refreshed in this call', waits_for::regclass);
        ELSE
            outcome := crm_core._matview_refresh_one(view);
            status := outcome.status;
            duration_ms := outcome.duration_ms;
            rows := outcome.rows;
            message := outcome.message;
        END IF;
        IF status <> 'refreshed' THEN
            unavailable := unavailable || relid;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Every registered view, the dependencies among them, and those that can refresh in order.
CREATE OR REPLACE FUNCTION crm_core._matview_plan(OUT views oid[], OUT ordered oid[], OUT dependents oid[],
                                       OUT dependencies oid[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT array_agg(m.view::oid ORDER BY m.view::text) INTO views FROM crm_core.matview m;
    SELECT array_agg(d.dependent::oid), array_agg(d.dependency::oid)
      INTO dependents, dependencies FROM crm_core._matview_dependencies() d;
    ordered := coalesce(crm_core._matview_refresh_order(views, dependents, dependencies), '{}');
END
$$;

-- Views on (or behind) a dependency cycle have no refresh order: records and reports them as
-- failed, if they are due.
CREATE OR REPLACE FUNCTION crm_core._matview_cycle_failures(views oid[], ordered oid[], dependents oid[],
                                                 dependencies oid[])
    RETURNS TABLE (view regclass, status text, duration_ms double precision, rows bigint,
                   message text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cycle_message text;
    relid oid;
BEGIN
    IF cardinality(ordered) = cardinality(views) THEN
        RETURN;
    END IF;
    cycle_message := 'dependency cycle: ' || crm_core._matview_cycle_text(
                         crm_core._matview_cycle(views, dependents, dependencies));
    FOR relid IN SELECT u FROM unnest(views) AS u WHERE u <> ALL (ordered) LOOP
        PERFORM crm_core._matview_record_failure(relid::regclass, '42P17', cycle_message);
        view := relid::regclass;
        status := 'failed';
        duration_ms := 0;
        rows := NULL;
        message := cycle_message;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION crm_core.refresh_due()
    RETURNS TABLE (view regclass, status text, duration_ms double precision, rows bigint,
                   message text)
    -- SECURITY DEFINER: crm_core_service runs it without owning the views; REFRESH runs each
    -- view's query as its owner, and a bucket summary's query runs as the summary's owner.
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    plan record;
BEGIN
    plan := crm_core._matview_plan();
    IF plan.views IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM crm_core._matview_cycle_failures(plan.views, plan.ordered,
                                                                plan.dependents, plan.dependencies);
    RETURN QUERY SELECT * FROM crm_core._matview_refresh_list(plan.ordered, true, plan.dependents,
                                                              plan.dependencies);
END
$$;
COMMENT ON FUNCTION crm_core.refresh_due() IS
    'Refreshes every registered view whose refresh_every has elapsed, dependencies first; one row per view acted on.';

-- refresh_due() as a procedure that commits after each view, so a view refreshed without
-- CONCURRENTLY blocks its readers only for its own refresh, not for the whole round. Reports
-- each outcome as a NOTICE. CALL it outside a transaction block. A procedure with a SET clause
-- cannot commit, so each of its transactions starts by pinning search_path (transaction-local:
-- the caller's comes back after each COMMIT): no name or operator below resolves through the
-- caller's search_path, which a database owner can set for every session.
CREATE OR REPLACE PROCEDURE crm_core.refresh_due_each()
    LANGUAGE plpgsql AS $$
DECLARE
    plan record;
    relid oid;
    outcome record;
    not_refreshed oid[] := '{}';
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    plan := crm_core._matview_plan();
    IF plan.views IS NULL THEN
        RETURN;
    END IF;
    FOR outcome IN SELECT * FROM crm_core._matview_cycle_failures(plan.views, plan.ordered,
                                                                  plan.dependents, plan.dependencies) LOOP
        RAISE NOTICE '%: % (%)', outcome.view, outcome.status, outcome.message;
    END LOOP;
    COMMIT;
    FOREACH relid IN ARRAY plan.ordered LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        SELECT * INTO outcome
          FROM crm_core._matview_refresh_list(ARRAY[relid], true, plan.dependents,
                                              plan.dependencies, not_refreshed);
        IF FOUND THEN
            IF outcome.status <> 'refreshed' THEN
                not_refreshed := not_refreshed || relid;
            END IF;
            RAISE NOTICE '%: % in % ms%', outcome.view, outcome.status,
                         round(outcome.duration_ms::numeric, 1),
                         coalesce(' (' || outcome.message || ')', '');
        END IF;
        COMMIT;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE crm_core.refresh_due_each() IS
    'refresh_due() committing after each view: blocking refreshes hold their locks only for themselves.';

CREATE OR REPLACE FUNCTION crm_core.refresh_now(matview regclass, cascade boolean DEFAULT false)
    RETURNS TABLE (view regclass, status text, duration_ms double precision, rows bigint,
                   message text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    views oid[];
    dependents oid[];
    dependencies oid[];
    targets oid[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM crm_core.matview m WHERE m.view = $1) THEN
        RAISE EXCEPTION '% is not registered', coalesce($1::text, 'NULL')
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it with crm_core.register_matview() first.';
    END IF;
    SELECT array_agg(d.dependent::oid), array_agg(d.dependency::oid)
      INTO dependents, dependencies FROM crm_core._matview_dependencies() d;
    IF cascade THEN
        SELECT array_agg(m.view::oid ORDER BY m.view::text) INTO views FROM crm_core.matview m;
        targets := crm_core._matview_with_dependents($1, views, dependents, dependencies);
        IF cardinality(targets) = 0 THEN
            RAISE EXCEPTION 'cannot cascade from %: dependency cycle %', $1,
                            crm_core._matview_cycle_text(crm_core._matview_cycle(views, dependents, dependencies))
                USING ERRCODE = 'invalid_object_definition',
                      HINT = 'Refresh it without cascade, and break the cycle.';
        END IF;
    ELSE
        targets := ARRAY[$1::oid];
    END IF;
    RETURN QUERY SELECT * FROM crm_core._matview_refresh_list(targets, false, dependents, dependencies);
END
$$;
COMMENT ON FUNCTION crm_core.refresh_now(regclass, boolean) IS
    'Refreshes one registered view now (and, with cascade, the registered views that read it, in order).';

-- ---------------------------------------------------------------------------------------------
-- Status.

CREATE OR REPLACE VIEW crm_core.matview_status AS
SELECT m.view,
       m.mode,
       m.refresh_every,
       s.last_success_at,
       now() - s.last_success_at AS staleness,
       crm_core._matview_next_due(s.last_success_at, m.refresh_every, m.registered_at) AS next_due_at,
       s.last_attempt_at,
       s.last_status,
       s.last_duration_ms,
       s.last_rows,
       s.last_error_at,
       s.last_sqlstate,
       s.last_error,
       coalesce(s.consecutive_failures, 0) AS consecutive_failures,
       (SELECT count(*) FROM crm_core.bucket_invalidation i WHERE i.summary = m.view::oid)
           AS pending_invalidations
FROM crm_core.matview m
LEFT JOIN crm_core.matview_state s ON s.view = m.view;
COMMENT ON VIEW crm_core.matview_status IS
    'Per registered view: last success, staleness, next due time, last outcome and last error.';

REVOKE EXECUTE ON FUNCTION
    crm_core.register_matview(regclass, interval, boolean, interval, interval),
    crm_core.register_bucket_summary(regclass, regclass, name, interval, text, interval, name, timestamptz, interval, interval),
    crm_core.unregister_matview(regclass),
    crm_core.refresh_due(),
    crm_core.refresh_now(regclass, boolean),
    crm_core.rebuild_bucket_summary(regclass),
    crm_core._bucket_summary_refresh(regclass, boolean),
    crm_core._bucket_invalidate(),
    crm_core._matview_refresh_one(regclass),
    crm_core._matview_refresh_list(oid[], boolean, oid[], oid[], oid[]),
    crm_core._matview_plan(),
    crm_core._matview_cycle_failures(oid[], oid[], oid[], oid[]),
    crm_core._matview_record_failure(regclass, text, text),
    crm_core._matview_refuse_cycle(regclass),
    crm_core._bucket_install_triggers(regclass, boolean),
    crm_core._bucket_drop_stray_triggers(),
    crm_core._bucket_log_rows(oid, regclass, name, bigint, bigint),
    crm_core._matview_check_arguments(regclass, interval, interval, interval),
    crm_core._matview_refresh_order(oid[], oid[], oid[]),
    crm_core._matview_cycle(oid[], oid[], oid[], oid),
    crm_core._matview_with_dependents(oid, oid[], oid[], oid[]),
    crm_core._matview_dependencies(),
    crm_core._matview_cycle_text(oid[]),
    crm_core._matview_lock_key(regclass),
    crm_core._bucket_grid(regtype, interval, timestamptz),
    crm_core._bucket_trigger_name(text),
    crm_core._bucket_follow_partitions(),
    crm_core._matview_forget_dropped()
FROM PUBLIC;
-- crm_core.matview_status calls it for whoever reads the view: arithmetic on its arguments.
REVOKE EXECUTE ON FUNCTION crm_core._matview_next_due(timestamptz, interval, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_core._matview_next_due(timestamptz, interval, timestamptz) TO PUBLIC;
REVOKE EXECUTE ON PROCEDURE crm_core.refresh_due_each() FROM PUBLIC;
