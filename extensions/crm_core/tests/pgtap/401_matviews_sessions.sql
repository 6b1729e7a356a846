-- Materialized-view refreshes seen from two sessions (dblink): readers keep reading during a
-- concurrent refresh, a second caller skips a view being refreshed, lock_timeout fails one
-- view fast and the next call retries it. Fixtures are committed, and dropped at the end.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
DROP SCHEMA IF EXISTS mvc CASCADE;
DO $$
BEGIN
    CREATE SCHEMA mvc;
    CREATE TABLE mvc.src (id bigint PRIMARY KEY, amount numeric NOT NULL);
    INSERT INTO mvc.src SELECT g, g FROM generate_series(1, 1000) AS g;
    CREATE TABLE mvc.src2 AS SELECT * FROM mvc.src;
    CREATE MATERIALIZED VIEW mvc.conc AS SELECT id, amount FROM mvc.src;
    CREATE UNIQUE INDEX ON mvc.conc (id);
    CREATE MATERIALIZED VIEW mvc.block AS SELECT id, amount FROM mvc.src2;
    CREATE MATERIALIZED VIEW mvc.other AS SELECT count(*) AS n FROM mvc.src2;
    CREATE UNIQUE INDEX ON mvc.other (n);
    PERFORM crm_core.register_matview('mvc.conc', '1 hour', lock_timeout => '200 milliseconds');
    PERFORM crm_core.register_matview('mvc.block', '1 hour', concurrently => false);
    PERFORM crm_core.register_matview('mvc.other', '1 hour');
END
$$;
DO $$
BEGIN
    PERFORM dblink_connect('refresher',
        format('host=%s port=%s dbname=%s user=%s',
               split_part(current_setting('unix_socket_directories'), ',', 1),
               current_setting('port'), current_database(), current_user));
    -- A mistake in this file becomes a failure, not a hang.
    PERFORM dblink_exec('refresher', 'SET statement_timeout = ''20s''');
END
$$;
SET statement_timeout = '20s';

BEGIN;
SELECT plan(18);

-- refresh_due_each() commits after each view; a procedure that commits cannot run inside this
-- test's transaction, so the other session calls it. All three views are due (never refreshed).
SELECT is(dblink_exec('refresher', 'CALL crm_core.refresh_due_each()'), 'CALL',
          'refresh_due_each() runs as a procedure');
SELECT is((SELECT count(*) FROM crm_core.matview_status WHERE view::text LIKE 'mvc.%'
           AND last_status = 'refreshed'),
          3::bigint, 'and refreshed (and committed) every due view');

-- A concurrent refresh in another session, its transaction left open.
SELECT is(dblink_exec('refresher', 'BEGIN'), 'BEGIN', 'the refresher opens a transaction');
SELECT is((SELECT status FROM dblink('refresher', $$SELECT status FROM crm_core.refresh_now('mvc.conc')$$)
           AS t(status text)),
          'refreshed', 'and refreshes mvc.conc concurrently without committing');
SELECT ok(EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'mvc.conc'::regclass AND mode = 'ExclusiveLock'
                  AND granted AND pid <> pg_backend_pid()),
          'it still holds the refresh''s ExclusiveLock');
SET LOCAL lock_timeout = '2s';
SELECT is((SELECT count(*) FROM mvc.conc), 1000::bigint,
          'a reader''s SELECT completes meanwhile: readers are not blocked');
SELECT results_eq($$SELECT status, message FROM crm_core.refresh_now('mvc.conc')$$,
                  $$VALUES ('skipped', 'another session is refreshing it; retried on the next call')$$,
                  'a second caller skips the view instead of refreshing it at the same time');
SELECT is(dblink_exec('refresher', 'COMMIT'), 'COMMIT', 'the refresher commits');

-- The contrast: a non-concurrent refresh blocks readers until it commits.
SELECT is(dblink_exec('refresher', 'BEGIN'), 'BEGIN', 'the refresher opens another transaction');
SELECT is((SELECT status FROM dblink('refresher', $$SELECT status FROM crm_core.refresh_now('mvc.block')$$)
           AS t(status text)),
          'refreshed', 'and refreshes mvc.block without CONCURRENTLY');
SET LOCAL lock_timeout = '100ms';
SELECT throws_ok($$SELECT count(*) FROM mvc.block$$, '55P03', 'canceling statement due to lock timeout',
                 'readers of a non-concurrently refreshing view wait (here: time out)');
SELECT is(dblink_exec('refresher', 'ROLLBACK'), 'ROLLBACK', 'the refresher rolls back');
SET LOCAL lock_timeout = 0;

-- lock_timeout: the refresher holds a lock on mvc.conc's source that its refresh must wait for.
SELECT is(dblink_exec('refresher', 'BEGIN'), 'BEGIN', 'the refresher opens a third transaction');
SELECT is(dblink_exec('refresher', 'LOCK TABLE mvc.src IN ACCESS EXCLUSIVE MODE'), 'LOCK TABLE',
          'and locks mvc.conc''s source table');
UPDATE crm_core.matview_state SET last_success_at = now() - interval '2 hours'
 WHERE view::text LIKE 'mvc.%';
CREATE TEMP TABLE blocked_run AS
    SELECT r.*, clock_timestamp() AS finished FROM crm_core.refresh_due() AS r WHERE r.view::text LIKE 'mvc.%';
SELECT results_eq($$SELECT view::text, status, message FROM blocked_run ORDER BY 1$$,
                  $$VALUES ('mvc.block', 'refreshed', NULL),
                           ('mvc.conc', 'failed', 'canceling statement due to lock timeout'),
                           ('mvc.other', 'refreshed', NULL)$$,
                  'a view whose lock is held fails after its own lock_timeout; the others refresh');
SELECT ok((SELECT duration_ms BETWEEN 150 AND 1900 FROM blocked_run WHERE view = 'mvc.conc'::regclass),
          'it gave up after about its 200 ms lock_timeout');
SELECT dblink_exec('refresher', 'ROLLBACK');
SELECT results_eq($$SELECT view::text, status FROM crm_core.refresh_due() WHERE view::text LIKE 'mvc.%'$$,
                  $$VALUES ('mvc.conc', 'refreshed')$$,
                  'the next call retries it, and only it');
SELECT results_eq($$SELECT status, sqlstate FROM crm_core.matview_history
                    WHERE view = 'mvc.conc'::regclass ORDER BY id DESC LIMIT 2$$,
                  $$VALUES ('refreshed', NULL), ('failed', '55P03')$$,
                  'history records the lock timeout with its SQLSTATE, then the retry');

SELECT * FROM finish();
ROLLBACK;

DO $$ BEGIN PERFORM dblink_disconnect('refresher'); END $$;
DROP SCHEMA mvc CASCADE;
