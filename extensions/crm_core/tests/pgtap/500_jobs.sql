-- Registered jobs: schedule_job / unschedule_job, the crm_core.jobs view, and run_job, which
-- runs a job as the role that registered it (never as the runner), with a pinned search_path,
-- every setting it changes reverted, bounded by its statement_timeout, failures recorded and
-- retried with backoff. Runners in other sessions and CALL run_due_jobs(): tests/isolation/specs/jobs_sessions.spec.
BEGIN;
SELECT plan(62);

CREATE SCHEMA jobs_test;
CREATE TABLE jobs_test.log (
    job          text,
    running_role name,
    session_role name,
    search_path  text,
    logged_at    timestamptz DEFAULT clock_timestamp()
);
-- Job functions, owned by the superuser running the tests unless said otherwise.
CREATE FUNCTION jobs_test.record() RETURNS void LANGUAGE sql AS $$
    INSERT INTO jobs_test.log (job, running_role, session_role, search_path)
    SELECT 'record', current_user, session_user, current_setting('search_path')
$$;
CREATE FUNCTION jobs_test.fail() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs_test.log (job) VALUES ('fail: written, then rolled back');
    RAISE EXCEPTION 'job fails on purpose' USING ERRCODE = 'P0001';
END
$$;
CREATE FUNCTION jobs_test.change_settings() RETURNS void LANGUAGE sql AS $$
    SELECT set_config('work_mem', '1234kB', false), set_config('search_path', 'jobs_test', false)
$$;
CREATE FUNCTION jobs_test.sleep() RETURNS void LANGUAGE sql AS $$ SELECT pg_sleep(30) $$;
CREATE FUNCTION jobs_test.set_role() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'SET ROLE postgres';
END
$$;
CREATE FUNCTION jobs_test.temp_table() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'CREATE TEMP TABLE left_behind (id int)';
END
$$;
CREATE FUNCTION jobs_test.rows() RETURNS SETOF integer LANGUAGE sql AS $$ SELECT generate_series(1, 3) $$;
CREATE FUNCTION jobs_test.with_argument(n integer) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE PROCEDURE jobs_test.procedure() LANGUAGE sql AS $$ SELECT $$;

-- Roles: job_owner may schedule jobs; other_owner owns a function job_owner may execute.
CREATE ROLE job_owner NOLOGIN;
CREATE ROLE other_owner NOLOGIN;
CREATE ROLE job_member NOLOGIN IN ROLE job_owner;
GRANT USAGE ON SCHEMA crm_core, jobs_test TO job_owner, other_owner, job_member;
GRANT EXECUTE ON FUNCTION crm_core.schedule_job(text, regprocedure, interval, interval, timestamptz),
                          crm_core.unschedule_job(text)
    TO job_owner, other_owner, job_member;
GRANT SELECT ON crm_core.jobs TO job_owner;
GRANT INSERT ON jobs_test.log TO job_owner;
GRANT CREATE ON SCHEMA jobs_test TO job_owner, other_owner;
REVOKE EXECUTE ON FUNCTION jobs_test.sleep() FROM PUBLIC;
SET ROLE other_owner;
CREATE FUNCTION jobs_test.others() RETURNS void LANGUAGE sql AS $$ SELECT $$;
GRANT EXECUTE ON FUNCTION jobs_test.others() TO job_owner;
RESET ROLE;
SET ROLE job_owner;
CREATE FUNCTION jobs_test.own() RETURNS void LANGUAGE sql AS $$
    INSERT INTO jobs_test.log (job, running_role, session_role, search_path)
    SELECT 'own', current_user, session_user, current_setting('search_path')
$$;
-- A trap for a superuser: job_owner's SECURITY DEFINER function that schedules a job.
CREATE FUNCTION jobs_test.trap() RETURNS timestamptz LANGUAGE sql SECURITY DEFINER AS $$
    SELECT crm_core.schedule_job('trap', 'jobs_test.own()', '1 hour')
$$;
RESET ROLE;

