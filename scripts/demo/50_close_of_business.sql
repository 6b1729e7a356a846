-- Demo, part 2 (after the import): the close of business the agency runs every evening, as
-- crm-core-service would run it: days past due and buckets, dunning where crm_collections has
-- its workflow part, dashboards, partitions and seals. Idempotent (a second run the same day
-- changes nothing).
\o /dev/null
-- Statistics for the tables the import filled (autovacuum would come later), so the checks
-- and dashboards that follow are planned on real row counts.
ANALYZE;
SELECT * FROM collections.run_dpd();
SELECT to_regprocedure('collections.run_dunning(date)') IS NOT NULL AS has_dunning \gset
\if :has_dunning
SELECT * FROM collections.run_dunning(CURRENT_DATE);
\endif
SELECT * FROM crm_core.run_maintenance();
SELECT * FROM crm_core.refresh_due();
SELECT * FROM crm_core.seal_ledger();
\o
