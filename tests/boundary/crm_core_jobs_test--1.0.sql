\echo Use "CREATE EXTENSION crm_core_jobs_test" to load this file. \quit
-- What crm_collections and the ERP do: register their periodic work with crm_core. The job
-- belongs to this extension (crm_core.jobs.extension), goes with it on DROP EXTENSION, and is
-- registered again by CREATE EXTENSION on restore (pg_dump leaves it out).

CREATE FUNCTION crm_core_jobs_test.nightly() RETURNS void LANGUAGE sql AS 'SELECT';
SELECT crm_core.schedule_job('crm_core_jobs_test.nightly', 'crm_core_jobs_test.nightly()', '1 day');