-- ---- registration ------------------------------------------------------------------------------
SELECT is(crm_core.schedule_job('test.record', 'jobs_test.record()', '1 hour'), now(),
          'schedule_job registers a job due at once and returns when it is due');
SELECT is((SELECT (job::text, every, run_as::text, statement_timeout, due, runs, last_result)::text
           FROM crm_core.jobs WHERE name = 'test.record'),
          ('jobs_test.record()', '01:00:00', current_user, '00:15:00', true, 0, NULL)::text,
          'crm_core.jobs shows it: function, interval, the registering role, default timeout, due');
SELECT is(crm_core.schedule_job('test.later', 'jobs_test.record()', '1 day', '1 minute',
                                '2100-01-01 02:00+00'),
          '2100-01-01 02:00+00'::timestamptz, 'start_at sets the first run');
SELECT is(crm_core.schedule_job('test.later', 'jobs_test.record()', '1 hour'),
          now() + interval '1 hour', 'scheduling again replaces it: a shorter interval brings it closer');
SELECT is((SELECT statement_timeout FROM crm_core.jobs WHERE name = 'test.later'), '00:15:00'::interval,
          'and takes the new settings');
SELECT ok(crm_core.unschedule_job('test.later'), 'unschedule_job removes a job');
SELECT ok(NOT crm_core.unschedule_job('test.later'), 'and answers false when there is none');

SET ROLE job_owner;
SELECT is(crm_core.schedule_job('test.own', 'jobs_test.own()', '10 minutes'), now(),
          'a non-superuser schedules a function it owns');
SELECT is(crm_core.schedule_job('test.superusers', 'jobs_test.record()', '10 minutes'), now(),
          'or one a superuser owns and it may execute');
SELECT is((SELECT string_agg(name || ':' || run_as::text, ',' ORDER BY name) FROM crm_core.jobs
           WHERE run_as = 'job_owner'::regrole), 'test.own:job_owner,test.superusers:job_owner',
          'its jobs belong to it');
SELECT throws_ok($$SELECT crm_core.schedule_job('test.x', 'jobs_test.sleep()', '1 hour')$$,
                 '42501', 'role job_owner may not execute function jobs_test.sleep()',
                 'a function it may not execute is refused');
SELECT throws_ok($$SELECT crm_core.schedule_job('test.x', 'jobs_test.others()', '1 hour')$$,
                 '42501', 'role job_owner may not schedule function jobs_test.others() owned by other_owner',
                 'a function another role owns is refused (its owner could change what it does)');
SELECT throws_ok($$SELECT crm_core.schedule_job('test.record', 'jobs_test.own()', '1 hour')$$,
                 '42501', 'job "test.record" belongs to role postgres',
                 'a job of another role cannot be replaced');
SELECT throws_ok($$SELECT crm_core.unschedule_job('test.record')$$,
                 '42501', 'job "test.record" belongs to role postgres',
                 'nor removed');
SELECT throws_ok($$INSERT INTO crm_core.job (name, job, every, statement_timeout, run_as, next_due_at)
                   VALUES ('forged', 'jobs_test.sleep()', '1 hour', '1 hour', 'postgres', now())$$,
                 '42501', 'permission denied for table job',
                 'crm_core.job cannot be written directly');
SELECT throws_ok($$SELECT crm_core._job_register('postgres', 'forged', 'jobs_test.sleep()', '1 hour',
                                                 '1 hour', NULL, NULL)$$,
                 '42501', 'permission denied for function _job_register',
                 'nor registered under another role by calling the internal function');
SELECT throws_ok($$SELECT * FROM crm_core.run_job('test.own')$$,
                 '42501', 'permission denied for function run_job',
                 'scheduling a job does not give the right to run jobs');
RESET ROLE;

SET ROLE job_member;
SELECT is(crm_core.schedule_job('test.own', 'jobs_test.own()', '20 minutes'), now(),
          'a member of the job''s role may change it (and it becomes the member''s)');
