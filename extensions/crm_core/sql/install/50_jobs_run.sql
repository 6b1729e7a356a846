-- crm_core jobs: running them (run_job, run_due_jobs), forgetting dropped ones, the jobs view and
-- the grants on every function of 50_jobs*.sql. New in 0.2.0: the upgrade script includes it.

-- Runs job `name` once, now, in the caller's transaction: as its role, in a subtransaction (a
-- failure is recorded, not raised), then schedules its next run (interval with jitter, or a
-- backoff after failures). A run already going on elsewhere makes it 'skipped', as does
-- only_if_due when the job is not due (another runner just ran it). crm-core-service calls it
-- with its own jitter and backoff settings; CALL crm_core.run_due_jobs() with the defaults.
CREATE FUNCTION crm_core.run_job(name text, only_if_due boolean DEFAULT false,
                                 jitter double precision DEFAULT 0.1,
                                 backoff_initial interval DEFAULT interval '5 seconds',
                                 backoff_max interval DEFAULT interval '10 minutes')
    RETURNS TABLE(job_name text, result text, duration_ms double precision, error text,
                  consecutive_failures integer, next_due_at timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    j crm_core.job;
    started timestamptz;
    finished timestamptz;
    failed boolean := false;
BEGIN
    IF jitter IS NULL OR NOT jitter BETWEEN 0 AND 0.5 THEN
        RAISE EXCEPTION 'jitter must be between 0 and 0.5, not %', coalesce(jitter::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF backoff_initial IS NULL OR backoff_max IS NULL OR backoff_initial <= interval '0'
       OR backoff_max < backoff_initial THEN
        RAISE EXCEPTION 'backoff_initial must be positive and backoff_max at least as long'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    job_name := name;
    IF NOT EXISTS (SELECT FROM crm_core.job AS r WHERE r.name = name) THEN
        RAISE EXCEPTION 'job "%" is not scheduled', name
            USING ERRCODE = 'undefined_object', HINT = 'See crm_core.jobs.';
    END IF;
    -- One run of a job at a time, across every runner; the others skip it at once. The lock is
    -- crm_core's own (05_identity_and_locks.sql): no role can squat it with pg_advisory_lock.
    IF NOT crm_core._try_xact_lock((hashtext('crm_core.job')::bigint << 32)
                                   | (hashtext(name)::bigint & 4294967295)) THEN
        result := 'skipped';
        error := 'running in another session';
        RETURN NEXT;
        RETURN;
    END IF;
    -- Read after the lock: another runner may have just finished it.
    SELECT * INTO j FROM crm_core.job AS r WHERE r.name = name;
    IF NOT FOUND OR (only_if_due AND j.next_due_at > now()) THEN
        result := 'skipped';
        error := CASE WHEN FOUND THEN 'not due' ELSE 'unscheduled' END;
        next_due_at := j.next_due_at;
        RETURN NEXT;
        RETURN;
    END IF;
    started := clock_timestamp();
    BEGIN
        PERFORM crm_core._job_check(j.job, j.run_as);
        PERFORM crm_core._job_call(j.job, j.run_as,
                                   ceil(extract(epoch FROM j.statement_timeout) * 1000)::bigint);
    EXCEPTION
        WHEN query_canceled THEN
            -- Only the job's own statement_timeout is a failure of the job; the statement's own
            -- timeout or a cancel request stops the whole run.
            IF NOT crm_core._job_timed_out() THEN
                RAISE;
            END IF;
            failed := true;
            error := format('statement_timeout (%s) expired', j.statement_timeout);
        WHEN OTHERS THEN
            failed := true;
            error := format('%s (SQLSTATE %s)', SQLERRM, SQLSTATE);
    END;
    finished := clock_timestamp();
    consecutive_failures := CASE WHEN failed THEN j.consecutive_failures + 1 ELSE 0 END;
    next_due_at := finished + crm_core._job_next_run_delay_ms(
        ceil(extract(epoch FROM j.every) * 1000)::bigint, consecutive_failures,
        ceil(extract(epoch FROM backoff_initial) * 1000)::bigint,
        ceil(extract(epoch FROM backoff_max) * 1000)::bigint, jitter, random())
        * interval '1 millisecond';
    result := CASE WHEN failed THEN 'failure' ELSE 'success' END;
    duration_ms := extract(epoch FROM finished - started) * 1000;
    UPDATE crm_core.job AS r
    SET last_started_at = started, last_finished_at = finished, last_result = result,
        last_error = error, consecutive_failures = consecutive_failures,
        runs = r.runs + 1, failures = r.failures + failed::integer, next_due_at = next_due_at
    WHERE r.name = name;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION crm_core.run_job(text, boolean, double precision, interval, interval) IS
    'Runs a registered job once as the role that scheduled it; records the result and when it '
    'is due again. For runners (crm-core-service, run_due_jobs); not granted to PUBLIC.';

-- The due job that runs first and is not in done (those already run by this call), or NULL.
CREATE FUNCTION crm_core._next_due_job(done text[]) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT j.name FROM crm_core.job AS j
    WHERE j.next_due_at <= now() AND j.name <> ALL (done)
    ORDER BY j.next_due_at, j.name
    LIMIT 1
$$;

-- Every due job once, each in its own transaction (a procedure commits between jobs). For cron
-- without crm-core-service: CALL crm_core.run_due_jobs(); in autocommit mode. Failures are
-- reported as WARNINGs and counted; nothing is raised.
CREATE PROCEDURE crm_core.run_due_jobs(INOUT ran integer DEFAULT NULL,
                                       INOUT failed integer DEFAULT NULL,
                                       jitter double precision DEFAULT 0.1,
                                       backoff_initial interval DEFAULT interval '5 seconds',
                                       backoff_max interval DEFAULT interval '10 minutes')
    LANGUAGE plpgsql
AS $$
DECLARE
    done text[] := '{}';
    next_job text;
    outcome record;
BEGIN
    ran := 0;
    failed := 0;
    LOOP
        next_job := crm_core._next_due_job(done);
        EXIT WHEN next_job IS NULL;
        done := pg_catalog.array_append(done, next_job);
        SELECT * INTO outcome FROM crm_core.run_job(next_job, true, jitter, backoff_initial,
                                                    backoff_max);
        IF outcome.result OPERATOR(pg_catalog.=) 'success' THEN
            ran := ran OPERATOR(pg_catalog.+) 1;
        ELSIF outcome.result OPERATOR(pg_catalog.=) 'failure' THEN
            ran := ran OPERATOR(pg_catalog.+) 1;
            failed := failed OPERATOR(pg_catalog.+) 1;
            RAISE WARNING 'job % failed: %', next_job, outcome.error;
        END IF;
        COMMIT;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE crm_core.run_due_jobs(integer, integer, double precision, interval, interval) IS
    'Runs every due job once, each in its own transaction, as the roles that scheduled them; '
    'returns how many ran and failed. For cron: CALL crm_core.run_due_jobs().';

-- A dropped function's job goes with it (its OID could later name another function).
CREATE FUNCTION crm_core._job_forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM crm_core.job AS j
    USING pg_catalog.pg_event_trigger_dropped_objects() AS d
    WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND j.job::oid = d.objid;
END
$$;
CREATE EVENT TRIGGER crm_core_job_forget_dropped ON sql_drop
    EXECUTE FUNCTION crm_core._job_forget_dropped();

CREATE VIEW crm_core.jobs AS
SELECT j.name,
       j.job,
       j.every,
       j.run_as,
       j.statement_timeout,
       j.extension,
       j.registered_at,
       j.last_started_at,
       j.last_finished_at,
       j.last_result,
       j.last_error,
       j.last_finished_at - j.last_started_at AS last_duration,
       j.consecutive_failures,
       j.runs,
       j.failures,
       j.next_due_at,
       j.next_due_at <= now() AS due
FROM crm_core.job AS j;
COMMENT ON VIEW crm_core.jobs IS
    'Registered jobs: schedule, last run (result, error, duration), failures in a row, next due.';
GRANT SELECT ON crm_core.jobs TO crm_core_readonly;

REVOKE ALL ON FUNCTION
    crm_core._job_next_run_delay_ms(bigint, integer, bigint, bigint, double precision, double precision),
    crm_core._job_check(regprocedure, regrole),
    crm_core._job_register(regrole, text, regprocedure, interval, interval, timestamptz, name),
    crm_core.schedule_job(text, regprocedure, interval, interval, timestamptz),
    crm_core._job_unregister(regrole, text),
    crm_core.unschedule_job(text),
    crm_core._job_call(regprocedure, regrole, bigint),
    crm_core._job_timed_out(),
    crm_core.run_job(text, boolean, double precision, interval, interval),
    crm_core._next_due_job(text[]),
    crm_core._job_forget_dropped()
FROM PUBLIC;
REVOKE ALL ON PROCEDURE crm_core.run_due_jobs(integer, integer, double precision, interval, interval)
FROM PUBLIC;
