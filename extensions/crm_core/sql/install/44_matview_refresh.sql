-- Materialized views: refreshing them. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

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
