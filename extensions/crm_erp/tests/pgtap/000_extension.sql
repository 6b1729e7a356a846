-- crm_erp's shape and its guard rails: version, schemas, every business table tenant-isolated,
-- nothing granted to PUBLIC, definer code with a pinned search_path, summaries closed to
-- applications except through the current business's view, and a clean DROP EXTENSION.
BEGIN;
SELECT plan(12);

SELECT is(erp.version(), (SELECT extversion FROM pg_extension WHERE extname = 'crm_erp'),
          'the library''s version is the installed version');
SELECT is((SELECT count(*)::int FROM pg_namespace n JOIN pg_depend d ON d.objid = n.oid AND d.deptype = 'e'
            WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'crm_erp')
              AND n.nspname IN ('erp', 'water', 'laundry', 'retail', 'erp_legacy')), 4,
          'crm_erp creates schemas water, laundry, retail, erp_legacy (and erp, from its control file)');
SELECT is_empty($$
    SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('erp', 'water', 'laundry', 'retail') AND c.relkind IN ('r', 'p')
       AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'business_id')
       AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                AND EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'crm_core_tenant'))$$,
    'every table keyed by business is tenant-isolated (row-level security, forced, crm_core''s policy)');
SELECT is_empty($$
    SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('erp', 'water', 'laundry', 'retail', 'erp_legacy')
       AND has_table_privilege('public', c.oid, 'SELECT, INSERT, UPDATE, DELETE')$$,
    'no table or view is open to PUBLIC');
SELECT is_empty($$
    SELECT n.nspname FROM pg_namespace n
     WHERE n.nspname IN ('erp', 'water', 'laundry', 'retail', 'erp_legacy') AND has_schema_privilege('public', n.oid, 'USAGE')$$,
    'no schema is open to PUBLIC');
SELECT is_empty($$
    SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname IN ('erp', 'water', 'laundry', 'retail', 'erp_legacy') AND p.prosecdef
       AND NOT coalesce(p.proconfig::text LIKE '%search_path=pg_catalog, pg_temp%', false)$$,
    'every SECURITY DEFINER function pins search_path');
SELECT is_empty($$
    SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'erp' AND has_function_privilege('public', p.oid, 'EXECUTE')
       AND p.proname IN ('reserve_entry', 'post_events', 'rules_changed', 'post_on_insert', 'setup_business',
                         'grant_access', 'revoke_access', 'item_accounts', 'pii_key', '_match_lines',
                         'schedule_maintenance', 'match_all_statements', 'ensure_account',
                         'ensure_transaction_type', 'guard_posted_event')$$,
    'internal and administrative functions are not executable by PUBLIC');
SELECT ok(NOT has_table_privilege('crm_core_app', 'water.daily_summary_mv', 'SELECT')
          AND has_table_privilege('crm_core_app', 'water.daily_summary', 'SELECT'),
          'applications read the summary through the current-business view only');
SELECT ok(NOT has_table_privilege('crm_core_readonly', 'water.sale', 'INSERT')
          AND has_table_privilege('crm_core_app', 'water.sale', 'INSERT')
          AND NOT has_table_privilege('crm_core_app', 'water.sale', 'DELETE'),
          'the application role records events and never deletes them; the read-only role reads');
SELECT results_eq($$SELECT relid::text, transaction_type, by_extension FROM erp.event_table ORDER BY 2$$,
                  $$VALUES ('laundry.job', 'laundry_job', true), ('laundry.job_item', 'laundry_job_item', true),
                           ('laundry.payment', 'laundry_payment', true), ('retail.lpg_exchange', 'lpg_exchange', true),
                           ('retail.sale', 'retail_sale', true), ('retail.sale_item', 'retail_sale_item', true),
                           ('retail.stock_receipt', 'retail_stock_receipt', true),
                           ('water.production', 'water_production', true), ('water.raw_intake', 'water_raw_intake', true),
                           ('water.sale', 'water_sale', true)$$,
                  'the modules'' event tables are registered (by the extension: not dumped, written again on restore)');
SELECT throws_ok($$SELECT erp.post_on_insert('erp.role', 'x')$$, '42703',
                 'erp.role lacks columns id bigint, entry_id bigint',
                 'a table without the event columns cannot be registered');
SELECT lives_ok('DROP EXTENSION crm_erp', 'crm_erp drops cleanly');

SELECT * FROM finish();
ROLLBACK;
