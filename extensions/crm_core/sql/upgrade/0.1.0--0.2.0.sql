-- crm_core 0.1.0 -> 0.2.0. Source of the installed crm_core--0.1.0--0.2.0.sql: make expands
-- each "-- @include install/PART.sql" line into that part's text, so a part that is new in
-- 0.2.0, or made only of CREATE OR REPLACE statements, is written once. Everything else that
-- changed since 0.1.0 (new columns, dropped or renamed objects) is written here by hand.
-- tests/upgrade proves that an upgraded 0.1.0 database has the same catalog as a fresh 0.2.0.

-- ---- jobs and upgrades (issue 11: job registry, concurrent retention) -------------------------
-- Registered jobs: new in 0.2.0.
-- @include install/50_jobs.sql
-- Retention by DETACH PARTITION ... CONCURRENTLY: a new setting, two signatures changed (their
-- functions now live in 31_partitions_api.sql, with the retention path).
ALTER TABLE crm_core.partition_config ADD COLUMN detach_concurrently boolean NOT NULL DEFAULT false;
DROP FUNCTION crm_core.partition_by_time(regclass, name, interval, integer, interval, text, name,
                                         interval, boolean);
DROP FUNCTION crm_core.alter_partitioning(regclass, integer, interval, text, name, interval, boolean);
-- @include install/31_partitions_api.sql
-- ---- end of jobs and upgrades ------------------------------------------------------------------
