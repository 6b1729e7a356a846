-- crm_core 0.1.0 -> 0.2.0. Source of the installed crm_core--0.1.0--0.2.0.sql: make expands
-- each "-- @include install/PART.sql" line into that part's text, so a part that is new in
-- 0.2.0, or made only of CREATE OR REPLACE statements, is written once. Everything else that
-- changed since 0.1.0 (new columns, dropped or renamed objects) is written here by hand.
-- tests/upgrade proves that an upgraded 0.1.0 database has the same catalog as a fresh 0.2.0.

-- ---- jobs and upgrades (issue 11: job registry, concurrent retention) -------------------------
-- Registered jobs: new in 0.2.0.
-- @include install/50_jobs.sql
-- Retention by DETACH PARTITION ... CONCURRENTLY: a new setting, and partition_by_time and
-- alter_partitioning take it as a last argument (their functions now live in
-- 31_partitions_api.sql, with the retention path).
ALTER TABLE crm_core.partition_config ADD COLUMN detach_concurrently boolean NOT NULL DEFAULT false;
-- @include install/31_partitions_api.sql
-- The grants a DBA gave on the old signatures (EXECUTE to a maintenance role) move to the new
-- ones; then the old signatures go.
DO $$
DECLARE
    signature record;
    grant_item record;
BEGIN
    FOR signature IN
        SELECT * FROM (VALUES
            ('crm_core.partition_by_time(regclass, name, interval, integer, interval, text, name, interval, boolean)'::regprocedure,
             'crm_core.partition_by_time(regclass, name, interval, integer, interval, text, name, interval, boolean, boolean)'::regprocedure),
            ('crm_core.alter_partitioning(regclass, integer, interval, text, name, interval, boolean)'::regprocedure,
             'crm_core.alter_partitioning(regclass, integer, interval, text, name, interval, boolean, boolean)'::regprocedure))
            AS s(old_signature, new_signature)
    LOOP
        FOR grant_item IN
            SELECT a.grantee, a.is_grantable
            FROM pg_catalog.pg_proc AS p, pg_catalog.aclexplode(p.proacl) AS a
            WHERE p.oid = signature.old_signature AND a.grantee <> p.proowner
        LOOP
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', signature.new_signature,
                                      CASE grant_item.grantee WHEN 0 THEN 'PUBLIC'
                                           ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(grant_item.grantee)) END,
                                      CASE WHEN grant_item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;
END
$$;
DROP FUNCTION crm_core.partition_by_time(regclass, name, interval, integer, interval, text, name,
                                         interval, boolean);
DROP FUNCTION crm_core.alter_partitioning(regclass, integer, interval, text, name, interval, boolean);
-- ---- end of jobs and upgrades ------------------------------------------------------------------
