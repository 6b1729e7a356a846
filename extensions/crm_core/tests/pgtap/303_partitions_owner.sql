-- Partition maintenance as an attacker sees it. A table owner's code (a CHECK constraint, an
-- index predicate) runs as that owner, never as the superuser who runs maintenance; maintenance
-- creates and archives only where the owner itself could; one run creates a bounded number of
-- partitions (the newest first) and never exhausts the lock table; and no role can squat the
-- lock that serializes maintenance of a table.
BEGIN;
SELECT plan(27);
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;

CREATE ROLE part_mallory;  -- a table owner, not a superuser
CREATE SCHEMA mal AUTHORIZATION part_mallory;
CREATE SCHEMA part_sec;  -- the superuser's: part_mallory may not create here
CREATE SCHEMA part_vault;
CREATE FUNCTION pg_temp.slot(shift interval DEFAULT '0') RETURNS timestamp
    LANGUAGE sql AS $$ SELECT date_trunc('day', now() AT TIME ZONE 'UTC') + shift $$;

-- ---- the owner's code runs as the owner (item 6) ----------------------------------------------
SET ROLE part_mallory;
-- Raises unless run as part_mallory: declared IMMUTABLE, so PostgreSQL folds the call without
-- arguments while it creates and attaches a partition; the other runs for every row moved.
CREATE FUNCTION mal.as_owner() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF current_user <> 'part_mallory' THEN
        RAISE EXCEPTION 'owner code ran as %', current_user;
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION mal.as_owner(at timestamptz) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN mal.as_owner();
END $$;
CREATE TABLE mal.events (id bigint, at timestamptz NOT NULL CHECK (mal.as_owner(at)),
                         CONSTRAINT folded CHECK (mal.as_owner())) PARTITION BY RANGE (at);
CREATE INDEX events_recent ON mal.events (id) WHERE mal.as_owner();
CREATE TABLE mal.events_default PARTITION OF mal.events DEFAULT;
INSERT INTO mal.events VALUES (1, now() - interval '40 days');
RESET ROLE;

CREATE TEMP TABLE registered AS
    SELECT * FROM crm_core.partition_by_time('mal.events', 'at', '1 day', 2);
SELECT is((SELECT array_agg(DISTINCT action) FROM registered), ARRAY['created'],
          'a superuser registers an owner''s table: every partition is created, none fails');
SELECT is((SELECT count(*) FROM crm_core.partition_log
           WHERE parent = 'mal.events' AND detail LIKE 'owner code ran as %'), 0::bigint,
          'the owner''s functions never ran as the superuser');
SELECT is((SELECT array_agg(DISTINCT relowner::regrole::text) FROM pg_class c
           JOIN pg_inherits i ON i.inhrelid = c.oid WHERE i.inhparent = 'mal.events'::regclass),
          ARRAY['part_mallory'], 'the partitions are the owner''s');
SELECT is((SELECT action FROM crm_core.move_default_rows('mal.events')), 'moved',
          'rows leave the default partition through the owner''s CHECK, run as the owner');
-- (Reading the table plans its CHECK constraints: only its owner's session may do that.)
SET ROLE part_mallory;
SELECT is((SELECT tableoid::regclass::text FROM mal.events WHERE id = 1),
          'mal.events_p' || to_char(pg_temp.slot('-40 days'), 'YYYYMMDD'),
          'and the row is in its own day now');
RESET ROLE;

-- ---- only where the owner itself could create (item 6) ------------------------------------------
CREATE TABLE part_sec.calls (at timestamptz NOT NULL) PARTITION BY RANGE (at);
ALTER TABLE part_sec.calls OWNER TO part_mallory;
SELECT throws_ok($$SELECT crm_core.partition_by_time('part_sec.calls', 'at', '1 day', 1)$$,
                 '42501', 'part_mallory, the owner of part_sec.calls, cannot create tables in schema part_sec',
                 'a table whose owner cannot create partitions beside it is refused');
CREATE TABLE mal.archived (at timestamptz NOT NULL) PARTITION BY RANGE (at);
ALTER TABLE mal.archived OWNER TO part_mallory;
SELECT throws_ok($$SELECT crm_core.partition_by_time('mal.archived', 'at', '1 day', 1, '1 year', 'archive',
                                                     'part_vault')$$,
                 '42501', 'part_mallory, the owner of mal.archived, cannot create tables in archive schema part_vault',
                 'an archive schema the owner cannot create in is refused');
GRANT USAGE, CREATE ON SCHEMA part_sec TO part_mallory;
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('part_sec.calls', 'at', '1 day', 1)
           WHERE action = 'created'), 2::bigint, 'with CREATE on the schema it is accepted');
REVOKE CREATE ON SCHEMA part_sec FROM part_mallory;  -- USAGE stays
SELECT crm_core.alter_partitioning('part_sec.calls', premake => 2) IS NOT NULL AS altered;
SELECT is((SELECT action || ': ' || detail FROM crm_core.run_maintenance(false, 'part_sec.calls')),
          'failed: permission denied for schema part_sec (SQLSTATE 42501)',
          'when the owner loses CREATE, maintenance fails that step instead of creating as the superuser');
SELECT throws_ok($$SELECT crm_core.alter_partitioning('part_sec.calls', retention => '1 year',
                                                      retention_action => 'archive',
                                                      archive_schema => 'part_vault')$$,
                 '42501', 'part_mallory, the owner of part_sec.calls, cannot create tables in archive schema part_vault',
                 'alter_partitioning checks the archive schema too');

