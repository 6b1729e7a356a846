-- Partition maintenance against other sessions (dblink): two runs at once, a long reader, a
-- conflicting lock. Maintenance never waits longer than lock_timeout, defers instead, and a
-- concurrent writer is never stalled. Commits its setup and removes it at the end.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT plan(23);

CREATE TEMP TABLE self AS
SELECT format('host=%s port=%s dbname=%s user=%s',
              split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port'), current_database(), current_user) AS conn;
CREATE TEMP TABLE runs (session text, action text, n bigint);
CREATE TEMP TABLE timing (what text PRIMARY KEY, seconds float8);

-- Runs sql in this session and records how long it took. The bound the tests use (5 s) is
-- far above the 200 ms lock_timeout and far below "forever": the conflicting locks are held
-- until this file commits them, so a run that queued behind them would never return, and a
-- writer that queued hits session b's 3 s statement_timeout. A tighter bound only measured
-- the machine's load (CI shares its cores).
CREATE FUNCTION pg_temp.timed(what text, sql text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    EXECUTE sql;
    INSERT INTO timing VALUES (what, extract(epoch FROM clock_timestamp() - started));
    RETURN extract(epoch FROM clock_timestamp() - started);
END
$$;

CREATE SCHEMA part_conc;
CREATE TABLE part_conc.events (id bigint GENERATED ALWAYS AS IDENTITY,
                               at timestamptz NOT NULL DEFAULT now()) PARTITION BY RANGE (at);
CREATE TEMP TABLE setup AS
SELECT * FROM crm_core.partition_by_time('part_conc.events', 'at', '1 day', 1,
                                         lock_timeout => '200 milliseconds');
CREATE TEMP TABLE maintenance_rows (action text, partition_name text, detail text);

SELECT is(dblink_connect('a', (SELECT conn FROM self)), 'OK', 'session a connected');
SELECT is(dblink_connect('b', (SELECT conn FROM self)), 'OK', 'session b connected');
SELECT is(dblink_connect('lock', (SELECT conn FROM self)), 'OK', 'session lock connected');

-- ---- two maintenance runs at the same moment -------------------------------------------------
CREATE TEMP TABLE premake AS SELECT crm_core.alter_partitioning('part_conc.events', premake => 40);
SELECT dblink_send_query(s, $q$SELECT action, count(*) FROM crm_core.run_maintenance(false, 'part_conc.events') GROUP BY action$q$)
FROM unnest(ARRAY['a', 'b']) s;
INSERT INTO runs SELECT 'a', * FROM dblink_get_result('a') AS t(action text, n bigint);
INSERT INTO runs SELECT 'b', * FROM dblink_get_result('b') AS t(action text, n bigint);
SELECT * FROM dblink_get_result('a') AS t(action text, n bigint);
SELECT * FROM dblink_get_result('b') AS t(action text, n bigint);
SELECT is((SELECT sum(n) FROM runs WHERE action = 'created'), 39::numeric,
          'two simultaneous runs create the 39 missing partitions once between them');
SELECT is((SELECT count(*) FROM runs WHERE action NOT IN ('created', 'deferred')), 0::bigint,
          'and neither fails');
SELECT is((SELECT partitions FROM crm_core.partitioned_tables
           WHERE parent = 'part_conc.events'::regclass), 41, 'today and 40 days ahead exist');

-- ---- a run in progress makes another defer at once -------------------------------------------
CREATE TEMP TABLE premake2 AS SELECT crm_core.alter_partitioning('part_conc.events', premake => 44);
SELECT dblink_exec('a', 'BEGIN');
DELETE FROM runs;
INSERT INTO runs SELECT 'a', * FROM dblink('a', $q$SELECT action, count(*) FROM crm_core.run_maintenance(false, 'part_conc.events') GROUP BY action$q$)
    AS t(action text, n bigint);
SELECT ok(pg_temp.timed('second run', $q$INSERT INTO maintenance_rows SELECT action, partition_name, detail FROM crm_core.run_maintenance(false, 'part_conc.events')$q$) < 5,
          'a second run while the first is still open returns at once');
SELECT is((SELECT array_agg(DISTINCT action || ': ' || detail) FROM maintenance_rows),
          ARRAY['deferred: another maintenance run is working on this table'],
          'and defers the table, saying why');
SELECT dblink_exec('a', 'COMMIT');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false, 'part_conc.events')), 0::bigint,
          'after the first commits, a run has nothing left to do');

-- ---- a long reader does not stop partition creation, and writers are never stalled ------------
SELECT dblink_exec('lock', 'BEGIN');
SELECT * FROM dblink('lock', 'SELECT count(*) FROM part_conc.events') AS t(n bigint);
CREATE TEMP TABLE premake3 AS SELECT crm_core.alter_partitioning('part_conc.events', premake => 48);
SELECT dblink_exec('a', 'BEGIN');
SELECT is((SELECT n FROM dblink('a', $q$SELECT count(*) FROM crm_core.run_maintenance(false, 'part_conc.events') WHERE action = 'created'$q$)
           AS t(n bigint)), 4::bigint,
          'with a reader holding its lock, maintenance creates the partitions (ATTACH needs no exclusive lock)');
SELECT dblink_exec('b', 'SET statement_timeout = 3000');
SELECT ok(pg_temp.timed('writer during attach', $q$SELECT dblink_exec('b', 'INSERT INTO part_conc.events DEFAULT VALUES')$q$) < 5,
          'a writer inserts at once while the maintenance transaction is still open');
