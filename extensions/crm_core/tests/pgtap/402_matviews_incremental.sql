-- Incremental time-bucket summaries over a range-partitioned table: after inserts, updates
-- (within a bucket, across buckets and partitions), deletes and TRUNCATE, an incremental
-- refresh equals a full recompute, and only the touched buckets are rewritten.
BEGIN;
SELECT plan(56);

CREATE SCHEMA mvi;
SET search_path = mvi, public;

CREATE TABLE payment (id bigint NOT NULL, business_id bigint NOT NULL, amount numeric NOT NULL,
                      paid_at timestamptz NOT NULL) PARTITION BY RANGE (paid_at);
CREATE TABLE payment_2026_01 PARTITION OF payment FOR VALUES FROM ('2026-01-01 00:00+00') TO ('2026-02-01 00:00+00');
CREATE TABLE payment_2026_02 PARTITION OF payment FOR VALUES FROM ('2026-02-01 00:00+00') TO ('2026-03-01 00:00+00');
CREATE TABLE payment_2026_03 PARTITION OF payment FOR VALUES FROM ('2026-03-01 00:00+00') TO ('2026-04-01 00:00+00');
CREATE TABLE payment_default PARTITION OF payment DEFAULT;
CREATE INDEX ON payment (paid_at);
INSERT INTO payment
SELECT g, g % 3, g % 97, timestamptz '2026-01-01 00:00+00' + g * interval '37 minutes'
FROM generate_series(1, 3000) AS g;  -- about 77 days: three partitions

CREATE TABLE daily (bucket timestamptz NOT NULL, business_id bigint NOT NULL, payments bigint NOT NULL,
                    total numeric NOT NULL, biggest numeric NOT NULL, PRIMARY KEY (bucket, business_id));
CREATE VIEW daily_query AS
    SELECT $q$SELECT date_bin('1 day', paid_at, '2000-01-01 00:00+00') AS bucket, business_id,
                     count(*), sum(amount), max(amount)
              FROM payment WHERE paid_at >= $1 AND paid_at < $2 GROUP BY 1, 2$q$ AS query;

-- Rows in the summary and not in a full recompute, plus the other way round.
CREATE FUNCTION pg_temp.differences() RETURNS bigint LANGUAGE sql AS $$
    WITH full_recompute AS (
        SELECT date_bin('1 day', paid_at, '2000-01-01 00:00+00') AS bucket, business_id,
               count(*) AS payments, sum(amount) AS total, max(amount) AS biggest
        FROM mvi.payment GROUP BY 1, 2)
    SELECT (SELECT count(*) FROM (SELECT * FROM mvi.daily EXCEPT ALL SELECT * FROM full_recompute) a)
         + (SELECT count(*) FROM (SELECT * FROM full_recompute EXCEPT ALL SELECT * FROM mvi.daily) b)
$$;

-- ---------------------------------------------------------------------------------------------
-- Registration checks.
CREATE VIEW not_a_table AS SELECT * FROM daily;
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('not_a_table', 'payment', 'paid_at', '1 day',
                   (SELECT query FROM daily_query), '1 hour')$$,
                 '42809', 'summary not_a_table must be a plain table', 'the summary must be a table');
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('daily', 'not_a_table', 'paid_at', '1 day',
                   (SELECT query FROM daily_query), '1 hour')$$,
                 '42809', 'source not_a_table must be a table or a partitioned table', 'the source must be a table');
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('daily', 'payment', 'paid_on', '1 day',
                   (SELECT query FROM daily_query), '1 hour')$$,
                 '42703', 'source payment has no column paid_on', 'the time column must exist');
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('daily', 'payment', 'amount', '1 day',
                   (SELECT query FROM daily_query), '1 hour')$$,
                 '42804', 'time column payment.amount is numeric, not timestamptz, timestamp or date',
                 'the time column must be a time');
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('daily', 'payment', 'paid_at', '1 day',
                   (SELECT query FROM daily_query), '1 hour', bucket_column => 'day')$$,
                 '42703', 'summary daily has no bucket column day', 'the bucket column must exist');
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('daily', 'payment', 'paid_at', '1 month',
                   (SELECT query FROM daily_query), '1 hour')$$,
                 '22023', 'bucket_width must be a positive fixed interval (days, hours ...), not 1 mon',
                 'buckets of varying width are refused');
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('daily', 'payment', 'paid_at', '1 day',
                   'SELECT 1', '1 hour')$$,
                 '22023', 'query must read source rows with $1 <= paid_at < $2', 'the query must take the range');
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('daily', 'payment', 'paid_at', '1 day',
                   (SELECT query FROM daily_query), '-1 hour')$$,
                 '22023', 'refresh_every must be a positive interval, not -01:00:00', 'a non-positive interval is refused');