-- ---- a bounded number of partitions per run, newest first (item 19) ---------------------------
CREATE TABLE public.part_backlog (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE public.part_backlog_old PARTITION OF public.part_backlog
    FOR VALUES FROM ((pg_temp.slot('-100 days') AT TIME ZONE 'UTC'))
    TO ((pg_temp.slot('-99 days') AT TIME ZONE 'UTC'));
CREATE TEMP TABLE first_run AS
    SELECT * FROM crm_core.partition_by_time('public.part_backlog', 'at', '1 day', 2);
SELECT is((SELECT count(*) FROM first_run WHERE action = 'created'), 64::bigint,
          'one old partition: the first run creates 64 partitions, not 102');
SELECT is((SELECT partitions_ahead FROM crm_core.partitioned_tables
           WHERE parent = 'public.part_backlog'::regclass), 2,
          'today and the premade days come first');
SELECT is((SELECT min(lower_bound) FROM crm_core._partition_bounds('public.part_backlog')
           WHERE table_name <> 'part_backlog_old'),
          pg_temp.slot('-61 days'), 'then the backlog, newest first');
SELECT is((SELECT detail FROM first_run WHERE action = 'backlog'),
          '38 more partitions to create: the per-run limit of 64 was reached; the next run continues',
          'the rest is reported as backlog, once, not as 38 failures');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false, 'public.part_backlog',
                                                         max_new_partitions => 5)
           WHERE action = 'created'), 5::bigint, 'max_new_partitions sets the limit');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false, 'public.part_backlog')
           WHERE action = 'created'), 33::bigint, 'the next run catches up');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false, 'public.part_backlog')), 0::bigint,
          'and then there is nothing left to do');
SELECT throws_ok($$SELECT crm_core.run_maintenance(max_new_partitions => 0)$$,
                 '22023', 'max_new_partitions must be between 1 and 10000, not 0',
                 'a limit below one is refused');

-- ---- no role can squat the maintenance lock (item 12) ---------------------------------------
CREATE TABLE public.part_squat (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('public.part_squat', 'at', '1 day', 0)),
          1::bigint, 'part_squat registered');
SELECT crm_core.alter_partitioning('public.part_squat', premake => 2) IS NOT NULL AS altered;
SELECT dblink_connect('squatter', format('dbname=%s host=%s port=%s user=%s', current_database(),
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_user)) AS connected;
-- The application role takes the key that 0.1.0 used for this table, and keeps it.
SELECT dblink_exec('squatter', 'SET ROLE crm_core_app');
SELECT ok((SELECT locked FROM dblink('squatter', format(
               'SELECT pg_try_advisory_lock((hashtext(''crm_core.partitions'')::bigint << 32) | %s)',
               'public.part_squat'::regclass::oid)) AS t(locked boolean)),
          'the application role can take any ordinary advisory lock');
SELECT is((SELECT array_agg(action) FROM crm_core.run_maintenance(false, 'public.part_squat')),
          ARRAY['created', 'created'], 'maintenance is not deferred by it');
SELECT throws_ok($$SELECT * FROM dblink('squatter', 'SELECT crm_core._try_xact_lock(1)') AS t(b boolean)$$,
                 '42501', 'permission denied for function _try_xact_lock',
                 'and crm_core''s own locks are out of its reach');
SELECT dblink_disconnect('squatter');

-- ---- the lock still serializes two maintenance runs -------------------------------------------
-- Registered by hand: a registration runs maintenance, whose lock this transaction would keep.
CREATE TABLE public.part_serial (at timestamptz NOT NULL) PARTITION BY RANGE (at);
INSERT INTO crm_core.partition_config (parent, control_column, partition_interval, premake)
VALUES ('public.part_serial', 'at', '1 day', 1);
SELECT dblink_connect('other', format('dbname=%s host=%s port=%s user=%s', current_database(),
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_user)) AS connected;
SELECT dblink_exec('other', 'BEGIN');
SELECT ok((SELECT took FROM dblink('other', format('SELECT crm_core._try_xact_lock((hashtext(''crm_core.partitions'')::bigint << 32) | %s)',
                                                  'public.part_serial'::regclass::oid)) AS t(took boolean)),
          'another maintenance session holds the table''s lock');
SELECT is((SELECT action || ': ' || detail FROM crm_core.run_maintenance(false, 'public.part_serial')),
          'deferred: another maintenance run is working on this table',
          'a run meanwhile defers the table');
SELECT dblink_exec('other', 'ROLLBACK');
SELECT dblink_disconnect('other');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false, 'public.part_serial') WHERE action = 'created'),
          2::bigint, 'and the next run does the work');
-- ---- the status view resolves no operator through the reader's search_path ----------------------
-- _partition_bounds is plain SQL inlined into the view's query at plan time, so it is parsed with
-- the reader's search_path: a database owner's oid = regclass would beat pg_catalog's oid = oid.
CREATE SCHEMA part_hijack AUTHORIZATION part_mallory;
SET ROLE part_mallory;
CREATE FUNCTION part_hijack.oid_eq(a oid, b regclass) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'attacker code ran as superuser %', current_user;
    END IF;
    RETURN a OPERATOR(pg_catalog.=) b::oid;
END $$;
CREATE OPERATOR part_hijack.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = part_hijack.oid_eq);
RESET ROLE;
SET LOCAL search_path = part_hijack, pg_catalog, public;
SELECT lives_ok($$SELECT count(*) FROM crm_core.partitioned_tables$$,
                'a superuser reading the status view runs no operator from its search_path');
RESET search_path;

SELECT ok(NOT has_function_privilege('crm_core_app', 'crm_core._execute_as_owner(regclass, text)', 'EXECUTE'),
          'running SQL as a table''s owner is crm_core''s alone');

SELECT * FROM finish();
ROLLBACK;
