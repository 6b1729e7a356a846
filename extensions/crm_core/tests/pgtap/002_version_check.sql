-- The library refuses to serve SQL objects of another version (docs/install.md, "Upgrading"):
-- a database still on the frozen 0.1.0 script under this library, a session that loaded this
-- library before the extension moved on, and the per-backend cache that keeps the check off the
-- hot path. Real sessions (dblink) in a scratch database.
BEGIN;
SELECT plan(14);
\set scratch_prefix crm_core_version_
\ir lib/scratch.sql

-- The error a statement raises in the scratch database, as 'SQLSTATE|message|hint', or 'ok'.
CREATE FUNCTION pg_temp.remote(connection text, sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    hint text;
BEGIN
    PERFORM dblink_exec(connection, sql);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN concat_ws('|', state, message, hint);
END
$$;
CREATE FUNCTION pg_temp.refusal(installed text, hint text) RETURNS text LANGUAGE sql AS $$
    SELECT format('55000|crm_core library %s does not match the installed SQL %s|%s',
                  crm_core.version(), installed, hint)
$$;
-- A call of one of the library's functions (dblink_exec takes no statement returning rows).
CREATE FUNCTION pg_temp.call_c() RETURNS text LANGUAGE sql AS $$
    SELECT 'DO $d$ BEGIN PERFORM crm_core._partition_unit(''1 month''); END $d$'
$$;

-- What a DBA has after installing the new package: the old SQL, the new library.
SELECT dblink_connect('old', pg_temp.connstr(pg_temp.scratch()));
SELECT is(pg_temp.remote('old', $$CREATE EXTENSION crm_core VERSION '0.1.0'$$), 'ok',
          'CREATE EXTENSION of the frozen 0.1.0 script runs under this library (its scripts may call it)');
SELECT dblink_disconnect('old');
SELECT dblink_connect('a', pg_temp.connstr(pg_temp.scratch()));
SELECT is(pg_temp.remote('a', pg_temp.call_c()),
          pg_temp.refusal('0.1.0', 'Run ALTER EXTENSION crm_core UPDATE in this database (as a superuser).'),
          'a function of the 0.1.0 SQL refuses to run: 55000, the versions and the ALTER EXTENSION hint');
SELECT is(pg_temp.remote('a', 'DO $d$ BEGIN PERFORM crm_core.post_entry(1, ''[]''); END $d$'),
          pg_temp.refusal('0.1.0', 'Run ALTER EXTENSION crm_core UPDATE in this database (as a superuser).'),
          'so does the ledger: nothing runs new code against the old objects');
SELECT is(pg_temp.remote('a', 'CREATE TABLE plain_table (id int); ALTER TABLE plain_table ADD COLUMN note text'),
          'ok', 'DDL keeps working: the event triggers'' C helpers are written to run under the old catalog');
SELECT is((SELECT v FROM dblink('a', 'SELECT crm_core.version()') AS t(v text)), crm_core.version(),
          'crm_core.version() still answers with the library version, for diagnosis');

SELECT is(pg_temp.remote('a', 'ALTER EXTENSION crm_core UPDATE'), 'ok',
          'ALTER EXTENSION crm_core UPDATE runs (its script may call the library)');
SELECT is(pg_temp.remote('a', pg_temp.call_c()), 'ok',
          'and afterwards the same session runs crm_core again');
SELECT is((SELECT v FROM dblink('a', $$SELECT extversion FROM pg_extension WHERE extname = 'crm_core'$$)
           AS t(v text)), crm_core.version(), 'the SQL is now the library''s version');

-- A session that already found the versions equal is told when another session moves the SQL.
SELECT dblink_connect('b', pg_temp.connstr(pg_temp.scratch()));
SELECT is(pg_temp.remote('b', 'DROP EXTENSION crm_core; CREATE EXTENSION crm_core VERSION ''0.1.0'''), 'ok',
          'another session reinstalls the 0.1.0 SQL');
SELECT is(pg_temp.remote('a', pg_temp.call_c()),
          pg_temp.refusal('0.1.0', 'Run ALTER EXTENSION crm_core UPDATE in this database (as a superuser).'),
          'the first session refuses at its next call (pg_proc changed: it checks again)');
SELECT is(pg_temp.remote('b', 'ALTER EXTENSION crm_core UPDATE'), 'ok', 'back to the current version');

-- A session whose library is older than the installed SQL (it loaded the library before the
-- extension was updated by a newer package) is told to reconnect. The newer SQL is simulated by
-- editing the catalog; the check is cached per backend, so session a does not see that edit
-- (no function changed) until pg_proc changes.
SELECT is(pg_temp.remote('a', pg_temp.call_c()), 'ok', 'session a runs: versions equal');
SELECT dblink_exec('b', $$UPDATE pg_extension SET extversion = '99.0.0' WHERE extname = 'crm_core'$$);
SELECT is(pg_temp.remote('a', pg_temp.call_c()), 'ok',
          'the check is cached: a catalog edit that changes no function is not read on every call');
SELECT dblink_exec('b', 'CREATE FUNCTION touch_pg_proc() RETURNS int LANGUAGE sql AS ''SELECT 1''');
SELECT is(pg_temp.remote('a', pg_temp.call_c()),
          pg_temp.refusal('99.0.0', 'Reconnect; if the error persists, install the crm_core 99.0.0 package.'),
          'a library older than the SQL refuses with the reconnect hint');

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
ROLLBACK;