SELECT is(crm_core.register_bucket_summary('daily', 'payment', 'paid_at', '1 day',
                                           (SELECT query FROM daily_query), '1 hour'),
          (SELECT count(*) FROM (SELECT DISTINCT date_bin('1 day', paid_at, '2000-01-01 00:00+00'), business_id
                                 FROM payment) AS g),
          'registration fills the summary and returns its rows');
SELECT is(pg_temp.differences(), 0::bigint, 'the first fill equals a full recompute');
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('daily', 'payment', 'paid_at', '1 day',
                   (SELECT query FROM daily_query), '1 hour')$$,
                 '42710', 'mvi.daily is already registered', 'registering twice is refused');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'payment'::regclass AND tgname LIKE 'crm_core_bucket_%'),
          4::bigint, 'the source has insert, update, delete and truncate triggers');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'payment_2026_02'::regclass AND tgname LIKE 'crm_core_bucket_%'),
          4::bigint, 'and so has each partition, for statements that name it directly');

-- Remember where every summary row lives: an untouched bucket keeps its ctid.
CREATE TEMP TABLE before_rows AS SELECT ctid AS row_id, bucket FROM daily;

-- ---------------------------------------------------------------------------------------------
-- Inserts into several partitions.
INSERT INTO payment VALUES (10001, 1, 50, '2026-01-05 10:00+00'), (10002, 2, 60, '2026-02-10 10:00+00'),
                           (10003, 7, 70, '2026-03-15 23:59+00'), (10004, 1, 80, '2026-06-01 00:00+00');
SELECT ok((SELECT pending_invalidations > 0 FROM crm_core.matview_status WHERE view = 'daily'::regclass),
          'the statement logged invalidated buckets');
SELECT isnt(pg_temp.differences(), 0::bigint, 'before the refresh, the summary is stale');
CREATE TEMP TABLE insert_refresh AS SELECT * FROM crm_core.refresh_now('daily');
SELECT results_eq($$SELECT status, rows FROM insert_refresh$$,
                  $$VALUES ('refreshed', (SELECT count(*) FROM daily
                                          WHERE bucket IN ('2026-01-05 00:00+00', '2026-02-10 00:00+00',
                                                           '2026-03-15 00:00+00', '2026-06-01 00:00+00')))$$,
                  'the refresh recomputed only the four touched days');
SELECT is(pg_temp.differences(), 0::bigint, 'after inserts in several partitions: equal to a full recompute');
SELECT is((SELECT count(*) FROM before_rows b JOIN daily d ON d.ctid = b.row_id
           WHERE b.bucket NOT IN ('2026-01-05 00:00+00', '2026-02-10 00:00+00', '2026-03-15 00:00+00')),
          (SELECT count(*) FROM before_rows
           WHERE bucket NOT IN ('2026-01-05 00:00+00', '2026-02-10 00:00+00', '2026-03-15 00:00+00')),
          'rows of untouched buckets were not rewritten');
SELECT is((SELECT pending_invalidations FROM crm_core.matview_status WHERE view = 'daily'::regclass),
          0::bigint, 'the refresh consumed the log');

