-- The collection workflow's daily jobs, registered with crm_core's job registry beside
-- collections.run_dpd (60_delinquency.sql): run by crm-core-service's leader (its metrics:
-- crm_core_job_runs_total{job="collections.run_dunning"}, durations, failures) or by CALL
-- crm_core.run_due_jobs() from cron. Each run also leaves a row in collections.job_run with what
-- the job did. The three jobs do not depend on each other's order: run_dunning computes days
-- past due and buckets itself and ignores promises that are past due but not yet broken.

CREATE TABLE collections.job_run (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job         text NOT NULL CONSTRAINT job_run_job_known CHECK (job IN ('run_promises', 'run_dunning')),
    as_of       date NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    counts      jsonb NOT NULL
);
CREATE INDEX job_run_job_idx ON collections.job_run (job, started_at);
COMMENT ON TABLE collections.job_run IS
    'Every run of the collection jobs (all businesses): when, for which day, and the counts it returned.';
SELECT pg_catalog.pg_extension_config_dump('collections.job_run', '');
SELECT pg_catalog.pg_extension_config_dump('collections.job_run_id_seq', '');

CREATE FUNCTION collections._job_ran(job text, as_of date, started_at timestamptz, counts jsonb) RETURNS jsonb
    LANGUAGE sql SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO collections.job_run (job, as_of, started_at, finished_at, counts)
    VALUES (_job_ran.job, _job_ran.as_of, _job_ran.started_at, clock_timestamp(), _job_ran.counts)
    RETURNING counts;
END;
REVOKE EXECUTE ON FUNCTION collections._job_ran(text, date, timestamptz, jsonb) FROM PUBLIC;

-- The jobs: today's run of each, recorded.
CREATE FUNCTION collections.daily_promises() RETURNS jsonb
    LANGUAGE sql SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT collections._job_ran('run_promises', CURRENT_DATE, clock_timestamp(), to_jsonb(r))
      FROM (SELECT * FROM collections.run_promises(CURRENT_DATE)) r;
END;
CREATE FUNCTION collections.daily_dunning() RETURNS jsonb
    LANGUAGE sql SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT collections._job_ran('run_dunning', CURRENT_DATE, clock_timestamp(), to_jsonb(r))
      FROM (SELECT * FROM collections.run_dunning(CURRENT_DATE)) r;
END;
REVOKE EXECUTE ON FUNCTION collections.daily_promises(), collections.daily_dunning() FROM PUBLIC;
COMMENT ON FUNCTION collections.daily_promises() IS 'Job collections.run_promises: run_promises(CURRENT_DATE), recorded in job_run.';
COMMENT ON FUNCTION collections.daily_dunning() IS 'Job collections.run_dunning: run_dunning(CURRENT_DATE), recorded in job_run.';

-- Daily, first at 01:00 UTC tomorrow (move with crm_core.schedule_job(..., start_at => ...)).
-- Registered as the installing role (a superuser: the jobs are functions it owns); CREATE
-- EXTENSION registers them again on restore.
SELECT crm_core.schedule_job(j.name, j.job, interval '1 day', interval '1 hour',
                             ((now() AT TIME ZONE 'UTC')::date + 1 + time '01:00') AT TIME ZONE 'UTC')
  FROM (VALUES ('collections.run_promises', 'collections.daily_promises()'::regprocedure),
               ('collections.run_dunning', 'collections.daily_dunning()'::regprocedure)) AS j(name, job);
