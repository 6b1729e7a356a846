-- crm_core 0.1.0 -> 0.2.0. Source of the installed crm_core--0.1.0--0.2.0.sql: make expands
-- each "-- @include install/PART.sql" line into that part's text, so a part that is new in
-- 0.2.0, or made only of CREATE OR REPLACE statements, is written once. Everything else that
-- changed since 0.1.0 (new columns, dropped or renamed objects) is written here by hand.
-- tests/upgrade proves that an upgraded 0.1.0 database has the same catalog as a fresh 0.2.0.

-- ---- Partition and materialized-view upkeep (harden-ops) -----------------------------------
-- Their functions and status views are re-applied whole (CREATE OR REPLACE parts).
-- @include install/31_partition_functions.sql
-- @include install/41_matview_functions.sql
