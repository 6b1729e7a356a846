-- Four sending workers in four real sessions (dblink, asynchronous) claim the outbox at the
-- same time, batch after batch, one of them rolling back every third batch: every message is
-- sent exactly once, none is handed out twice, none is lost. Then the collection jobs run the
-- way cron users run them (CALL crm_core.run_due_jobs(), committing between jobs).
BEGIN;
SELECT plan(8);
\set scratch_prefix crm_collections_workflow_sessions_
\ir ../../../crm_core/tests/pgtap/lib/scratch.sql

SELECT dblink_connect('w' || i, pg_temp.connstr(pg_temp.scratch())) FROM generate_series(1, 4) AS i;
SELECT dblink_exec('w1', $setup$
    SET client_min_messages = warning;
    CREATE EXTENSION IF NOT EXISTS crm_collections CASCADE;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'acme');
    DO $do$ BEGIN PERFORM collections.setup_business(1); END $do$;
    INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (1, 1, 'Jeanne Martin', '0612345678');
    INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, due_on)
    VALUES (1, 1, 1, 'LOAN-1', 6000, CURRENT_DATE - 20);
    INSERT INTO collections.outbox (business_id, channel, recipient, body, debt_account_id, customer_id, as_of, dedup_key)
    SELECT 1, 'sms', '+33612345678', 'message ' || i, 1, 1, CURRENT_DATE, 'test:' || i
      FROM generate_series(1, 2000) AS i;
    CREATE TABLE claimed (worker int NOT NULL, id bigint NOT NULL);
    -- Claims batches until none is left; worker 4 rolls back every third batch (a crash before
    -- the commit): those messages go back to the others.
    CREATE PROCEDURE work(worker int) LANGUAGE plpgsql AS $proc$
    DECLARE
        message record;
        batch int := 0;
        got int;
    BEGIN
        LOOP
            batch := batch + 1;
            got := 0;
            FOR message IN SELECT id FROM collections.claim_outbox('sms', 37) LOOP
                INSERT INTO claimed VALUES (worker, message.id);
                PERFORM collections.outbox_done(message.id, 'worker ' || worker);
                got := got + 1;
            END LOOP;
            IF worker = 4 AND batch % 3 = 0 THEN
                ROLLBACK;
            ELSE
                COMMIT;
            END IF;
            EXIT WHEN got = 0;
        END LOOP;
    END $proc$;
$setup$);

SELECT dblink_send_query('w' || i, format('CALL work(%s)', i)) FROM generate_series(1, 4) AS i;
-- dblink_get_result waits for each worker's CALL (no sleeps); a second call drains it.
SELECT is((SELECT array_agg(r.status ORDER BY i) FROM generate_series(1, 4) AS i
            CROSS JOIN LATERAL dblink_get_result('w' || i) AS r(status text)),
          ARRAY['CALL', 'CALL', 'CALL', 'CALL'], 'four workers claimed the outbox at the same time, to the end');
SELECT count(*) AS drained FROM generate_series(1, 4) AS i CROSS JOIN LATERAL dblink_get_result('w' || i) AS r(status text) \gset

SELECT is(pg_temp.q('w1', 'SELECT count(*) FROM claimed'), '2000', 'every message was handed out and committed once');
SELECT is(pg_temp.q('w1', 'SELECT count(DISTINCT id) FROM claimed'), '2000', 'no message was handed out twice');
SELECT is(pg_temp.q('w1', 'SELECT string_agg(status || ''='' || n, '','') FROM (SELECT status, count(*) AS n FROM collections.outbox GROUP BY status) s'),
          'sent=2000', 'none is lost: all sent');
SELECT ok(pg_temp.q('w1', 'SELECT count(DISTINCT worker) FROM claimed')::int >= 2, 'the work was shared');

-- cron users: CALL crm_core.run_due_jobs() runs the three jobs, each in its own transaction
SELECT dblink_exec('w2', $$UPDATE crm_core.job SET next_due_at = now() - interval '1 second' WHERE name LIKE 'collections.%'$$);
SELECT is((SELECT format('%s ran, %s failed', ran, failed) FROM dblink('w2', 'CALL crm_core.run_due_jobs()') AS t(ran int, failed int)),
          '3 ran, 0 failed', 'run_due_jobs runs the three collection jobs');
SELECT is(pg_temp.q('w2', 'SELECT string_agg(name || '':'' || last_result, '','' ORDER BY name) FROM crm_core.jobs WHERE name LIKE ''collections.%'''),
          'collections.run_dpd:success,collections.run_dunning:success,collections.run_promises:success',
          'the collection jobs ran and succeeded (their metrics: runs, failures, duration)');
SELECT is(pg_temp.q('w2', 'SELECT string_agg(job, '','' ORDER BY job) FROM collections.job_run'),
          'run_dunning,run_promises', 'the workflow''s two left their counts in collections.job_run');

SELECT dblink_disconnect('w' || i) FROM generate_series(1, 4) AS i;
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));
SELECT * FROM finish();
ROLLBACK;
