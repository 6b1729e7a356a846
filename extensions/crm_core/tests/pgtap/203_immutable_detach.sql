-- DETACH PARTITION ... CONCURRENTLY runs in two transactions and cannot run inside a
-- transaction block: it is tried through dblink in a scratch database, as the non-superuser
-- owner of an append-only table. A refusal must leave the partition attached, not half detached.
BEGIN;
SELECT plan(8);
\set scratch_prefix crm_core_detach_
\ir lib/scratch.sql

-- The owner role is cluster-wide and committed (the scratch sessions must see it); it is
-- dropped at the end.
SELECT dblink_exec(pg_temp.connstr('postgres'), $$
    DO $do$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_core_detach_owner') THEN
            CREATE ROLE crm_core_detach_owner NOLOGIN;
        END IF;
    END $do$;
$$);
SELECT dblink_connect('owner', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('owner', $$
    CREATE EXTENSION crm_core;
    CREATE SCHEMA detach AUTHORIZATION crm_core_detach_owner;
    SET ROLE crm_core_detach_owner;
    CREATE TABLE detach.event (id bigint PRIMARY KEY, note text) PARTITION BY RANGE (id);
    CREATE TABLE detach.event_1 PARTITION OF detach.event FOR VALUES FROM (0) TO (100);
    CREATE TABLE detach.event_2 PARTITION OF detach.event FOR VALUES FROM (100) TO (200);
    INSERT INTO detach.event VALUES (1, 'a'), (101, 'b');
    RESET ROLE;
    DO $do$ BEGIN PERFORM crm_core.make_append_only('detach.event'); END $do$;
$$);

SELECT dblink_exec('owner', 'SET ROLE crm_core_detach_owner');
SELECT throws_ok($$SELECT dblink_exec('owner',
                    'ALTER TABLE detach.event DETACH PARTITION detach.event_1 CONCURRENTLY')$$,
                 '42501', 'detaching detach.event_1 from its append-only table is refused',
                 'owner: DETACH PARTITION ... CONCURRENTLY of an append-only partition is refused');
SELECT dblink_exec('owner', 'RESET ROLE');
SELECT is((SELECT pending FROM dblink('owner', $$SELECT inhdetachpending FROM pg_inherits
                                               WHERE inhrelid = 'detach.event_1'::regclass$$)
                                  AS t(pending boolean)),
          false, 'the refused DETACH CONCURRENTLY left the partition attached, not pending');
SELECT is((SELECT n FROM dblink('owner', 'SELECT count(*) FROM detach.event') AS t(n bigint)),
          2::bigint, 'its rows are still in the table');
SELECT lives_ok($$SELECT dblink_exec('owner', 'INSERT INTO detach.event VALUES (2, ''c'')')$$,
                'and rows still go into it');
SELECT dblink_exec('owner', 'SET ROLE crm_core_detach_owner');
SELECT throws_ok($$SELECT dblink_exec('owner',
                    'ALTER TABLE detach.event DETACH PARTITION detach.event_1 FINALIZE')$$,
                 '42501', 'detaching detach.event_1 from its append-only table is refused',
                 'owner: DETACH ... FINALIZE is refused the same way');
SELECT dblink_exec('owner', 'RESET ROLE');

-- A superuser may detach concurrently: the detached partition stays append-only on its own.
SELECT lives_ok($$SELECT dblink_exec('owner',
                    'ALTER TABLE detach.event DETACH PARTITION detach.event_2 CONCURRENTLY')$$,
                'a superuser detaches a partition concurrently');
SELECT is((SELECT n FROM dblink('owner', $$SELECT count(*) FROM crm_core.append_only_table
                                           WHERE relid = 'detach.event_2'::regclass$$) AS t(n bigint)),
          1::bigint, 'the partition a superuser detached is registered append-only on its own');
SELECT throws_ok($$SELECT dblink_exec('owner', 'DELETE FROM detach.event_2')$$, '55000',
                 'DELETE on detach.event_2 is refused: its rows are append-only',
                 'and keeps refusing to lose rows');

SELECT dblink_disconnect('owner');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));
SELECT dblink_exec(pg_temp.connstr('postgres'), 'DROP ROLE crm_core_detach_owner');

SELECT * FROM finish();
ROLLBACK;
