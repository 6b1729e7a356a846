-- Materialized-view upkeep as an attacker sees it. refresh_due_each() (a procedure, so it cannot
-- pin search_path with a SET clause) resolves nothing through the caller's search_path; only the
-- owner of a summary and of its source may register a query to run as that owner; no role can
-- squat the per-view refresh lock; a huge planning input is cancelled by statement_timeout.
-- Fixtures that must be seen by another session are committed, and dropped at the end.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SET statement_timeout = '60s';

-- ---- committed fixtures for refresh_due_each() (item 5) ----------------------------------------
DROP SCHEMA IF EXISTS mv_hijack CASCADE;
DROP SCHEMA IF EXISTS mv_each CASCADE;
DROP ROLE IF EXISTS mv_attacker;
CREATE ROLE mv_attacker;  -- e.g. a database owner: may create objects and set search_path
CREATE SCHEMA mv_hijack AUTHORIZATION mv_attacker;
SET ROLE mv_attacker;
-- text <> text that raises when a superuser runs it (it would do worse, silently).
CREATE FUNCTION mv_hijack.text_ne(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'attacker code ran as superuser %', current_user;
    END IF;
    RETURN a OPERATOR(pg_catalog.<>) b;
END $$;
CREATE OPERATOR mv_hijack.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = mv_hijack.text_ne);
RESET ROLE;
CREATE SCHEMA mv_each;
CREATE TABLE mv_each.src (id bigint PRIMARY KEY);
INSERT INTO mv_each.src VALUES (1), (2);
CREATE MATERIALIZED VIEW mv_each.counted AS SELECT count(*) AS n FROM mv_each.src;
SELECT crm_core.register_matview('mv_each.counted', '1 hour', concurrently => false);
CREATE MATERIALIZED VIEW mv_each.other AS SELECT max(id) AS n FROM mv_each.src;
SELECT crm_core.register_matview('mv_each.other', '1 hour', concurrently => false);

SELECT dblink_connect('caller', format('host=%s port=%s dbname=%s user=%s',
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_database(), current_user)) AS connected;
SELECT dblink_exec('caller', 'SET statement_timeout = ''20s''');

BEGIN;
SELECT plan(19);

-- A superuser's session whose search_path puts the attacker's schema before pg_catalog (as an
-- ALTER DATABASE ... SET search_path by the database owner would).
SELECT is(dblink_exec('caller', 'SET search_path = mv_hijack, pg_catalog, public'), 'SET',
          'the caller''s search_path leads to the attacker''s operators');
SELECT lives_ok($$SELECT dblink_exec('caller', 'CALL crm_core.refresh_due_each()')$$,
                'refresh_due_each() runs none of them');
SELECT is((SELECT last_status FROM crm_core.matview_status WHERE view = 'mv_each.counted'::regclass),
          'refreshed', 'and refreshes the due view');
SELECT is((SELECT setting FROM dblink('caller', 'SHOW search_path') AS t(setting text)),
          'mv_hijack, pg_catalog, public', 'the caller''s search_path is as it was');
SELECT ok(NOT has_function_privilege('public', 'crm_core.refresh_due_each()', 'EXECUTE'),
          'PUBLIC cannot call it');

-- ---- only the owner registers a query to run as the owner (item 8) --------------------------
CREATE ROLE mv_alice;
CREATE ROLE mv_eve;  -- a maintenance role as docs/matviews.md describes it
GRANT USAGE ON SCHEMA crm_core TO mv_eve;
GRANT ALL ON ALL TABLES IN SCHEMA crm_core TO mv_eve;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crm_core TO mv_eve;
CREATE SCHEMA mv_a AUTHORIZATION mv_alice;
CREATE SCHEMA mv_e AUTHORIZATION mv_eve;
GRANT USAGE ON SCHEMA mv_e TO mv_alice;
GRANT USAGE ON SCHEMA mv_a TO mv_eve;  -- one application, two table owners
SET ROLE mv_alice;
CREATE TABLE mv_a.secrets (secret text);
INSERT INTO mv_a.secrets VALUES ('alice''s secret');
CREATE TABLE mv_a.daily (bucket timestamptz, n bigint);
CREATE TABLE mv_a.src (at timestamptz NOT NULL);
CREATE MATERIALIZED VIEW mv_a.totals AS SELECT count(*) AS n FROM mv_a.src;
RESET ROLE;
SET ROLE mv_eve;
CREATE TABLE mv_e.src (at timestamptz NOT NULL);
INSERT INTO mv_e.src VALUES (now());
CREATE TABLE mv_e.loot (secret text);
CREATE TABLE mv_e.daily (bucket timestamptz, n bigint);
GRANT SELECT ON mv_e.src TO mv_alice;
GRANT INSERT ON mv_e.loot TO mv_alice;
-- Called by the summary's query, which runs as the summary's owner.
CREATE FUNCTION mv_e.steal() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mv_e.loot SELECT secret FROM mv_a.secrets;
    RETURN 0;
END $$;
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('mv_a.daily', 'mv_e.src', 'at', '1 day',
                   'SELECT date_bin(''1 day'', at, ''2000-01-01'') AS bucket, count(*) + mv_e.steal()
                      FROM mv_e.src WHERE at >= $1 AND at < $2 GROUP BY 1', '1 hour')$$,
                 '42501', 'must own table mv_a.daily to register it as a bucket summary',
                 'a summary someone else owns is refused');