RESET ROLE;
SELECT is((SELECT run_as::text FROM crm_core.jobs WHERE name = 'test.own'), 'job_member',
          'the job now runs as the member that scheduled it');

SELECT throws_ok($$SELECT crm_core.schedule_job('test.x', 'jobs_test.own()', '1 hour')$$,
                 '42501', 'role postgres may not schedule function jobs_test.own() owned by job_owner',
                 'a superuser may not schedule a non-superuser''s function (it would run its code as superuser)');
SELECT is(jobs_test.trap(), now(),
          'a SECURITY DEFINER function called by a superuser registers as its owner...');
SELECT is((SELECT run_as::text FROM crm_core.jobs WHERE name = 'trap'), 'job_owner',
          '...so the job runs as that owner, not as the superuser who called it');
SELECT throws_ok($$SELECT crm_core.schedule_job('test.x', 'jobs_test.with_argument(integer)', '1 hour')$$,
                 '22023', 'a job must be a function without arguments; jobs_test.with_argument(integer) is not',
                 'a function with arguments is refused');
SELECT throws_ok($$SELECT crm_core.schedule_job('test.x', 'jobs_test.procedure()', '1 hour')$$,
                 '22023', 'a job must be a function without arguments; jobs_test.procedure() is not',
                 'a procedure is refused');
SELECT throws_ok($$SELECT crm_core.schedule_job('seal', 'jobs_test.record()', '1 hour')$$,
                 '22023', 'job name "seal" is reserved for a built-in job of crm-core-service',
                 'the names of the service''s built-in jobs are reserved');
SELECT throws_ok($$SELECT crm_core.schedule_job('a b', 'jobs_test.record()', '1 hour')$$,
                 '22023', 'invalid job name "a b"', 'a name that is not a plain label is refused');
SELECT throws_ok($$SELECT crm_core.schedule_job('test.x', 'jobs_test.record()', '500 milliseconds')$$,
                 '22023', 'every must be at least 1 second, not 00:00:00.5', 'an interval under a second is refused');
SELECT throws_ok($$SELECT crm_core.schedule_job('test.x', 'jobs_test.record()', '1 hour', '0 seconds')$$,
                 '22023', 'statement_timeout must be positive, not 00:00:00', 'a zero statement_timeout is refused');
SELECT throws_ok($$SELECT crm_core.schedule_job('test.x', 'jobs_test.record()', NULL)$$,
                 '22004', 'name, job, every and statement_timeout are required', 'every is required');
SET ROLE crm_core_app;
SELECT throws_ok($$SELECT crm_core.schedule_job('test.x', 'pg_catalog.pg_backend_pid()', '1 hour')$$,
                 '42501', 'permission denied for function schedule_job',
                 'roles not granted schedule_job cannot schedule');
RESET ROLE;

-- ---- running ------------------------------------------------------------------------------------
SELECT crm_core.unschedule_job('trap');
CREATE TEMP TABLE outcome AS
SELECT * FROM crm_core.run_job('test.own', jitter => 0);
SELECT is((SELECT (result, error, consecutive_failures)::text FROM outcome), '(success,,0)',
          'run_job runs the job and reports success');
SELECT is((SELECT (running_role, session_role, search_path)::text FROM jobs_test.log WHERE job = 'own'),
          ('job_member', session_user, 'pg_catalog, pg_temp')::text,
          'as the role that scheduled it (not the runner), with search_path pinned to pg_catalog, pg_temp');
SELECT is((SELECT (last_result, runs, failures, next_due_at - last_finished_at)::text FROM crm_core.jobs
           WHERE name = 'test.own'), '(success,1,0,00:20:00)',
          'the run is recorded; with jitter 0 the next run is due one interval after it finished');
SELECT ok((SELECT last_duration >= '0' AND NOT due FROM crm_core.jobs WHERE name = 'test.own'),
          'its duration is recorded and it is not due any more');
SELECT is((SELECT result || '/' || error FROM crm_core.run_job('test.own', only_if_due => true)),
          'skipped/not due', 'only_if_due skips a job that is not due (another runner just ran it)');
