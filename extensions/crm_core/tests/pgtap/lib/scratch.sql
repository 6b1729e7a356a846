-- Included (\ir) by pgTAP files that need real commits or several sessions: dblink, a libpq
-- connection string to this server, and a fresh scratch database named :scratch_prefix followed
-- by the backend pid. The including file connects to it and drops it at the end.
CREATE EXTENSION IF NOT EXISTS dblink;

SELECT set_config('crm_core_test.scratch', :'scratch_prefix' || pg_backend_pid(), false)
    IS NOT NULL AS scratch_named \gset

CREATE FUNCTION pg_temp.connstr(database text) RETURNS text LANGUAGE sql AS $$
    SELECT format('host=%s port=%s user=%s dbname=%s',
                  split_part(current_setting('unix_socket_directories'), ',', 1),
                  current_setting('port'), current_user, database)
$$;
CREATE FUNCTION pg_temp.scratch() RETURNS text LANGUAGE sql AS $$
    SELECT current_setting('crm_core_test.scratch')
$$;
-- Runs sql in the scratch database on connection `conn` and returns the first column.
CREATE FUNCTION pg_temp.q(conn text, sql text) RETURNS text LANGUAGE sql AS $$
    SELECT v FROM dblink(conn, sql) AS t(v text)
$$;

SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE IF EXISTS %I', pg_temp.scratch()));
SELECT dblink_exec(pg_temp.connstr('postgres'), format('CREATE DATABASE %I', pg_temp.scratch()));

-- Waits for a connection's asynchronous batch (dblink_send_query) and drains its results;
-- returns its last error or NULL. dblink_get_result blocks until each result arrives (no polling).
CREATE FUNCTION pg_temp.finish_batch(conn text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    rows int;
BEGIN
    FOR i IN 1 .. 10000 LOOP
        SELECT count(*) INTO rows FROM dblink_get_result(conn, false) AS t(v text);
        EXIT WHEN rows = 0 AND dblink_is_busy(conn) = 0;
    END LOOP;
    RETURN NULLIF(NULLIF(dblink_error_message(conn), 'OK'), '');
END $$;