SELECT is((SELECT count(*) FROM mv_e.loot), 0::bigint, 'and its owner''s data stays where it was');
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('mv_e.daily', 'mv_a.src', 'at', '1 day',
                   'SELECT date_bin(''1 day'', at, ''2000-01-01'') AS bucket, count(*)
                      FROM mv_a.src WHERE at >= $1 AND at < $2 GROUP BY 1', '1 hour')$$,
                 '42501', 'must own table mv_a.src to summarize it',
                 'a source someone else owns is refused (it would get crm_core''s triggers)');
SELECT throws_ok($$SELECT crm_core.register_matview('mv_a.totals', '1 hour', concurrently => false)$$,
                 '42501', 'must own materialized view mv_a.totals to register it',
                 'a view someone else owns is refused');
SELECT lives_ok($$SELECT crm_core.register_bucket_summary('mv_e.daily', 'mv_e.src', 'at', '1 day',
                   'SELECT date_bin(''1 day'', at, ''2000-01-01'') AS bucket, count(*)
                      FROM mv_e.src WHERE at >= $1 AND at < $2 GROUP BY 1', '1 hour')$$,
                'the owner of both registers its own summary');
RESET ROLE;
SET ROLE mv_alice;
SELECT throws_ok($$SELECT crm_core.unregister_matview('mv_e.daily')$$,
                 '42501', 'permission denied for schema crm_core',
                 'another role cannot reach it');
RESET ROLE;
GRANT USAGE ON SCHEMA crm_core TO mv_alice;
GRANT EXECUTE ON FUNCTION crm_core.unregister_matview(regclass) TO mv_alice;
GRANT ALL ON ALL TABLES IN SCHEMA crm_core TO mv_alice;
SET ROLE mv_alice;
SELECT throws_ok($$SELECT crm_core.unregister_matview('mv_e.daily')$$,
                 '42501', 'must own table mv_e.daily to unregister it',
                 'nor unregister it with EXECUTE on the function');
RESET ROLE;

-- ---- no role can squat the refresh lock (item 12) ---------------------------------------------
SELECT is(dblink_exec('caller', 'RESET search_path'), 'RESET', 'the other session is plain again');
SELECT dblink_exec('caller', 'SET ROLE crm_core_app');
SELECT ok((SELECT locked FROM dblink('caller', format('SELECT pg_try_advisory_lock(%s)',
               (x'6d767266'::bigint << 32) | 'mv_each.counted'::regclass::oid::bigint)) AS t(locked boolean)),
          'the application role holds the key 0.1.0 used for a view''s refresh');
SELECT is((SELECT status FROM crm_core.refresh_now('mv_each.counted')), 'refreshed',
          'the view refreshes anyway');
SELECT dblink_exec('caller', 'RESET ROLE');
SELECT dblink_exec('caller', 'BEGIN');
SELECT ok((SELECT took FROM dblink('caller', format('SELECT crm_core._try_xact_lock(crm_core._matview_lock_key(%s))',
                                                   'mv_each.other'::regclass::oid)) AS t(took boolean)),
          'a refresh in another session holds the view''s lock');
SELECT is((SELECT status || ': ' || message FROM crm_core.refresh_now('mv_each.other')),
          'skipped: another session is refreshing it; retried on the next call',
          'a refresh meanwhile skips the view');
SELECT dblink_exec('caller', 'ROLLBACK');

-- ---- planning huge inputs stops at statement_timeout (item 16) ---------------------------------
-- A chain of three million views, the last one first: about 1.5 s of planning on this machine
-- (0.1.0's quadratic scan without a cancellation point would run for days).
CREATE TEMP TABLE chain AS
SELECT (SELECT array_agg(g::oid) FROM generate_series(1, 3000000) g) AS views,
       (SELECT array_agg(g::oid) FROM generate_series(1, 2999999) g) AS dependents,
       (SELECT array_agg((g + 1)::oid) FROM generate_series(1, 2999999) g) AS dependencies;
-- (throws_ok cannot catch a cancel: PL/pgSQL's WHEN OTHERS leaves query_canceled alone.)
CREATE FUNCTION pg_temp.outcome(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SET LOCAL statement_timeout = '100ms';
SELECT is(pg_temp.outcome('SELECT cardinality(crm_core._matview_refresh_order(views, dependents,
                                                                            dependencies)) FROM chain'),
          '57014: canceling statement due to statement timeout',
          'planning a huge dependency chain stops at statement_timeout');
SET LOCAL statement_timeout = '60s';
SELECT ok(NOT has_function_privilege('crm_core_app', 'crm_core._matview_refresh_order(oid[], oid[], oid[])', 'EXECUTE'),
          'and the application role cannot call the planner at all');

SELECT * FROM finish();
ROLLBACK;

SELECT dblink_disconnect('caller');
SELECT crm_core.unregister_matview('mv_each.counted');
SELECT crm_core.unregister_matview('mv_each.other');
DROP SCHEMA mv_each CASCADE;
DROP SCHEMA mv_hijack CASCADE;
DROP ROLE mv_attacker;
