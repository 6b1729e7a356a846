-- Dashboards: registered materialized views refreshed by crm_core, each read through a view
-- showing the current business only.
BEGIN;
SELECT plan(10);
\ir lib/fixture.sql

SELECT is((SELECT array_agg(view::text ORDER BY view::text) FROM crm_core.matview WHERE view::text LIKE 'collections.%'),
          ARRAY['collections.agent_performance_mv', 'collections.collections_per_day_mv', 'collections.dunning_effect_mv',
                'collections.portfolio_aging_mv', 'collections.promise_kept_rate_mv', 'collections.roll_rate_mv'],
          'three dashboards are registered with crm_core (and the workflow''s three, see 750)');
SELECT ok((SELECT bool_and(by_extension) FROM crm_core.matview WHERE view::text LIKE 'collections.%'),
          'as the extension''s own (CREATE EXTENSION registers them again on restore)');

INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (71, 7101, 'Jeanne Martin', '0612345678');
INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (72, 7201, 'Ravi Kumar', '9876543210');
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, due_on)
VALUES (71, 7701, 7101, 'A', 1000, CURRENT_DATE - 40), (71, 7702, 7101, 'B', 500, CURRENT_DATE + 10),
       (72, 7703, 7201, 'C', 9000, CURRENT_DATE - 5);
SELECT pg_temp.pay(7701, 200);
SELECT collections.reverse_payment(pg_temp.pay(7702, 50), 'bounced');
SELECT count(*) AS refreshed FROM crm_core.refresh_now('collections.portfolio_aging_mv') \gset
SELECT count(*) AS refreshed FROM crm_core.refresh_now('collections.collections_per_day_mv') \gset
SELECT count(*) AS refreshed FROM crm_core.refresh_now('collections.roll_rate_mv') \gset

SELECT is((SELECT array_agg(format('%s:%s:%s:%s', business_id, bucket, debts, outstanding) ORDER BY business_id, bucket)
             FROM collections.portfolio_aging_mv),
          ARRAY['71:31-60:1:800.00', '71:current:1:500.00', '72:1-30:1:9000.00'],
          'portfolio aging: debts and what they owe per bucket, from the ledger');
SELECT is((SELECT format('%s %s %s %s', payments, collected, reversed_payments, net_collected)
             FROM collections.collections_per_day_mv WHERE business_id = 71),
          '2 250 1 200', 'collections per day: payments, amounts and reversals');
SELECT is((SELECT count(*)::int FROM collections.roll_rate_mv), 0, 'roll rates need month ends in the history');
-- Three month starts of history: A current -> 1-30 -> 31-60, B current -> current -> current.
INSERT INTO collections.dpd_history (business_id, debt_account_id, as_of, days_past_due, old_bucket_id, new_bucket_id, cause)
SELECT 71, d, (date_trunc('month', CURRENT_DATE) - interval '2 months' - interval '5 days')::date, 0, NULL::bigint,
       (SELECT id FROM collections.bucket WHERE business_id = 71 AND code = 'current'), 'run_dpd'
  FROM unnest(ARRAY[7701, 7702]) AS d
UNION ALL
SELECT 71, 7701, (date_trunc('month', CURRENT_DATE) - interval '1 month' - interval '2 days')::date, 10,
       NULL, (SELECT id FROM collections.bucket WHERE business_id = 71 AND code = '1-30'), 'run_dpd'
UNION ALL
SELECT 71, 7701, (date_trunc('month', CURRENT_DATE) - interval '2 days')::date, 40,
       NULL, (SELECT id FROM collections.bucket WHERE business_id = 71 AND code = '31-60'), 'run_dpd';
SELECT count(*) AS refreshed FROM crm_core.refresh_now('collections.roll_rate_mv') \gset
SELECT is((SELECT array_agg(format('%s:%s>%s:%s', month - date_trunc('month', CURRENT_DATE)::date, from_bucket, to_bucket, debts)
                            ORDER BY month, from_bucket, to_bucket)
             FROM collections.roll_rate_mv WHERE business_id = 71 AND from_bucket <> 'none'),
          ARRAY[format('%s:current>1-30:1', (date_trunc('month', CURRENT_DATE) - interval '2 months')::date - date_trunc('month', CURRENT_DATE)::date),
                format('%s:current>current:1', (date_trunc('month', CURRENT_DATE) - interval '2 months')::date - date_trunc('month', CURRENT_DATE)::date),
                format('%s:1-30>31-60:1', (date_trunc('month', CURRENT_DATE) - interval '1 month')::date - date_trunc('month', CURRENT_DATE)::date),
                format('%s:current>current:1', (date_trunc('month', CURRENT_DATE) - interval '1 month')::date - date_trunc('month', CURRENT_DATE)::date)],
          'roll rates: debts per bucket at the start of a month and at the start of the next');

SELECT pg_temp.as_app(71);
SELECT is((SELECT array_agg(DISTINCT business_id) FROM collections.portfolio_aging), ARRAY[71::bigint],
          'the application sees its own business''s aging only');
SELECT is((SELECT count(*)::int FROM collections.collections_per_day), 1, 'and its own collections');
SELECT throws_ok($$SELECT * FROM collections.portfolio_aging_mv$$, '42501', NULL,
                 'but not the materialized view holding every business');
RESET ROLE;
RESET crm_core.business_id;
SELECT is((SELECT count(*)::int FROM collections.portfolio_aging), 0,
          'without a business set the dashboards show nothing');

SELECT * FROM finish();
ROLLBACK;
