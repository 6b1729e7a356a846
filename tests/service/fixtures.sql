-- TEST FIXTURES for the crm-core-service integration tests (tests/service/run.sh), never for
-- production. Stand-ins with the exact contract signatures of the functions and views that
-- other parts of crm_core provide (see docs/operations.md), so that the service's jobs and
-- health checks run for real. Knobs and a call log live in schema crm_core_fixture.
-- Each stand-in is created only when the real object is missing.
CREATE SCHEMA IF NOT EXISTS crm_core;
CREATE SCHEMA crm_core_fixture;

-- Per-job knobs: sleep before returning, or fail.
CREATE TABLE crm_core_fixture.knob (
    job text PRIMARY KEY,
    sleep_seconds double precision NOT NULL DEFAULT 0,
    fail boolean NOT NULL DEFAULT false
);
INSERT INTO crm_core_fixture.knob (job) VALUES ('maintenance'), ('refresh'), ('seal');

-- One row per job call: which backend ran it, and whether that backend held the leader lock.
CREATE TABLE crm_core_fixture.call (
    id bigserial PRIMARY KEY,
    job text NOT NULL,
    pid integer NOT NULL,
    application_name text NOT NULL,
    held_leader_lock boolean NOT NULL,
    lock_timeout text NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL
);

-- What the health views report; tests edit these rows.
CREATE TABLE crm_core_fixture.payment (id bigint);
CREATE MATERIALIZED VIEW crm_core_fixture.aging AS SELECT 1 AS bucket;
CREATE TABLE crm_core_fixture.partition_state (
    parent regclass PRIMARY KEY,
    premake integer NOT NULL,
    partitions_ahead integer NOT NULL,
    default_rows bigint NOT NULL
);
INSERT INTO crm_core_fixture.partition_state VALUES ('crm_core_fixture.payment', 3, 3, 0);
CREATE TABLE crm_core_fixture.matview_state (
    view regclass PRIMARY KEY,
    refresh_every interval NOT NULL,
    last_success_at timestamptz,
    last_status text,
    last_error text
);
INSERT INTO crm_core_fixture.matview_state VALUES ('crm_core_fixture.aging', '1 hour', now(), 'refreshed', NULL);
CREATE TABLE crm_core_fixture.unbalanced (business_id bigint, entry_id bigint);
CREATE TABLE crm_core_fixture.seal_state (business_id bigint PRIMARY KEY, unsealed_rows bigint,
                                          oldest_unsealed_at timestamptz);
INSERT INTO crm_core_fixture.seal_state VALUES (1, 5, now());

-- Runs a job's knobs and logs the call; the advisory lock check is what proves that only the
-- leader's lock-holding session ever runs maintenance.
CREATE FUNCTION crm_core_fixture.record_call(job_name text, started timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    knob crm_core_fixture.knob;
BEGIN
    SELECT * INTO knob FROM crm_core_fixture.knob k WHERE k.job = job_name;
    PERFORM pg_sleep(knob.sleep_seconds);
    IF knob.fail THEN
        RAISE EXCEPTION 'fixture: % fails on purpose', job_name USING ERRCODE = 'P0001';
    END IF;
    INSERT INTO crm_core_fixture.call (job, pid, application_name, held_leader_lock, lock_timeout,
                                       started_at, ended_at)
    SELECT job_name, pg_backend_pid(), current_setting('application_name'),
           EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
                   AND pid = pg_backend_pid()),
           current_setting('lock_timeout'), started, clock_timestamp();
END $$;