SELECT throws_ok($$SELECT * FROM crm_core.run_job('no.such.job')$$, '42704', 'job "no.such.job" is not scheduled',
                 'an unknown job is an error');
SELECT throws_ok($$SELECT * FROM crm_core.run_job('test.own', jitter => 0.9)$$, '22023',
                 'jitter must be between 0 and 0.5, not 0.9', 'a jitter out of range is refused');

SELECT crm_core.schedule_job('test.settings', 'jobs_test.change_settings()', '1 hour');
SET work_mem = '4MB';
SELECT is((SELECT result FROM crm_core.run_job('test.settings')), 'success', 'a job that changes settings runs');
SELECT is(current_setting('work_mem') || ' ' || current_setting('search_path'),
          '4MB ' || (SELECT setting FROM pg_settings WHERE name = 'search_path'),
          'and every setting it changed (even with SET, not SET LOCAL) is reverted after it');
RESET work_mem;

SELECT crm_core.schedule_job('test.rows', 'jobs_test.rows()', '1 hour');
SELECT is((SELECT result FROM crm_core.run_job('test.rows')), 'success', 'a set-returning function is a job too');

SELECT crm_core.schedule_job('test.fail', 'jobs_test.fail()', '1 hour');
CREATE TEMP TABLE failures AS SELECT 1 AS n, * FROM crm_core.run_job('test.fail', jitter => 0);
SELECT is((SELECT (result, error, consecutive_failures)::text FROM failures),
          '(failure,"job fails on purpose (SQLSTATE P0001)",1)',
          'a failing job is recorded as a failure with its message and SQLSTATE, not raised');
SELECT is((SELECT count(*) FROM jobs_test.log WHERE job LIKE 'fail%'), 0::bigint,
          'what the failed job wrote is rolled back');
SELECT is((SELECT (last_result, last_error, failures, next_due_at - last_finished_at)::text
           FROM crm_core.jobs WHERE name = 'test.fail'),
          '(failure,"job fails on purpose (SQLSTATE P0001)",1,00:00:05)',
          'the runner''s record stays; it is retried after backoff_initial');
INSERT INTO failures SELECT 2, * FROM crm_core.run_job('test.fail', jitter => 0);
SELECT is((SELECT next_due_at - last_finished_at FROM crm_core.job WHERE name = 'test.fail'),
          interval '10 seconds', 'the second failure in a row waits twice as long');
INSERT INTO failures SELECT 3, * FROM crm_core.run_job('test.fail', jitter => 0, backoff_max => '12 seconds');
SELECT is((SELECT next_due_at - last_finished_at FROM crm_core.job WHERE name = 'test.fail'),
          interval '12 seconds', 'and so on, up to backoff_max');
SELECT is((SELECT string_agg(consecutive_failures::text, ',' ORDER BY n) FROM failures), '1,2,3',
          'consecutive failures are counted');
CREATE OR REPLACE FUNCTION jobs_test.fail() RETURNS void LANGUAGE sql AS $$ SELECT $$;
SELECT is((SELECT (result, consecutive_failures)::text FROM crm_core.run_job('test.fail', jitter => 0)),
          '(success,0)', 'a success resets the count');
SELECT is((SELECT (last_error, next_due_at - last_finished_at)::text FROM crm_core.jobs WHERE name = 'test.fail'),
          '(,01:00:00)', 'and the job is due one interval later again');

SELECT crm_core.schedule_job('test.sleep', 'jobs_test.sleep()', '1 hour', '200 milliseconds');
CREATE TEMP TABLE slept AS SELECT * FROM crm_core.run_job('test.sleep');
SELECT is((SELECT (result, error)::text FROM slept),
          '(failure,"statement_timeout (00:00:00.2) expired")',
          'a job that hangs is stopped by its statement_timeout and recorded as a failure');
SELECT ok((SELECT duration_ms BETWEEN 150 AND 10000 FROM slept), 'after about that long');
SELECT is((SELECT count(*) FROM (SELECT pg_sleep(0.3)) s), 1::bigint,
          'the session has no timer left behind (a later statement runs its full length)');
