-- Installing crm_collections and setting a business up: objects, the chart of accounts, buckets,
-- the default product, idempotence, and the refusals of bad setups.
BEGIN;
SELECT plan(36);

SELECT has_extension('crm_collections', 'crm_collections is installed');
SELECT has_extension('crm_core', 'it requires crm_core');
SELECT is(collections.version(), (SELECT extversion FROM pg_extension WHERE extname = 'crm_collections'),
          'the library and the SQL have the same version');
SELECT has_schema('collections', 'schema collections');
SELECT tables_are('collections', ARRAY[
    'business_settings', 'fingerprint_key', 'gl_account', 'product', 'bucket', 'customer',
    'income_expense_profile', 'risk_flag', 'debt_account', 'collateral', 'debt_collateral',
    'guarantor', 'repayment_plan', 'installment', 'dpd_due', 'payment', 'payment_default', 'payment_reference',
    'payment_allocation', 'payment_allocation_default', 'payment_reversal', 'adjustment',
    'dpd_history', 'dpd_history_default',
    -- the workflow (issue 13)
    'agent', 'assignment', 'action_outcome', 'call_status', 'action', 'action_default', 'call_session',
    'call_session_default', 'call_session_key', 'call_status_update', 'call_status_update_default',
    'promise', 'promise_payment', 'promise_history', 'dunning_template', 'dunning_rule', 'dunning_block',
    'outbox', 'job_run'], 'the tables of the extension (partitions come from maintenance)');
SELECT col_is_pk('collections', t, ARRAY['business_id', 'id'], t || ' keys on business_id first')
  FROM unnest(ARRAY['customer', 'debt_account', 'product', 'bucket', 'repayment_plan', 'installment',
                    'adjustment']) AS t;
SELECT ok(NOT EXISTS (
    SELECT FROM pg_constraint c
     WHERE c.contype = 'f' AND c.connamespace = 'collections'::regnamespace
       AND NOT (SELECT bool_or(a.attname = 'business_id') FROM pg_attribute a
                 WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey))),
    'every foreign key of the schema includes business_id');

\ir lib/fixture.sql

SELECT is((SELECT array_agg(code ORDER BY code) FROM crm_core.account WHERE business_id = 71),
          ARRAY['1010-EUR', '1210-EUR', '1220-EUR', '1230-EUR', '1240-EUR', '2410-EUR', '3910-EUR',
                '4210-EUR', '4220-EUR', '4230-EUR', '6810-EUR'],
          'setup_business creates the chart: cash, receivable and income per component, credit balances, opening balances, write-offs');
SELECT is((SELECT kind || '/' || overdraft FROM crm_core.account WHERE business_id = 71 AND code = '2410-EUR'),
          'liability/debits_must_not_exceed_credits', 'customer credit balances are a liability that never goes negative');
SELECT is((SELECT array_agg(code || ':' || min_days || '-' || coalesce(max_days::text, '') ORDER BY min_days)
             FROM collections.bucket WHERE business_id = 71),
          ARRAY['current:0-0', '1-30:1-30', '31-60:31-60', '61-90:61-90', '90+:91-'],
          'default buckets: current, 1-30, 31-60, 61-90, 90+');
SELECT is((SELECT allocation_order FROM collections.product WHERE business_id = 71 AND code = 'standard'),
          ARRAY['penalty', 'fee', 'interest', 'principal'], 'product standard allocates penalty, fee, interest, principal');
SELECT is((SELECT currency FROM collections.product WHERE business_id = 72 AND code = 'standard'), 'INR',
          'the product takes the business currency');
SELECT is((SELECT count(*)::int FROM collections.setup_business(71)), 0,
          'a second setup_business creates nothing');
SELECT is((SELECT array_agg(object ORDER BY object) FROM collections.setup_business(71, 'USD', 'FR')
            WHERE object <> 'account'),
          ARRAY['product'], 'another currency adds its accounts and a product');