DO $$
BEGIN
    IF to_regproc('crm_core.run_maintenance') IS NULL THEN
        CREATE FUNCTION crm_core.run_maintenance()
        RETURNS TABLE (parent regclass, action text, partition_name text, detail text)
        LANGUAGE plpgsql AS $f$
        DECLARE started timestamptz := clock_timestamp();
        BEGIN
            PERFORM crm_core_fixture.record_call('maintenance', started);
            RETURN QUERY SELECT 'crm_core_fixture.payment'::regclass, 'created'::text,
                                'payment_p_next'::text, 'fixture'::text;
        END $f$;
        COMMENT ON FUNCTION crm_core.run_maintenance() IS 'TEST FIXTURE: stand-in from tests/service/fixtures.sql';
    END IF;
    IF to_regproc('crm_core.refresh_due') IS NULL THEN
        CREATE FUNCTION crm_core.refresh_due()
        RETURNS TABLE (view regclass, status text, duration_ms double precision, rows bigint,
                       message text)
        LANGUAGE plpgsql AS $f$
        DECLARE started timestamptz := clock_timestamp();
        BEGIN
            PERFORM crm_core_fixture.record_call('refresh', started);
            RETURN QUERY SELECT 'crm_core_fixture.aging'::regclass, 'refreshed'::text, 1.0::float8,
                                1::bigint, NULL::text;
        END $f$;
        COMMENT ON FUNCTION crm_core.refresh_due() IS 'TEST FIXTURE: stand-in from tests/service/fixtures.sql';
    END IF;
    IF to_regproc('crm_core.seal_ledger') IS NULL THEN
        CREATE FUNCTION crm_core.seal_ledger()
        RETURNS TABLE (business_id bigint, blocks_sealed integer, rows_sealed bigint)
        LANGUAGE plpgsql AS $f$
        DECLARE started timestamptz := clock_timestamp();
        BEGIN
            PERFORM crm_core_fixture.record_call('seal', started);
            RETURN QUERY SELECT 1::bigint, 1, 10::bigint;
        END $f$;
        COMMENT ON FUNCTION crm_core.seal_ledger() IS 'TEST FIXTURE: stand-in from tests/service/fixtures.sql';
    END IF;
    IF to_regprocedure('crm_core.unbalanced_entries()') IS NULL THEN
        CREATE FUNCTION crm_core.unbalanced_entries()
        RETURNS TABLE (business_id bigint, entry_id bigint, currency text, debits numeric,
                       credits numeric)
        LANGUAGE sql AS $f$
            SELECT business_id, entry_id, 'EUR'::text, 1::numeric, 0::numeric
            FROM crm_core_fixture.unbalanced
        $f$;
        COMMENT ON FUNCTION crm_core.unbalanced_entries() IS 'TEST FIXTURE: stand-in from tests/service/fixtures.sql';
    END IF;
    IF to_regprocedure('crm_core.check_balances()') IS NULL THEN
        CREATE FUNCTION crm_core.check_balances()
        RETURNS TABLE (business_id bigint, account_id bigint, stored numeric, computed numeric)
        LANGUAGE sql AS $f$ SELECT NULL::bigint, NULL::bigint, NULL::numeric, NULL::numeric WHERE false $f$;
        COMMENT ON FUNCTION crm_core.check_balances() IS 'TEST FIXTURE: stand-in from tests/service/fixtures.sql';
    END IF;
    IF to_regclass('crm_core.partitioned_tables') IS NULL THEN
        CREATE VIEW crm_core.partitioned_tables AS
            SELECT parent, 'created_at'::name AS control_column, '1 month'::interval AS partition_interval,
                   premake, NULL::interval AS retention, partitions_ahead + 1 AS partitions,
                   partitions_ahead, default_rows, now() AS last_maintenance_at
            FROM crm_core_fixture.partition_state;
        COMMENT ON VIEW crm_core.partitioned_tables IS 'TEST FIXTURE: stand-in from tests/service/fixtures.sql';
    END IF;
    IF to_regclass('crm_core.matview_status') IS NULL THEN
        CREATE VIEW crm_core.matview_status AS
            SELECT view, refresh_every, last_success_at, now() - last_success_at AS staleness,
                   last_success_at + refresh_every AS next_due_at, last_status, last_error
            FROM crm_core_fixture.matview_state;
        COMMENT ON VIEW crm_core.matview_status IS 'TEST FIXTURE: stand-in from tests/service/fixtures.sql';
    END IF;
    IF to_regclass('crm_core.seal_status') IS NULL THEN
        CREATE VIEW crm_core.seal_status AS
            SELECT business_id, 0::bigint AS sealed_blocks, unsealed_rows, oldest_unsealed_at,
                   NULL::timestamptz AS last_sealed_at
            FROM crm_core_fixture.seal_state;
        COMMENT ON VIEW crm_core.seal_status IS 'TEST FIXTURE: stand-in from tests/service/fixtures.sql';
    END IF;
END $$;
