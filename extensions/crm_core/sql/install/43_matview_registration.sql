-- Materialized views: registering and unregistering views and bucket summaries. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.
-- The event trigger that calls _matview_forget_dropped(): 46_matview_event_triggers.sql.

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