SELECT dblink_exec('a', 'COMMIT');
SELECT dblink_exec('lock', 'COMMIT');

-- ---- a conflicting lock: maintenance waits at most lock_timeout, once, and defers ------------
CREATE TEMP TABLE premake4 AS SELECT crm_core.alter_partitioning('part_conc.events', premake => 52);
SELECT dblink_exec('lock', 'BEGIN');
SELECT dblink_exec('lock', 'LOCK TABLE part_conc.events IN SHARE UPDATE EXCLUSIVE MODE');
DELETE FROM maintenance_rows;
SELECT dblink_send_query('a', $q$SELECT action, partition_name, detail FROM crm_core.run_maintenance(false, 'part_conc.events')$q$);
SELECT ok(pg_temp.timed('writer during wait', $q$SELECT dblink_exec('b', 'INSERT INTO part_conc.events DEFAULT VALUES')$q$) < 5,
          'a writer is not stalled while maintenance waits for its lock');
INSERT INTO maintenance_rows SELECT * FROM dblink_get_result('a') AS t(action text, partition_name text, detail text);
SELECT * FROM dblink_get_result('a') AS t(action text, partition_name text, detail text);
SELECT ok(pg_temp.timed('deferred run', $q$INSERT INTO maintenance_rows SELECT action, partition_name, detail FROM crm_core.run_maintenance(false, 'part_conc.events')$q$) < 5,
          'maintenance under a conflicting lock returns within about one lock_timeout');
SELECT is((SELECT count(*) FROM maintenance_rows WHERE action = 'deferred' AND detail LIKE 'lock\_timeout (00:00:00.2) expired%'),
          2::bigint, 'each run defers its first step on lock_timeout');
SELECT is((SELECT count(*) FROM maintenance_rows WHERE action <> 'deferred'), 0::bigint,
          'and the remaining steps without waiting again');
SELECT dblink_exec('lock', 'COMMIT');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false, 'part_conc.events') WHERE action = 'created'),
          4::bigint, 'once the lock is gone, the next run creates what was deferred');

-- ---- retention under a long reader: DETACH defers instead of queueing writers ---------------
CREATE TABLE part_conc.events_old PARTITION OF part_conc.events
    FOR VALUES FROM (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '30 days')
    TO (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '29 days');
CREATE TEMP TABLE retention AS
    SELECT crm_core.alter_partitioning('part_conc.events', retention => '10 days');
SELECT dblink_exec('lock', 'BEGIN');
SELECT * FROM dblink('lock', 'SELECT count(*) FROM part_conc.events') AS t(n bigint);
DELETE FROM maintenance_rows;
SELECT ok(pg_temp.timed('retention under reader', $q$INSERT INTO maintenance_rows SELECT action, partition_name, detail FROM crm_core.run_maintenance(false, 'part_conc.events')$q$) < 5,
          'retention behind a reader returns within about one lock_timeout');
SELECT is((SELECT action FROM maintenance_rows WHERE partition_name = 'events_old'), 'deferred',
          'and defers the DETACH');
SELECT dblink_exec('lock', 'COMMIT');
SELECT is((SELECT action FROM crm_core.run_maintenance(false, 'part_conc.events')
           WHERE partition_name = 'events_old'), 'retired', 'the next run retires it');

-- ---- a default partition: a long reader makes ATTACH wait, maintenance defers in time ------
CREATE TABLE part_conc.calls (id bigint GENERATED ALWAYS AS IDENTITY,
                              at timestamptz NOT NULL DEFAULT now()) PARTITION BY RANGE (at);
CREATE TEMP TABLE setup_calls AS
SELECT * FROM crm_core.partition_by_time('part_conc.calls', 'at', '1 day', 1,
                                         lock_timeout => '200 milliseconds',
                                         default_partition => true);
CREATE TEMP TABLE premake5 AS SELECT crm_core.alter_partitioning('part_conc.calls', premake => 3);
SELECT dblink_exec('lock', 'BEGIN');
SELECT * FROM dblink('lock', 'SELECT count(*) FROM part_conc.calls') AS t(n bigint);
DELETE FROM maintenance_rows;
SELECT ok(pg_temp.timed('default behind reader', $q$INSERT INTO maintenance_rows SELECT action, partition_name, detail FROM crm_core.run_maintenance(false, 'part_conc.calls')$q$) < 5,
          'with a default partition read by a long transaction, maintenance returns within about one lock_timeout');
SELECT is((SELECT array_agg(DISTINCT action) FROM maintenance_rows), ARRAY['deferred'],
          'and defers the new partitions');
SELECT ok(pg_temp.timed('writer after deferral', $q$SELECT dblink_exec('b', 'INSERT INTO part_conc.calls DEFAULT VALUES')$q$) < 5,
          'writers are not left waiting behind it');
SELECT dblink_exec('lock', 'COMMIT');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false, 'part_conc.calls') WHERE action = 'created'),
          2::bigint, 'the next run creates them');

-- ---- clean up what this file committed -------------------------------------------------------
SELECT dblink_disconnect(s) FROM unnest(ARRAY['a', 'b', 'lock']) s;
SELECT crm_core.unregister_partitioning('part_conc.events');
SELECT crm_core.unregister_partitioning('part_conc.calls');
DELETE FROM crm_core.partition_log WHERE parent LIKE 'part_conc.%';
DROP SCHEMA part_conc CASCADE;

SELECT * FROM finish();