SET statement_timeout = '300ms';
CREATE FUNCTION pg_temp.cancelled(job text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crm_core.run_job(job);
    RETURN 'not cancelled';
EXCEPTION WHEN query_canceled THEN
    RETURN SQLERRM;
END
$$;
SELECT crm_core.schedule_job('test.sleep', 'jobs_test.sleep()', '1 hour', '1 hour');
SELECT is(pg_temp.cancelled('test.sleep'), 'canceling statement due to statement timeout',
          'a sooner statement_timeout of the runner''s statement cancels the whole run (not recorded as the job''s)');
RESET statement_timeout;

SELECT crm_core.schedule_job('test.set_role', 'jobs_test.set_role()', '1 hour');
SELECT is((SELECT error FROM crm_core.run_job('test.set_role')),
          'cannot set parameter "role" within security-definer function (SQLSTATE 42501)',
          'a job cannot SET ROLE (the runner''s session never changes identity)');
SELECT crm_core.schedule_job('test.temp_table', 'jobs_test.temp_table()', '1 hour');
SELECT is((SELECT error FROM crm_core.run_job('test.temp_table')),
          'cannot create temporary table within security-restricted operation (SQLSTATE 42501)',
          'nor leave a temporary table in the runner''s session');

-- Privileges change after registration: checked again before every run.
REVOKE EXECUTE ON FUNCTION jobs_test.record() FROM PUBLIC;
SELECT is((SELECT (result, error)::text FROM crm_core.run_job('test.superusers')),
          '(failure,"role job_owner may not execute function jobs_test.record() (SQLSTATE 42501)")',
          'a job whose role lost the right to execute its function fails instead of running');
GRANT EXECUTE ON FUNCTION jobs_test.record() TO PUBLIC;
ALTER FUNCTION jobs_test.own() OWNER TO other_owner;
SELECT is((SELECT (result, error)::text FROM crm_core.run_job('test.own')),
          '(failure,"role job_member may not schedule function jobs_test.own() owned by other_owner (SQLSTATE 42501)")',
          'a job whose function changed hands to a role it does not belong to fails');

-- An extension's script registers its jobs (crm_collections does): they are the extension's.
CREATE EXTENSION crm_core_jobs_test;
SELECT is((SELECT extension || ' ' || run_as::text || ' ' || due FROM crm_core.jobs
           WHERE name = 'crm_core_jobs_test.nightly'), 'crm_core_jobs_test ' || current_user || ' true',
          'a job registered by CREATE EXTENSION records the extension');
SELECT is((SELECT count(*) FROM crm_core.job WHERE name = 'crm_core_jobs_test.nightly' AND extension IS NULL),
          0::bigint, 'so pg_dump leaves it out (its extension registers it again on restore)');
DROP EXTENSION crm_core_jobs_test;
SELECT is((SELECT count(*) FROM crm_core.jobs WHERE name = 'crm_core_jobs_test.nightly'), 0::bigint,
          'DROP EXTENSION takes its jobs with it');

-- A dropped function takes its job with it.
DROP FUNCTION jobs_test.rows();
SELECT is((SELECT count(*) FROM crm_core.jobs WHERE name = 'test.rows'), 0::bigint,
          'DROP FUNCTION removes the job that ran it');

SELECT is((SELECT count(*) FROM pg_proc p
           WHERE p.pronamespace = 'crm_core'::regnamespace
             AND p.proname IN ('run_job', 'run_due_jobs', '_job_call', '_job_register', '_job_unregister',
                               '_job_check', '_next_due_job', '_job_timed_out')
             AND has_function_privilege('public', p.oid, 'EXECUTE')), 0::bigint,
          'no runner or internal job function is executable by PUBLIC');
SELECT ok(has_table_privilege('crm_core_readonly', 'crm_core.jobs', 'SELECT'), 'crm_core_readonly reads crm_core.jobs');

SELECT * FROM finish();
ROLLBACK;