-- Updates: within a bucket, across buckets, across partitions, and of the grouping key.
UPDATE payment SET amount = amount + 1000 WHERE id = 100;
UPDATE payment SET paid_at = paid_at + interval '3 days' WHERE id = 200;
UPDATE payment SET paid_at = '2026-03-20 12:00+00' WHERE id IN (300, 301, 302);
UPDATE payment SET business_id = 9 WHERE id = 2500;
SELECT isnt(pg_temp.differences(), 0::bigint, 'updates make the summary stale');
SELECT lives_ok($$SELECT crm_core.refresh_now('daily')$$, 'refresh after updates');
SELECT is(pg_temp.differences(), 0::bigint,
          'after updates (also moving rows across buckets and partitions): equal to a full recompute');

-- Deletes in several partitions, one emptying a whole bucket.
DELETE FROM payment WHERE id % 500 = 7;
DELETE FROM payment WHERE paid_at >= '2026-02-20 00:00+00' AND paid_at < '2026-02-21 00:00+00';
SELECT lives_ok($$SELECT crm_core.refresh_now('daily')$$, 'refresh after deletes');
SELECT is(pg_temp.differences(), 0::bigint, 'after deletes in several partitions: equal to a full recompute');
SELECT is((SELECT count(*) FROM daily WHERE bucket = '2026-02-20 00:00+00'), 0::bigint,
          'an emptied bucket disappears from the summary');

-- A writer without any privilege on crm_core: the trigger logs on its behalf.
CREATE ROLE mvi_writer;
GRANT USAGE ON SCHEMA mvi TO mvi_writer;
GRANT INSERT, UPDATE, DELETE, SELECT ON payment TO mvi_writer;
SET LOCAL ROLE mvi_writer;
INSERT INTO payment SELECT 20000 + g, 2, g, timestamptz '2026-01-20 00:00+00' + g * interval '1 hour'
FROM generate_series(1, 100) AS g;
RESET ROLE;
SELECT lives_ok($$SELECT crm_core.refresh_now('daily')$$, 'refresh after an application role''s insert');
SELECT is(pg_temp.differences(), 0::bigint, 'its changes were logged and folded in');

-- Writes that name a partition directly, also one created after registration.
INSERT INTO payment_2026_02 VALUES (40001, 1, 11, '2026-02-03 03:00+00');
DELETE FROM payment_2026_01 WHERE id = 10;
CREATE TABLE payment_2026_04 PARTITION OF payment FOR VALUES FROM ('2026-04-01 00:00+00') TO ('2026-05-01 00:00+00');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'payment_2026_04'::regclass AND tgname LIKE 'crm_core_bucket_%'),
          4::bigint, 'a partition created later gets the triggers');
INSERT INTO payment_2026_04 VALUES (40002, 2, 12, '2026-04-03 03:00+00');
CREATE TABLE payment_2026_05 (LIKE payment);
INSERT INTO payment_2026_05 VALUES (40003, 2, 13, '2026-05-03 03:00+00'), (40004, 2, 15, '2026-05-10 03:00+00'),
                                   (40005, 1, 16, '2026-05-12 03:00+00');
ALTER TABLE payment ATTACH PARTITION payment_2026_05 FOR VALUES FROM ('2026-05-01 00:00+00') TO ('2026-06-01 00:00+00');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'payment_2026_05'::regclass AND tgname LIKE 'crm_core_bucket_%'),
          4::bigint, 'so does an attached one');
UPDATE payment_2026_05 SET amount = 14 WHERE id = 40003;
SELECT is((SELECT array_agg(lower_us ORDER BY lower_us) FROM crm_core.bucket_invalidation
           WHERE upper_us - lower_us = 10 * 86400000000::bigint),
          ARRAY[(extract(epoch FROM timestamptz '2026-05-03 00:00+00' - '2000-01-01 00:00+00') * 1000000)::bigint],
          'attaching logs the days its rows span (May 3 to 12), as one range');
SELECT lives_ok($$SELECT crm_core.refresh_now('daily')$$, 'refresh after writes into partitions');
SELECT is(pg_temp.differences(), 0::bigint,
          'after writes into partitions, new and attached ones: equal to a full recompute');

