-- The workflow's jobs as registered, its dashboards (registered materialized views, each read
-- through a per-business view), and what the application may not touch.
BEGIN;
SELECT * FROM no_plan();
\ir lib/fixture.sql

SELECT is((SELECT array_agg(name || ' ' || job::text || ' ' || every || ' ' || extension ORDER BY name) FROM crm_core.jobs
            WHERE name LIKE 'collections.%'),
          ARRAY['collections.run_dpd collections.run_dpd_job() 1 day crm_collections',
                'collections.run_dunning collections.daily_dunning() 1 day crm_collections',
                'collections.run_promises collections.daily_promises() 1 day crm_collections'],
          'run_dpd, run_promises and run_dunning are daily crm_core jobs of the extension');
SELECT is((SELECT result FROM crm_core.run_job('collections.run_promises')), 'success', 'crm-core-service runs them with run_job');
SELECT is((SELECT counts FROM collections.job_run WHERE job = 'run_promises' ORDER BY id DESC LIMIT 1), '{"promises_broken": 0}'::jsonb,
          'and the run is recorded with its counts');
SELECT is((SELECT array_agg(view::text ORDER BY view::text) FROM crm_core.matview
            WHERE view::text LIKE 'collections.%' AND by_extension AND view::text IN
                  ('collections.agent_performance_mv', 'collections.promise_kept_rate_mv', 'collections.dunning_effect_mv')),
          ARRAY['collections.agent_performance_mv', 'collections.dunning_effect_mv', 'collections.promise_kept_rate_mv'],
          'the dashboards are registered materialized views');

-- a day of work: actions, a kept promise, a reminder followed by a payment
INSERT INTO collections.agent (business_id, id, name) VALUES (71, 8801, 'Ana'), (72, 8802, 'Ravi');
SELECT pg_temp.debt(1000, NULL, 20, 'DB-1') AS d1 \gset
SELECT collections.assign(:d1, 8801, now() - interval '1 hour') IS NOT NULL AS assigned \gset
SELECT collections.record_action(:d1, 'call', 'no_answer', 8801) IS NOT NULL AS a \gset
SELECT collections.record_action(:d1, 'call', 'promise_to_pay', 8801) IS NOT NULL AS a \gset
SELECT collections.promise_to_pay(:d1, 200, CURRENT_DATE + 3, 8801) IS NOT NULL AS p \gset
INSERT INTO collections.dunning_template (business_id, id, code, channel, body) VALUES (71, 8901, 't', 'sms', 'Pay {{amount_due}}');
INSERT INTO collections.dunning_rule (business_id, template_id, min_dpd, stop_on_open_promise) VALUES (71, 8901, 1, false);
SELECT messages_queued AS queued FROM collections.run_dunning() \gset
SELECT pg_temp.pay(:d1, 250) IS NOT NULL AS paid \gset
REFRESH MATERIALIZED VIEW CONCURRENTLY collections.agent_performance_mv;
REFRESH MATERIALIZED VIEW CONCURRENTLY collections.promise_kept_rate_mv;
REFRESH MATERIALIZED VIEW CONCURRENTLY collections.dunning_effect_mv;
SELECT is((SELECT format('%s %s %s %s %s %s', actions, contacts, promises_made, promises_kept, kept_rate, amount_collected)
             FROM collections.agent_performance_mv WHERE agent_id = 8801),
          '2 1 1 1 1.0000 250', 'agent performance: actions, contacts, promises made and kept, kept rate, collected on assigned debts');
SELECT is((SELECT format('%s %s %s', promises, kept, kept_rate) FROM collections.promise_kept_rate_mv WHERE business_id = 71),
          '1 1 1.0000', 'promise kept rate by week');
SELECT is((SELECT format('%s %s %s %s', queued, debts_reminded, debts_paid_within_7_days, paid_within_7_days)
             FROM collections.dunning_effect_mv WHERE business_id = 71),
          '1 1 1 250', 'reminders and the payments within 7 days after');

SELECT pg_temp.as_app(72);
SELECT is((SELECT count(*)::int FROM collections.agent_performance), 0, 'a business sees its own dashboard rows only');
SELECT throws_ok('SELECT * FROM collections.agent_performance_mv', '42501', 'permission denied for materialized view agent_performance_mv', 'not the materialized view itself');
RESET ROLE;
SELECT pg_temp.as_app(71);
SELECT is((SELECT count(*)::int FROM collections.agent_performance), 1, 'its own rows');
SELECT throws_ok('SELECT * FROM collections.job_run', '42501', 'permission denied for table job_run', 'the job log is for operators');
SELECT throws_ok('INSERT INTO collections.promise_history (business_id, promise_id, new_status, covered_amount) VALUES (71, 1, ''kept'', 0)',
                 '42501', NULL, 'promise history is written by the database only');
SELECT throws_ok('INSERT INTO collections.outbox (business_id, channel, recipient, body, debt_account_id, customer_id, as_of, dedup_key) VALUES (71, ''sms'', ''x'', ''x'', 1, 1, CURRENT_DATE, ''x'')',
                 '42501', NULL, 'the outbox is filled by run_dunning only');
SELECT throws_ok('UPDATE collections.promise SET covered_amount = 0', '42501', 'permission denied for table promise', 'covered amounts are the database''s');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
