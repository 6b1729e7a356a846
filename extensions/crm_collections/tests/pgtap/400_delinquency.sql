-- Days past due and buckets: non-overlapping buckets, run_dpd (set-based, only the debts whose
-- bucket changes, one history row per change, idempotent per day, never back in time), grace
-- days, and a change of the rules re-reading a business's debts.
BEGIN;
SELECT plan(28);
\ir lib/fixture.sql

SELECT throws_ok($$INSERT INTO collections.bucket (business_id, code, min_days, max_days) VALUES (71, 'x', 25, 40)$$,
                 '23P01', 'conflicting key value violates exclusion constraint "bucket_ranges_do_not_overlap"',
                 'buckets of a business never overlap');
DELETE FROM collections.bucket WHERE business_id = 72 AND code = '31-60';
SELECT lives_ok($$INSERT INTO collections.bucket (business_id, code, min_days, max_days) VALUES (72, '31-45', 31, 45)$$,
                'each business has its own buckets');
SELECT throws_ok($$INSERT INTO collections.bucket (business_id, code, min_days, max_days) VALUES (71, 'y', 300, 200)$$,
                 '23514', NULL, 'a bucket''s range is ordered');

INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (71, 7101, 'Jeanne Martin', '0612345678');
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, due_on)
VALUES (71, 7601, 7101, 'A', 100, CURRENT_DATE),
       (71, 7602, 7101, 'B', 100, CURRENT_DATE - 30),
       (71, 7603, 7101, 'C', 100, CURRENT_DATE - 45),
       (71, 7604, 7101, 'D', 100, CURRENT_DATE - 200),
       (71, 7605, 7101, 'E', 100, NULL);
CREATE FUNCTION pg_temp.buckets() RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(d.external_ref || ':' || coalesce(b.code, 'none') ORDER BY d.external_ref)
      FROM collections.debt_account d LEFT JOIN collections.bucket b ON b.business_id = d.business_id AND b.id = d.bucket_id
     WHERE d.business_id = 71
$$;
SELECT is(pg_temp.buckets(), ARRAY['A:current', 'B:1-30', 'C:31-60', 'D:90+', 'E:current'],
          'debts open in the bucket of their days past due');
SELECT is((SELECT array_agg(days_past_due ORDER BY external_ref) FROM collections.debt_position WHERE business_id = 71),
          ARRAY[0, 30, 45, 200, 0], 'debt_position: days past due today (none without a due date)');

SELECT is((SELECT row(debts_examined, buckets_changed)::text FROM collections.run_dpd(CURRENT_DATE)), '(0,0)',
          'run_dpd today: nothing due to change, nothing read');
SELECT is((SELECT row(debts_examined, buckets_changed)::text FROM collections.run_dpd(CURRENT_DATE + 1, 1)), '(1,1)',
          'run_dpd tomorrow in batches of one: the first debt that crosses a boundary');
SELECT is((SELECT row(debts_examined, buckets_changed)::text FROM collections.run_dpd(CURRENT_DATE + 1, 1)), '(1,1)',
          'then the second, and only them');
SELECT is(pg_temp.buckets(), ARRAY['A:1-30', 'B:31-60', 'C:31-60', 'D:90+', 'E:current'], 'they moved');
SELECT is((SELECT array_agg(format('%s:%s:%s:%s', d.external_ref, h.as_of - CURRENT_DATE, h.days_past_due, h.cause)
                            ORDER BY d.external_ref)
             FROM collections.dpd_history h JOIN collections.debt_account d ON d.business_id = h.business_id AND d.id = h.debt_account_id
            WHERE h.cause = 'run_dpd'),
          ARRAY['A:1:1:run_dpd', 'B:1:31:run_dpd'], 'one dpd_history row per change, with its day and days past due');
SELECT is((SELECT row(debts_examined, buckets_changed)::text FROM collections.run_dpd(CURRENT_DATE + 1)), '(0,0)',
          'a second run for the same day changes nothing');
SELECT is((SELECT row(debts_examined, buckets_changed)::text FROM collections.run_dpd(CURRENT_DATE + 16)), '(1,1)',
          'sixteen days later: C reaches 61 days');
SELECT is((SELECT row(debts_examined, buckets_changed)::text FROM collections.run_dpd(CURRENT_DATE)), '(0,0)',
          'run_dpd never goes back in time');
SELECT is((SELECT count(*)::int FROM collections.dpd_history WHERE cause = 'run_dpd'), 3, 'three changes in all');

-- A payment moves the debt at once, as of its latest evaluation.
SELECT pg_temp.pay(7603, 100);
SELECT is(pg_temp.buckets(), ARRAY['A:1-30', 'B:31-60', 'C:current', 'D:90+', 'E:current'],
          'a debt paid off is current at once');
SELECT is((SELECT changes_on FROM collections.dpd_due WHERE debt_account_id = 7603), NULL,
          'and leaves run_dpd''s way');

-- Grace days: a change re-reads every debt of the business at the next run.
UPDATE collections.product SET grace_days = 10 WHERE business_id = 71 AND code = 'standard';
SELECT is((SELECT dpd_full_run_needed FROM collections.business_settings WHERE business_id = 71), true,
          'changing grace days flags the business');
SELECT is((SELECT debts_examined FROM collections.run_dpd(CURRENT_DATE + 16)), 5::bigint,
          'the next run reads all five debts of the business');
SELECT is(pg_temp.buckets(), ARRAY['A:1-30', 'B:31-60', 'C:current', 'D:90+', 'E:current'],
          'with 10 grace days B (46 days late) stays in 31-60 (36)');
SELECT is((SELECT debts_examined FROM collections.run_dpd(CURRENT_DATE + 16)), 0::bigint, 'and the flag is cleared');
SELECT is((SELECT days_past_due FROM collections.debt_position WHERE debt_account_id = 7602), 20,
          'debt_position counts after the grace days');

-- Buckets edited: the same.
SET CONSTRAINTS collections.bucket_ranges_do_not_overlap DEFERRED;
UPDATE collections.bucket SET max_days = 40 WHERE business_id = 71 AND code = '1-30';
UPDATE collections.bucket SET min_days = 41 WHERE business_id = 71 AND code = '31-60';
SET CONSTRAINTS collections.bucket_ranges_do_not_overlap IMMEDIATE;
SELECT is((SELECT row(debts_examined, buckets_changed)::text FROM collections.run_dpd(CURRENT_DATE + 16)), '(5,1)',
          'after editing buckets every debt of the business is read again; B (36 days) moves back');
SELECT is(pg_temp.buckets(), ARRAY['A:1-30', 'B:1-30', 'C:current', 'D:90+', 'E:current'], 'into 1-30 as edited');

SELECT throws_ok($$SELECT collections.run_dpd(NULL)$$, '22004', 'as_of is required', 'run_dpd needs a day');
SELECT throws_ok($$SELECT collections.run_dpd(CURRENT_DATE, 0)$$, '22023', 'batch_size must be positive, not 0',
                 'and a positive batch size');
SELECT is((SELECT format('%s %s %s', job, every, extension) FROM crm_core.jobs WHERE name = 'collections.run_dpd'),
          'collections.run_dpd_job() 1 day crm_collections',
          'run_dpd is registered in crm_core''s job registry, daily, by the extension');
SELECT is((SELECT result FROM crm_core.run_job('collections.run_dpd')), 'success',
          'the registry runs it');
SELECT ok(NOT has_function_privilege('crm_core_app', 'collections.run_dpd(date, integer)', 'EXECUTE'),
          'the application does not run the close of business');

SELECT * FROM finish();
ROLLBACK;