-- Detaching a partition does not invalidate (the summary keeps retired data); a rebuild does.
ALTER TABLE payment DETACH PARTITION payment_2026_05;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'payment_2026_05'::regclass AND tgname LIKE 'crm_core_bucket_%'),
          0::bigint, 'the detached table loses the triggers');
SELECT lives_ok($$SELECT crm_core.refresh_now('daily')$$, 'refresh after a detach');
SELECT isnt(pg_temp.differences(), 0::bigint, 'the summary still holds the detached partition''s buckets');
SELECT results_eq($$SELECT status FROM crm_core.rebuild_bucket_summary('daily')$$, $$VALUES ('refreshed')$$,
                  'rebuild_bucket_summary() recomputes everything');
SELECT is(pg_temp.differences(), 0::bigint, 'after the rebuild: equal to a full recompute');
SELECT throws_ok($$SELECT * FROM crm_core.rebuild_bucket_summary('payment')$$, '42704',
                 'mvi.payment is not a registered bucket summary', 'rebuild names what it cannot rebuild');

-- Several statements between refreshes; refresh_due picks the summary when due.
INSERT INTO payment VALUES (30001, 1, 5, '2026-01-02 01:00+00');
UPDATE payment SET amount = 0 WHERE id = 30001;
DELETE FROM payment WHERE id = 1000;
UPDATE crm_core.matview_state SET last_success_at = now() - interval '2 hours' WHERE view = 'daily'::regclass;
SELECT results_eq($$SELECT view::text, status FROM crm_core.refresh_due() WHERE view = 'daily'::regclass$$,
                  $$VALUES ('daily', 'refreshed')$$, 'refresh_due refreshes a due summary');
SELECT is(pg_temp.differences(), 0::bigint, 'after several statements: equal to a full recompute');
SELECT is((SELECT mode FROM crm_core.matview_history WHERE view = 'daily'::regclass ORDER BY id DESC LIMIT 1),
          'incremental', 'history records the incremental mode');

-- TRUNCATE invalidates everything.
TRUNCATE payment;
SELECT lives_ok($$SELECT crm_core.refresh_now('daily')$$, 'refresh after TRUNCATE');
SELECT is((SELECT count(*) FROM daily), 0::bigint, 'after TRUNCATE the summary is empty too');

-- A date column with weekly buckets starting on Mondays (2000-01-03 was a Monday).
CREATE TABLE visit (id bigint, visited_on date NOT NULL) PARTITION BY RANGE (visited_on);
CREATE TABLE visit_2026_a PARTITION OF visit FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE visit_2026_b PARTITION OF visit FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE TABLE visit_default PARTITION OF visit DEFAULT;
INSERT INTO visit SELECT g, date '2026-01-01' + g % 59 FROM generate_series(1, 500) AS g;
CREATE TABLE weekly_visits (week timestamp PRIMARY KEY, visits bigint NOT NULL);
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('weekly_visits', 'visit', 'visited_on', '36 hours',
                   'SELECT date_bin(''36 hours'', visited_on, ''2000-01-03'') AS week, count(*) FROM visit
                    WHERE visited_on >= $1 AND visited_on < $2 GROUP BY 1', '1 day', 'week', '2000-01-03 00:00+00')$$,
                 '22023', 'a date column needs whole-day buckets starting at midnight', 'date buckets are whole days');
