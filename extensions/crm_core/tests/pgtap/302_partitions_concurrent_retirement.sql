-- Retention by DETACH PARTITION ... CONCURRENTLY (detach_concurrently): run_maintenance() never
-- detaches such a table's partitions itself; crm_core.concurrent_retirements() lists the
-- top-level statements that do (as crm-core-service and the documented psql line run them), and
-- finish_retirement() drops, archives or keeps the detached table. A session of its own (dblink, autocommit: DETACH ... CONCURRENTLY runs
-- outside a transaction block) in a scratch database. That readers and writers of the parent
-- are not blocked meanwhile, and a detach interrupted by a reader (finished with FINALIZE):
-- tests/isolation/specs/concurrent_retirement.spec.
BEGIN;
SET client_min_messages = warning;
SELECT plan(20);
\set scratch_prefix crm_core_retire_
\ir lib/scratch.sql

-- Runs every statement concurrent_retirements() lists in session conn, in order, each on its own
-- (as psql's \gexec does, carrying on after an error); returns the errors, or 'ok'.
CREATE FUNCTION pg_temp.run_retirements(conn text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    step record;
    errors text[] := '{}';
BEGIN
    FOR step IN SELECT * FROM dblink(conn, 'SELECT * FROM crm_core.concurrent_retirements()')
                AS t(set_lock_timeout text, detach text, finish text) LOOP
        PERFORM dblink_exec(conn, step.set_lock_timeout);
        IF dblink_exec(conn, step.detach, false) <> 'ALTER TABLE' THEN
            errors := errors || dblink_error_message(conn);
        END IF;
        PERFORM * FROM dblink(conn, step.finish) AS f(parent text, action text, partition_name text, detail text);
    END LOOP;
    RETURN coalesce(NULLIF(array_to_string(errors, '; '), ''), 'ok');
END
$$;
SELECT dblink_connect('s', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('s', $$
    CREATE EXTENSION crm_core;
    CREATE SCHEMA app;
    CREATE SCHEMA archive;
    CREATE TABLE app.events (at timestamptz NOT NULL, n int) PARTITION BY RANGE (at);
    CREATE TABLE app.events_p200001 PARTITION OF app.events
        FOR VALUES FROM ('2000-01-01 00:00+00') TO ('2000-02-01 00:00+00');
    CREATE TABLE app.events_p200002 PARTITION OF app.events
        FOR VALUES FROM ('2000-02-01 00:00+00') TO ('2000-03-01 00:00+00');
    INSERT INTO app.events VALUES ('2000-01-15', 1), ('2000-02-15', 2);
    CREATE TABLE app.kept (at timestamptz NOT NULL) PARTITION BY RANGE (at);
    CREATE TABLE app.archived (at timestamptz NOT NULL) PARTITION BY RANGE (at);
    CREATE TABLE app.with_default (at timestamptz NOT NULL) PARTITION BY RANGE (at);
    CREATE TABLE app.with_default_default PARTITION OF app.with_default DEFAULT;
    CREATE TABLE app.stray (at timestamptz);
$$);

-- ---- registration ----------------------------------------------------------------------------
SELECT is(pg_temp.q('s', $$SELECT count(*)::text FROM crm_core.partition_by_time('app.events', 'at', '1 month', 1,
                                  '1 year', 'drop', detach_concurrently => true)$$) > '0', true,
          'partition_by_time(..., detach_concurrently => true) registers a table');
SELECT dblink_exec('s', 'INSERT INTO app.events VALUES (now(), 3)');
SELECT is(pg_temp.q('s', $$SELECT detach_concurrently::text FROM crm_core.partition_config
                          WHERE parent = 'app.events'::regclass$$), 'true', 'the setting is kept in partition_config');
SELECT throws_ok($$SELECT pg_temp.q('s', 'SELECT count(*)::text FROM crm_core.partition_by_time(''app.with_default'',
                   ''at'', ''1 month'', 1, ''1 year'', detach_concurrently => true)')$$,
                 '55000', 'table app.with_default cannot retire partitions concurrently: it has a default partition',
                 'a table with a default partition cannot retire concurrently (PostgreSQL refuses it)');
SELECT throws_ok($$SELECT pg_temp.q('s', 'SELECT count(*)::text FROM crm_core.partition_by_time(''app.kept'',
                   ''at'', ''1 month'', 1, ''1 year'', default_partition => true, detach_concurrently => true)')$$,
                 '55000', 'table app.kept cannot retire partitions concurrently: it has a default partition',
                 'nor one registered with a default partition');
SELECT pg_temp.q('s', $$SELECT count(*)::text FROM crm_core.partition_by_time('app.kept', 'at', '1 month', 1, '1 year')$$);
SELECT pg_temp.q('s', $$SELECT count(*)::text FROM crm_core.partition_by_time('app.archived', 'at', '1 month', 1,
                        '1 year', 'archive', 'archive')$$);
SELECT pg_temp.q('s', $$SELECT count(*)::text FROM crm_core.partition_by_time('app.with_default', 'at', '1 month', 1, '1 year')$$);
SELECT is(pg_temp.q('s', $$SELECT (crm_core.alter_partitioning('app.archived', detach_concurrently => true)).detach_concurrently::text$$),
          'true', 'alter_partitioning(..., detach_concurrently => true) switches a table to concurrent retirement');
-- Old partitions made after registration (registering retires what is already past retention).
SELECT dblink_exec('s', $$
    CREATE TABLE app.archived_p200001 PARTITION OF app.archived
        FOR VALUES FROM ('2000-01-01 00:00+00') TO ('2000-02-01 00:00+00');
    CREATE TABLE app.kept_p200001 PARTITION OF app.kept
        FOR VALUES FROM ('2000-01-01 00:00+00') TO ('2000-02-01 00:00+00');
$$);
SELECT throws_ok($$SELECT pg_temp.q('s', 'SELECT (crm_core.alter_partitioning(''app.with_default'', detach_concurrently => true))::text')$$,
                 '55000', 'table app.with_default cannot retire partitions concurrently: it has a default partition',
                 'alter_partitioning refuses it for a table with a default partition');

-- ---- run_maintenance() leaves them alone --------------------------------------------------------
SELECT dblink_exec('s', 'BEGIN');
SELECT is(pg_temp.q('s', $$SELECT string_agg(partition_name || ' ' || action, ', ' ORDER BY partition_name)
                          FROM crm_core.run_maintenance(false, 'app.events') WHERE action <> 'created'$$),
          'events_p200001 deferred, events_p200002 deferred',
          'run_maintenance() defers the retirements of a detach_concurrently table');
SELECT is(pg_temp.q('s', $$SELECT count(*)::text FROM pg_locks WHERE pid = pg_backend_pid()
                          AND relation = 'app.events'::regclass AND mode = 'AccessExclusiveLock'$$), '0',
          'and takes no ACCESS EXCLUSIVE lock on the parent');
SELECT dblink_exec('s', 'COMMIT');
SELECT is(pg_temp.q('s', $$SELECT detail FROM crm_core.partition_log WHERE partition_name = 'events_p200001'
                          ORDER BY id DESC LIMIT 1$$),
          'retired by DETACH PARTITION ... CONCURRENTLY outside a transaction: run the statements of '
          'crm_core.concurrent_retirements() (crm-core-service does; see docs/partitions.md)',
          'it logs where the retirement happens instead');
SELECT is(pg_temp.q('s', $$SELECT count(*)::text FROM pg_inherits WHERE inhparent = 'app.events'::regclass
                          AND inhrelid IN ('app.events_p200001'::regclass, 'app.events_p200002'::regclass)$$),
          '2', 'both old partitions are still attached');

-- ---- the top-level statements ------------------------------------------------------------------------
SELECT is(pg_temp.q('s', $$SELECT string_agg(concat_ws(' | ', set_lock_timeout, detach, finish), E'\n')
                          FROM crm_core.concurrent_retirements() WHERE detach LIKE '%events%'$$),
          $$SET lock_timeout = '100ms' | ALTER TABLE app.events DETACH PARTITION app.events_p200001 CONCURRENTLY | SELECT * FROM crm_core.finish_retirement('app.events', 'app.events_p200001')
SET lock_timeout = '100ms' | ALTER TABLE app.events DETACH PARTITION app.events_p200002 CONCURRENTLY | SELECT * FROM crm_core.finish_retirement('app.events', 'app.events_p200002')$$,
          'concurrent_retirements() lists, per partition past retention: its lock_timeout, the concurrent detach, the finish');
SELECT is(pg_temp.q('s', $$SELECT string_agg(detach, ', ') FROM crm_core.concurrent_retirements()
                          WHERE detach NOT LIKE '%events%'$$),
          'ALTER TABLE app.archived DETACH PARTITION app.archived_p200001 CONCURRENTLY',
          'only for detach_concurrently tables (not app.kept, not the table with a default partition)');
SELECT is(pg_temp.run_retirements('s'), 'ok', 'each statement runs as a top-level statement');
SELECT is(pg_temp.q('s', $$SELECT string_agg(c.relname, ',') FROM pg_class c
                          WHERE c.relname IN ('events_p200001', 'events_p200002')$$), NULL,
          'the detached partitions of app.events are dropped (its retention action)');
SELECT is(pg_temp.q('s', $$SELECT string_agg(partition_name || ': ' || detail, ', ' ORDER BY partition_name)
                          FROM crm_core.partition_log WHERE action = 'retired'$$),
          'archived_p200001: detached concurrently and moved to schema archive, '
          'events_p200001: detached concurrently and dropped, events_p200002: detached concurrently and dropped',
          'the retirements are logged; app.archived''s partition went to its archive schema');
SELECT is(pg_temp.q('s', $$SELECT (SELECT count(*) FROM archive.archived_p200001) || '/' ||
                                 (SELECT count(*) FROM app.events)$$), '0/1',
          'the archived table is whole, and the parent keeps its current rows');
SELECT is(pg_temp.q('s', $$SELECT count(*)::text FROM crm_core.concurrent_retirements()$$), '0',
          'nothing is left to retire');

-- ---- refusals and privileges -----------------------------------------------------------------------------
SELECT throws_ok($$SELECT pg_temp.q('s', 'SELECT action FROM crm_core.finish_retirement(''app.stray'', ''app.stray'')')$$,
                 '42704', 'table app.stray is not registered for partition maintenance',
                 'finish_retirement() refuses a table that is not registered');
SELECT throws_ok($$SELECT pg_temp.q('s', 'SELECT action FROM crm_core.finish_retirement(''app.events'', ''archive.archived_p200001'')')$$,
                 '22023', 'archive.archived_p200001 is not a partition detached from app.events',
                 'and a table that is not a detached partition of the parent');
SELECT is(pg_temp.q('s', $$SELECT string_agg(p.proname, ',') FROM pg_proc p
                          WHERE p.pronamespace = 'crm_core'::regnamespace
                            AND p.proname IN ('concurrent_retirements', 'finish_retirement', '_dispose_retired')
                            AND has_function_privilege('public', p.oid, 'EXECUTE')$$), NULL,
          'none of the retirement functions is executable by PUBLIC');

SELECT dblink_disconnect('s');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
ROLLBACK;
