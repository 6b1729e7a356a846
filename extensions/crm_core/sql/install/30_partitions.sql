-- crm_core partitions: time-range partitions premade by the clock, retired by retention, all
-- DDL under a short lock_timeout so that maintenance never stalls the application's writers.
-- The planner (what to create and retire, names, UTC boundaries) is C++
-- (lib/pure/src/partition_plan.cpp); 31_partition_planner.sql to 33_partition_maintain.sql run the DDL it plans. This
-- part holds the tables and types; see docs/partitions.md.

-- ---------------------------------------------------------------------------------------------
-- Configuration (dumped by pg_dump: pg_extension_config_dump), state and the maintenance log.

CREATE TABLE crm_core.partition_config (
    parent             regclass PRIMARY KEY,
    control_column     name     NOT NULL,
    partition_interval interval NOT NULL,
    premake            integer  NOT NULL CHECK (premake >= 0),
    retention          interval CHECK (retention > interval '0'),
    retention_action   text     NOT NULL DEFAULT 'detach'
                                CHECK (retention_action IN ('detach', 'drop', 'archive')),
    archive_schema     name,
    lock_timeout       interval NOT NULL DEFAULT interval '100 milliseconds'
                                CHECK (lock_timeout > interval '0'),
    registered_at      timestamptz NOT NULL DEFAULT now(),
    -- Registrations the install script makes (CREATE EXTENSION makes them again on restore).
    by_extension       boolean  NOT NULL DEFAULT false,
    -- Retention by ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY, run as top-level
    -- statements (crm_core.concurrent_retirements()), never by run_maintenance() itself.
    detach_concurrently boolean NOT NULL DEFAULT false,
    CHECK ((retention_action = 'archive') = (archive_schema IS NOT NULL))
);
COMMENT ON TABLE crm_core.partition_config IS
    'Tables whose time-range partitions crm_core.run_maintenance() keeps; change with crm_core.alter_partitioning().';
SELECT pg_catalog.pg_extension_config_dump('crm_core.partition_config', 'WHERE NOT by_extension');

CREATE TABLE crm_core.partition_state (
    parent              regclass PRIMARY KEY
                        REFERENCES crm_core.partition_config ON DELETE CASCADE,
    last_maintenance_at timestamptz NOT NULL
);
COMMENT ON TABLE crm_core.partition_state IS
    'When run_maintenance() last finished its work on each table.';

CREATE TABLE crm_core.partition_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logged_at      timestamptz NOT NULL DEFAULT now(),
    parent         text        NOT NULL,
    action         text        NOT NULL,
    partition_name text,
    detail         text
);
CREATE INDEX ON crm_core.partition_log (logged_at);
COMMENT ON TABLE crm_core.partition_log IS
    'What partition maintenance did (created, retired, deferred, moved, failed ...); kept 90 days.';

-- One thing maintenance did (the rows of run_maintenance, partition_by_time, move_default_rows).
CREATE TYPE crm_core.maintenance_action AS (
    parent         regclass,
    action         text,
    partition_name text,
    detail         text
);
