-- Included (\ir) by every tests/citus file, which runs on the coordinator of the cluster that
-- tests/citus/run.sh started, in autocommit (the ledger's checks run at commit): helpers to
-- run SQL in other sessions (dblink) and to find where a business's ledger lives.
\set QUIET on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS dblink;
-- The helpers are temporary, for this session only: Citus need not look at them.
SET citus.enable_ddl_propagation = off;

-- A libpq connection string to this database on the coordinator (port NULL) or on a node.
-- Every statement of a session it opens gives up after a minute (a wrong lock fails the test
-- instead of hanging it).
CREATE FUNCTION pg_temp.connstr(port integer DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
    SELECT format('host=%s port=%s user=%s dbname=%s options=''-c statement_timeout=60s''',
                  CASE WHEN port IS NULL THEN split_part(current_setting('unix_socket_directories'), ',', 1)
                       ELSE '127.0.0.1' END,
                  COALESCE(port, current_setting('port')::integer), current_user, current_database())
$$;

-- Runs sql (several statements, a whole transaction if it likes) in a new session of its
-- own, as role (NULL: the current user), on the coordinator or on the node at port; returns
-- 'ok', or 'SQLSTATE: message' of the error that ended it. Commit-time errors included.
CREATE FUNCTION pg_temp.outcome(sql text, role text DEFAULT NULL, port integer DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
BEGIN
    PERFORM dblink_exec(pg_temp.connstr(port),
                        CASE WHEN role IS NULL THEN '' ELSE format('SET ROLE %I; ', role) END || sql);
    RETURN 'ok';
EXCEPTION
WHEN SQLSTATE '2F003' THEN  -- dblink_exec's complaint that the last statement returned rows
    RETURN 'ok';
WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
    RETURN state || ': ' || message;
END;
$$;

-- Runs sql on an open dblink connection; returns 'ok' or 'SQLSTATE: message' of the error,
-- after which the connection is out of any transaction again.
CREATE FUNCTION pg_temp.outcome_on(connection text, sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
BEGIN
    PERFORM dblink_exec(connection, sql);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
    PERFORM dblink_exec(connection, 'ROLLBACK');
    RETURN state || ': ' || message;
END;
$$;

-- Waits for the asynchronous query of a connection and drains its results; returns the
-- error that ended it, or NULL.
CREATE FUNCTION pg_temp.finish(connection text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    rows integer;
BEGIN
    LOOP
        SELECT count(*) INTO rows FROM dblink_get_result(connection, false) AS t(v text);
        EXIT WHEN rows = 0 AND dblink_is_busy(connection) = 0;
    END LOOP;
    RETURN NULLIF(NULLIF(dblink_error_message(connection), 'OK'), '');
END;
$$;

-- The first column of the first row of a query, as text: assertions on distributed tables
-- read through it (Citus would send a whole SELECT is((SELECT ... FROM a distributed
-- table), ...) to a worker, pgTAP call included).
CREATE FUNCTION pg_temp.value(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE sql INTO result;
    RETURN result;
END;
$$;

-- The lines of EXPLAIN (COSTS OFF) sql.
CREATE FUNCTION pg_temp.plan_of(sql text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
        RETURN NEXT line;
    END LOOP;
END;
$$;

-- The port of the worker that holds a business's ledger (its shard of journal_entry).
CREATE FUNCTION pg_temp.node_of(business_id bigint) RETURNS integer LANGUAGE sql AS $$
    SELECT n.nodeport FROM pg_dist_placement AS p JOIN pg_dist_node AS n USING (groupid)
     WHERE p.shardid = get_shard_id_for_distribution_column('crm_core.journal_entry', business_id)
$$;

-- The first business id from `from` on whose ledger lives on the worker at port.
CREATE FUNCTION pg_temp.business_on(port integer, from_id bigint) RETURNS bigint LANGUAGE sql AS $$
    SELECT id FROM generate_series(from_id, from_id + 1000) AS id
     WHERE pg_temp.node_of(id) = port ORDER BY id LIMIT 1
$$;

-- The first business id from from_id on that lives on the worker at port, in another shard
-- than business `other`.
CREATE FUNCTION pg_temp.business_beside(port integer, from_id bigint, other bigint)
    RETURNS bigint LANGUAGE sql AS $$
    SELECT id FROM generate_series(from_id, from_id + 1000) AS id
     WHERE pg_temp.node_of(id) = port
       AND get_shard_id_for_distribution_column('crm_core.journal_entry', id)
           <> get_shard_id_for_distribution_column('crm_core.journal_entry', other)
     ORDER BY id LIMIT 1
$$;

-- The workers' ports, in order.
CREATE FUNCTION pg_temp.worker(n integer) RETURNS integer LANGUAGE sql AS $$
    SELECT nodeport FROM pg_dist_node WHERE groupid > 0 AND noderole = 'primary'
     ORDER BY nodeport OFFSET n - 1 LIMIT 1
$$;
RESET citus.enable_ddl_propagation;
\set QUIET off