SELECT lives_ok($$SELECT crm_core.register_bucket_summary('weekly_visits', 'visit', 'visited_on', '7 days',
                   'SELECT date_bin(''7 days'', visited_on, timestamp ''2000-01-03'') AS week, count(*) FROM visit
                    WHERE visited_on >= $1 AND visited_on < $2 GROUP BY 1', '1 day', 'week', '2000-01-03 00:00+00')$$,
                'a weekly summary over a date column registers');
UPDATE visit SET visited_on = visited_on + 10 WHERE id % 50 = 0;
DELETE FROM visit WHERE id % 77 = 0;
SELECT lives_ok($$SELECT crm_core.refresh_now('weekly_visits')$$, 'and refreshes');
SELECT results_eq($$SELECT week, visits FROM weekly_visits ORDER BY 1$$,
                  $$SELECT date_bin('7 days', visited_on, timestamp '2000-01-03') AS week, count(*)
                    FROM visit GROUP BY 1 ORDER BY 1$$,
                  'the date-based summary equals a full recompute');

-- The query runs as the summary's owner, like REFRESH runs a view's query as the view's owner.
CREATE ROLE mvi_owner;
CREATE TABLE owned_daily (bucket timestamptz PRIMARY KEY, payments bigint);
ALTER TABLE owned_daily OWNER TO mvi_owner;
GRANT USAGE ON SCHEMA mvi TO mvi_owner;
SELECT throws_ok($$SELECT crm_core.register_bucket_summary('owned_daily', 'payment', 'paid_at', '1 day',
                   'SELECT date_bin(''1 day'', paid_at, ''2000-01-01 00:00+00''), count(*) FROM payment
                    WHERE paid_at >= $1 AND paid_at < $2 GROUP BY 1', '1 hour')$$,
                 '42501', 'permission denied for table payment',
                 'an owner who cannot read the source cannot fill the summary, even when a superuser registers it');
GRANT SELECT ON payment TO mvi_owner;
SELECT lives_ok($$SELECT crm_core.register_bucket_summary('owned_daily', 'payment', 'paid_at', '1 day',
                   'SELECT date_bin(''1 day'', paid_at, ''2000-01-01 00:00+00''), count(*) FROM payment
                    WHERE paid_at >= $1 AND paid_at < $2 GROUP BY 1', '1 hour')$$,
                'once granted SELECT, it can');
SELECT crm_core.unregister_matview('owned_daily');

-- A second summary on the same source shares its triggers.
CREATE TABLE by_business (bucket timestamptz, business_id bigint, payments bigint, PRIMARY KEY (bucket, business_id));
SELECT lives_ok($$SELECT crm_core.register_bucket_summary('by_business', 'payment', 'paid_at', '6 hours',
                   'SELECT date_bin(''6 hours'', paid_at, ''2000-01-01 00:00+00'') AS bucket, business_id, count(*)
                    FROM payment WHERE paid_at >= $1 AND paid_at < $2 GROUP BY 1, 2', '1 hour')$$,
                'a second summary registers on the same source');
INSERT INTO payment VALUES (50001, 4, 1, '2026-01-07 07:00+00'), (50002, 4, 2, '2026-02-07 13:00+00');
SELECT results_eq($$SELECT summary::regclass::text, (upper_us - lower_us) / 3600000000 FROM crm_core.bucket_invalidation ORDER BY 1, lower_us$$,
                  $$VALUES ('by_business', 6::bigint), ('by_business', 6), ('daily', 24), ('daily', 24)$$,
                  'one statement logs each summary''s own buckets');
SELECT crm_core.unregister_matview('by_business');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'payment'::regclass AND tgname LIKE 'crm_core_bucket_%'),
          4::bigint, 'unregistering one summary keeps the triggers the other needs');

-- Unregistering the last summary removes the triggers and the log.
SELECT crm_core.unregister_matview('daily');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgfoid = 'crm_core._bucket_invalidate()'::regprocedure
           AND tgrelid IN (SELECT relid FROM pg_partition_tree('payment'))),
          0::bigint, 'unregistering drops the triggers of the source and its partitions');
SELECT is((SELECT count(*) FROM crm_core.bucket_summary WHERE summary = 'daily'::regclass), 0::bigint,
          'and the summary''s configuration');

DROP TABLE weekly_visits;
SELECT is((SELECT count(*) FROM crm_core.bucket_summary), 0::bigint, 'dropping a summary table unregisters it');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgfoid = 'crm_core._bucket_invalidate()'::regprocedure),
          0::bigint, 'and takes its source''s triggers along');

SELECT * FROM finish();
ROLLBACK;