SELECT is((SELECT code FROM collections.product WHERE business_id = 71 AND currency = 'USD'), 'standard-USD',
          'named standard-<currency>');
SELECT is((SELECT length(key) FROM collections.fingerprint_key), 32, 'one 32-byte fingerprint key per database');

-- Products take their accounts from the business chart; refusals.
INSERT INTO collections.product (business_id, code) VALUES (71, 'consumer');
SELECT is((SELECT principal_account_id FROM collections.product WHERE business_id = 71 AND code = 'consumer'),
          (SELECT account_id FROM collections.gl_account WHERE business_id = 71 AND currency = 'EUR'
              AND role = 'principal_receivable'),
          'a product inserted with only a code gets the business''s accounts');
SELECT throws_ok($$INSERT INTO collections.product (business_id, code, allocation_order)
                   VALUES (71, 'bad', '{principal,interest,fee,fee}')$$,
                 '22023', 'component "fee" appears twice in the allocation order',
                 'an allocation order must name each component once');
SELECT throws_ok($$INSERT INTO collections.product (business_id, code, currency) VALUES (71, 'gbp', 'GBP')$$,
                 '55000', 'business 71 has no collections accounts in GBP',
                 'a product in a currency without a chart is refused');
SELECT throws_ok($$SELECT collections.setup_business(999)$$, '23503', 'business 999 does not exist',
                 'setup_business refuses an unknown business');
SELECT throws_ok($$SELECT collections.setup_business(71, 'EUR', 'XX')$$, '22023',
                 'country XX is not an ISO 3166 country code libphonenumber knows',
                 'setup_business refuses an unknown country');
SELECT throws_ok($$SELECT collections.setup_business(71, 'EUR', 'DE')$$, '22023',
                 'business 71 is set up with phone country FR, not DE',
                 'setup_business refuses to change a business''s country silently');
SELECT throws_ok($$SELECT collections.setup_business(71, 'euro')$$, '22023',
                 'currency "euro" is not an ISO 4217 code', 'setup_business refuses a bad currency');
SELECT is(collections.currency_decimals('JPY'), 0, 'currency decimals come from ICU');

SELECT ok((SELECT bool_and(by_extension) FROM crm_core.append_only_table
            WHERE relid IN (SELECT oid FROM pg_class WHERE relnamespace = 'collections'::regnamespace))
          AND (SELECT bool_and(by_extension) FROM crm_core.audited_table
                WHERE relid IN (SELECT oid FROM pg_class WHERE relnamespace = 'collections'::regnamespace))
          AND (SELECT bool_and(by_extension) FROM crm_core.partition_config
                WHERE parent IN (SELECT oid FROM pg_class WHERE relnamespace = 'collections'::regnamespace)),
          'the registrations the install made are the extension''s (not dumped, made again by CREATE EXTENSION)');

-- Past months for history, made before it is loaded.
SELECT is((SELECT count(*)::int FROM collections.prepare_history((date_trunc('month', CURRENT_DATE) - interval '2 months')::date)),
          6, 'prepare_history makes the two past months of payments, allocations and history');
SELECT is((SELECT count(*)::int FROM collections.prepare_history((date_trunc('month', CURRENT_DATE) - interval '2 months')::date)),
          0, 'and nothing the second time');
SELECT throws_ok($$SELECT collections.prepare_history(NULL)$$, '22023', 'since must be a date within the last 50 years, not NULL',
                 'prepare_history needs a date');

-- Who may run what.
SELECT ok(NOT has_function_privilege('crm_core_app', 'collections.setup_business(bigint, text, text)', 'EXECUTE'),
          'the application cannot run setup_business');
SELECT ok(NOT has_table_privilege('crm_core_app', 'collections.fingerprint_key', 'SELECT')
          AND NOT has_table_privilege('crm_core_readonly', 'collections.fingerprint_key', 'SELECT'),
          'the fingerprint key is readable by superusers and the extension owner only');

SELECT * FROM finish();
ROLLBACK;
