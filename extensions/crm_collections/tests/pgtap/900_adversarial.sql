-- What an application role, a read-only role or a crafted session cannot do: write what
-- crm_collections keeps, run its internals, reach functions through search_path.
BEGIN;
SELECT plan(13);
\ir lib/fixture.sql

SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text)
             FROM pg_proc p WHERE p.pronamespace = 'collections'::regnamespace AND p.prolang <> 13
              AND NOT EXISTS (SELECT FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%')),
          ARRAY['collections.run_dpd_in_batches(date,integer,bigint,bigint)'],
          'every SQL and PL/pgSQL function of the schema pins search_path (the committing procedure qualifies every name instead)');
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid)
             FROM pg_proc p WHERE p.pronamespace = 'collections'::regnamespace AND p.prosecdef
              AND has_function_privilege('crm_core_app', p.oid, 'EXECUTE')),
          NULL, 'the application executes no SECURITY DEFINER function of the schema');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname::text COLLATE "C")
             FROM pg_proc p WHERE p.pronamespace = 'collections'::regnamespace AND p.proname LIKE '\_%'
              AND p.prorettype <> 'trigger'::regtype
              AND has_function_privilege('crm_core_app', p.oid, 'EXECUTE')),
          ARRAY['_agent', '_balance_quotas', '_check_allocation_order', '_check_call_status', '_check_template', '_debt',
                '_is_owner', '_is_phone_country', '_outbox_sending', '_payment', '_render_template', '_retry_delay_ms'],
          'of the internal functions the application runs only harmless lookups (and the workflow''s, which its functions call as the application)');

INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (71, 7101, 'Jeanne Martin', '0612345678');
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal) VALUES (71, 7801, 7101, 'A', 100);
SELECT pg_temp.pay(7801, 10);

SELECT pg_temp.as_app(71);
SELECT throws_ok($$INSERT INTO collections.dpd_history (business_id, debt_account_id, as_of, days_past_due, cause)
                   VALUES (71, 7801, CURRENT_DATE, 0, 'run_dpd')$$, '42501', NULL, 'the application cannot write history');
SELECT throws_ok($$INSERT INTO collections.payment_reference (business_id, reference, payment_id, paid_at, debt_account_id)
                   VALUES (71, 'free', 1, now(), 7801)$$, '42501', NULL, 'nor claim a reference');
SELECT throws_ok($$UPDATE collections.debt_account SET bucket_id = NULL, revision = 0 WHERE id = 7801$$, '42501', NULL,
                 'nor move a debt''s bucket');
SELECT throws_ok($$UPDATE collections.repayment_plan SET status = 'superseded'$$, '42501', NULL,
                 'nor supersede a plan');
SELECT throws_ok($$SELECT collections.run_dpd()$$, '42501', NULL, 'nor run the close of business');
SELECT throws_ok($$INSERT INTO collections.adjustment (business_id, debt_account_id, kind, amount, reason, principal)
                   VALUES (71, 7801, 'fee', 1, 'x', 100)$$, '42501', NULL, 'nor choose how an adjustment splits');
RESET ROLE;

SET LOCAL ROLE crm_core_readonly;
SELECT throws_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                   VALUES (71, 7801, 'RO', 1)$$, '42501', NULL, 'the read-only role records no payment');
SELECT lives_ok($$SELECT * FROM collections.debt_position$$, 'it reads positions');
RESET ROLE;

-- A session that puts its own schema first: the triggers and functions still use the real ones.
CREATE SCHEMA evil;
CREATE FUNCTION evil.subledger_balance(bigint, bigint) RETURNS numeric LANGUAGE sql AS 'SELECT 0::numeric';
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT '2000-01-01'::timestamptz$$;
SET LOCAL search_path = evil, collections, crm_core, public;
SELECT lives_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount) VALUES (71, 7801, 'EVIL', 5)$$,
                'a payment in a session with a hostile search_path');
RESET search_path;
SELECT is((SELECT outstanding FROM collections.debt_position WHERE debt_account_id = 7801), 85.00,
          'was allocated with the real functions');

SELECT * FROM finish();
ROLLBACK;
