-- Registered jobs across sessions (dblink, scratch database): CALL run_due_jobs() from cron
-- commits each job on its own and runs each due job once; two runners never run one job at the
-- same time; a cancel request stops a run without being recorded as the job's failure.
BEGIN;
SELECT plan(13);
\set scratch_prefix crm_core_jobs_
\ir lib/scratch.sql

-- Waits (polling, bounded) until backend pid waits for a lock; true when it does.
CREATE FUNCTION pg_temp.waits_for_lock(pid integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 10000 LOOP
        IF EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = waits_for_lock.pid
                   AND a.wait_event_type = 'Lock') THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.001);
    END LOOP;
    RETURN false;
END
$$;

SELECT dblink_connect('cron', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_connect('other', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_connect('gate', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('cron', $$
    CREATE EXTENSION crm_core;
    CREATE SCHEMA app;
    CREATE TABLE app.log (job text, at timestamptz DEFAULT clock_timestamp());
    CREATE TABLE app.gate (id int);
    CREATE FUNCTION app.a() RETURNS void LANGUAGE sql AS 'INSERT INTO app.log (job) VALUES (''a'')';
    CREATE FUNCTION app.b() RETURNS void LANGUAGE plpgsql AS
        'BEGIN INSERT INTO app.log (job) VALUES (''b''); RAISE EXCEPTION ''b fails''; END';
    CREATE FUNCTION app.c() RETURNS void LANGUAGE sql AS 'INSERT INTO app.log (job) VALUES (''c'')';
    CREATE FUNCTION app.wait_at_gate() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM app.gate';
    DO $d$ BEGIN
        PERFORM crm_core.schedule_job('a', 'app.a()', '1 hour');
        PERFORM crm_core.schedule_job('b', 'app.b()', '1 hour');
        PERFORM crm_core.schedule_job('c', 'app.c()', '1 hour', start_at => now() + interval '1 day');
        PERFORM crm_core.schedule_job('gated', 'app.wait_at_gate()', '1 hour',
                                      start_at => now() + interval '1 day');
    END $d$;
$$);

-- ---- cron: CALL crm_core.run_due_jobs() ----------------------------------------------------------
SELECT is((SELECT ran || '/' || failed FROM dblink('cron', 'CALL crm_core.run_due_jobs()')
           AS t(ran integer, failed integer)), '2/1',
          'CALL crm_core.run_due_jobs() runs the two due jobs, one of which fails');
SELECT is((SELECT string_agg(job, ',' ORDER BY job) FROM dblink('other', 'SELECT job FROM app.log')
           AS t(job text)), 'a', 'what the successful job wrote is committed (another session sees it)');
SELECT is((SELECT string_agg(name || ':' || coalesce(last_result, '-'), ',' ORDER BY name)
           FROM dblink('other', 'SELECT name, last_result FROM crm_core.jobs') AS t(name text, last_result text)),
          'a:success,b:failure,c:-,gated:-', 'each result is recorded; the job not due did not run');
SELECT is((SELECT ran || '/' || failed FROM dblink('cron', 'CALL crm_core.run_due_jobs()')
           AS t(ran integer, failed integer)), '0/0', 'a second call finds nothing due');
SELECT is((SELECT count(*) FROM dblink('other', $$SELECT 1 FROM crm_core.jobs
                                                 WHERE name = 'b' AND next_due_at - last_finished_at
                                                       BETWEEN interval '4.5 seconds' AND interval '5 seconds'$$)
           AS t(x int)), 1::bigint, 'the failed job is retried after the default backoff (5 s, less jitter)');

-- ---- two runners ---------------------------------------------------------------------------------
-- (A bounded wait: were the second runner to run the job too, it would queue on the first's row.)
SELECT dblink_exec('other', 'SET lock_timeout = ''5s''');
SELECT dblink_exec('cron', 'BEGIN');
SELECT is((SELECT result FROM dblink('cron', $$SELECT result FROM crm_core.run_job('a')$$) AS t(result text)),
          'success', 'a runner runs job a; its transaction is still open');
SELECT is((SELECT result || '/' || error FROM dblink('other', $$SELECT result, error FROM crm_core.run_job('a')$$)
           AS t(result text, error text)),
          'skipped/running in another session', 'a second runner skips job a at once instead of running it twice');
SELECT dblink_exec('cron', 'COMMIT');
SELECT is((SELECT result || '/' || error FROM dblink('other', $$SELECT result, error FROM crm_core.run_job('a', true)$$)
           AS t(result text, error text)),
          'skipped/not due', 'once the first commits, a runner asking for due jobs only finds it not due');

-- ---- a cancel request is not the job's failure ------------------------------------------------------
CREATE TEMP TABLE runner AS
SELECT pid FROM dblink('cron', 'SELECT pg_backend_pid()') AS t(pid integer);
SET client_min_messages = warning;
SELECT dblink_exec('gate', 'BEGIN; LOCK TABLE app.gate IN ACCESS EXCLUSIVE MODE');
SELECT dblink_send_query('cron', $$SELECT * FROM crm_core.run_job('gated')$$);
SELECT ok(pg_temp.waits_for_lock((SELECT pid FROM runner)), 'a runner is inside job gated, waiting');
SELECT ok(pg_cancel_backend((SELECT pid FROM runner)), 'an operator cancels the runner''s statement');
SELECT is((SELECT count(*) FROM dblink_get_result('cron', false) AS t(a text, b text, c float8, d text, e int, f timestamptz)),
          0::bigint, 'the run ends');
SELECT is(split_part(dblink_error_message('cron'), E'\n', 1), 'ERROR:  canceling statement due to user request',
          'with the cancel as its error: the whole run stops');
SELECT dblink_exec('gate', 'ROLLBACK');
SELECT is((SELECT runs || '/' || coalesce(last_result, '-') FROM dblink('other', $$SELECT runs, last_result FROM crm_core.jobs WHERE name = 'gated'$$)
           AS t(runs bigint, last_result text)),
          '0/-', 'and the job is not recorded as failed (only its own statement_timeout counts as its failure)');

SELECT dblink_disconnect(c) FROM unnest(ARRAY['cron', 'other', 'gate']) AS c;
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
ROLLBACK;
