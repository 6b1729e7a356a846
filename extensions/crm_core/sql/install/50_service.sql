-- What crm-core-service runs, reads and is granted (docs/operations.md): the leader lock in
-- crm_core's own lock class, the leader's heartbeat, the probe of prepared transactions, and
-- the role crm_core_service with exactly the privileges the service needs. New in 0.2.0.

-- ---------------------------------------------------------------------------------------------
-- Leader election: a session lock that no role can squat with pg_advisory_lock (it lives in a
-- lock class only these functions reach), and a heartbeat that every instance reads.

CREATE FUNCTION crm_core.service_try_lock(lock_key bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_service_try_lock' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION crm_core.service_try_lock(bigint) IS
    'Takes the leader lock lock_key for this session without waiting; true when held.';
CREATE FUNCTION crm_core.service_unlock(lock_key bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_service_unlock' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION crm_core.service_unlock(bigint) IS
    'Releases the leader lock lock_key held by this session; false when it was not held.';

-- The latest job run by a leader, per lock key. Not dumped: it describes running services.
CREATE TABLE crm_core.service_leader_state (
    lock_key     bigint PRIMARY KEY,
    leader_pid   integer NOT NULL,
    leader_since timestamptz NOT NULL,
    last_job     text NOT NULL,
    last_job_at  timestamptz NOT NULL
);
COMMENT ON TABLE crm_core.service_leader_state IS
    'Per leader lock: the backend that leads, since when, and the last job it ran (crm-core-service heartbeat).';

-- Whether this session holds the leader lock lock_key (class 17228, "CL", of lib/pg/lock.hpp:
-- pg_advisory_lock uses 1 and 2).
CREATE FUNCTION crm_core._holds_leader_lock(lock_key bigint) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.pid = pg_backend_pid()
           AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
           AND l.objsubid = 17228
           AND l.classid = ((lock_key >> 32) & 4294967295)::oid
           AND l.objid = (lock_key & 4294967295)::oid)
$$;

-- Records that the leader holding lock_key just ran job; refused to any other session.
CREATE FUNCTION crm_core.service_leader_beat(lock_key bigint, job text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT crm_core._holds_leader_lock(lock_key) THEN
        RAISE EXCEPTION 'this session does not hold the leader lock %', lock_key
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Take it with crm_core.service_try_lock() first.';
    END IF;
    INSERT INTO crm_core.service_leader_state AS s (lock_key, leader_pid, leader_since, last_job,
                                                    last_job_at)
    VALUES (lock_key, pg_backend_pid(), now(), job, clock_timestamp())
    ON CONFLICT ON CONSTRAINT service_leader_state_pkey DO UPDATE SET
        leader_pid = excluded.leader_pid,
        leader_since = CASE WHEN s.leader_pid = excluded.leader_pid THEN s.leader_since
                            ELSE excluded.leader_since END,
        last_job = excluded.last_job,
        last_job_at = excluded.last_job_at;
END
$$;
COMMENT ON FUNCTION crm_core.service_leader_beat(bigint, text) IS
    'Heartbeat of crm-core-service''s leader: the job it just ran. Only the lock holder may call it.';

-- Who holds the leader lock lock_key now (pid NULL: nobody) and what the last leader ran.
CREATE FUNCTION crm_core.service_leader(lock_key bigint)
    RETURNS TABLE (pid integer, role name, application_name text, last_job text,
                   last_job_at timestamptz)
    -- SECURITY DEFINER: sees every session's role and application name.
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT h.pid, a.usename, a.application_name, s.last_job, s.last_job_at
      FROM (SELECT 1) AS one
      LEFT JOIN pg_locks h
        ON h.locktype = 'advisory' AND h.granted
       AND h.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
       AND h.objsubid = 17228
       AND h.classid = ((lock_key >> 32) & 4294967295)::oid
       AND h.objid = (lock_key & 4294967295)::oid
      LEFT JOIN pg_stat_activity a ON a.pid = h.pid
      LEFT JOIN crm_core.service_leader_state s ON s.lock_key = service_leader.lock_key
$$;
COMMENT ON FUNCTION crm_core.service_leader(bigint) IS
    'The session holding the leader lock (pid NULL: none), its role and application, and the last job a leader ran.';

-- ---------------------------------------------------------------------------------------------
-- Prepared transactions holding ledger postings. A prepared transaction keeps its locks until
-- COMMIT PREPARED or ROLLBACK PREPARED: every other posting to an overdraft-rule account it
-- posted to waits for it at commit (the account's guard slot), and a backend that reuses its
-- slot number waits on its balance rows.

CREATE FUNCTION crm_core.prepared_ledger_transactions()
    RETURNS TABLE (gid text, prepared_at timestamptz, owner name, database name,
                   ruled_accounts bigint[])
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.gid, p.prepared, p.owner, p.database,
           coalesce((SELECT array_agg(s.account_id ORDER BY s.account_id)
                       FROM crm_core.account_balance_slot s
                      WHERE s.slot = -1 AND s.xmax = p.transaction), '{}')
      FROM pg_prepared_xacts p
     WHERE p.database = current_database()
       AND EXISTS (SELECT FROM pg_locks x JOIN pg_locks l
                           ON l.virtualtransaction = x.virtualtransaction AND l.pid IS NULL
                    WHERE x.locktype = 'transactionid' AND x.transactionid = p.transaction
                      AND x.pid IS NULL AND l.locktype = 'relation'
                      AND l.relation IN ('crm_core.journal_line'::regclass,
                                         'crm_core.account_balance_slot'::regclass))
     ORDER BY p.prepared
$$;
COMMENT ON FUNCTION crm_core.prepared_ledger_transactions() IS
    'Prepared transactions of this database holding ledger postings, oldest first; '
    'ruled_accounts: overdraft-rule accounts whose postings wait for them.';

REVOKE EXECUTE ON FUNCTION
    crm_core.service_try_lock(bigint),
    crm_core.service_unlock(bigint),
    crm_core._holds_leader_lock(bigint),
    crm_core.service_leader_beat(bigint, text),
    crm_core.service_leader(bigint),
    crm_core.prepared_ledger_transactions()
FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- crm_core_service (created with the other roles in 24_roles.sql): its three jobs and
-- concurrent retention (SECURITY DEFINER functions that act on each table and view as its owner),
-- registered jobs (each run as the role that scheduled it), its lock and heartbeat, and what the
-- health probe reads. Nothing else: it writes no table and reads no user data.

GRANT USAGE ON SCHEMA crm_core TO crm_core_service;
GRANT EXECUTE ON FUNCTION
    crm_core.run_maintenance(boolean, regclass, integer),
    crm_core.concurrent_retirements(),
    crm_core.finish_retirement(regclass, regclass),
    crm_core.refresh_due(),
    crm_core.seal_ledger(integer),
    -- registered jobs (50_jobs*.sql), each run as the role that scheduled it
    crm_core.run_job(text, boolean, double precision, interval, interval),
    crm_core.service_try_lock(bigint),
    crm_core.service_unlock(bigint),
    crm_core.service_leader_beat(bigint, text),
    crm_core.service_leader(bigint),
    crm_core.prepared_ledger_transactions()
TO crm_core_service;
GRANT SELECT ON crm_core.partitioned_tables, crm_core.matview_status, crm_core.seal_status,
    crm_core.jobs TO crm_core_service;
-- crm_core.unbalanced_entries() and crm_core.check_balances() read these with the caller's
-- privileges.
GRANT SELECT ON crm_core.account, crm_core.journal_entry, crm_core.journal_line,
    crm_core.account_balance_slot TO crm_core_service;
