-- The extension installs, drops and installs again; the library matches the SQL version.
BEGIN;
SELECT plan(9);

SELECT has_extension('crm_core', 'crm_core is installed');
SELECT has_schema('crm_core');
SELECT is(crm_core.version(),
          (SELECT extversion FROM pg_extension WHERE extname = 'crm_core'),
          'the loaded library is the installed SQL version');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'crm_core'), false,
          'crm_core is not relocatable');
SELECT ok(NOT has_schema_privilege('public', 'crm_core', 'CREATE'),
          'PUBLIC cannot create objects in schema crm_core');

DROP EXTENSION crm_core CASCADE;
SELECT hasnt_extension('crm_core', 'DROP EXTENSION removes it');
SELECT is((SELECT count(*) FROM pg_proc WHERE proname = 'version'
           AND pronamespace = 'crm_core'::regnamespace), 0::bigint,
          'no crm_core function survives DROP EXTENSION');

CREATE EXTENSION crm_core;
SELECT has_extension('crm_core', 'CREATE EXTENSION works again after DROP');
SELECT is(crm_core.version(), (SELECT extversion FROM pg_extension WHERE extname = 'crm_core'),
          'and the recreated extension answers');

SELECT * FROM finish();
ROLLBACK;
