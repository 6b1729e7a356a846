-- Materialized views that stay fresh: registration checks, refresh order from the catalogs,
-- failure isolation, history and status, cycles. One transaction, rolled back.
BEGIN;
SELECT plan(54);

CREATE SCHEMA mvt;
SET search_path = mvt, public;

CREATE TABLE payment (id bigint PRIMARY KEY, business_id bigint NOT NULL, amount numeric NOT NULL,
                      paid_at timestamptz NOT NULL);
INSERT INTO payment
SELECT g, g % 3, g, timestamptz '2026-01-01 00:00+00' + g * interval '1 hour'
FROM generate_series(1, 500) AS g;

-- SQLSTATE|detail of the error sql raises, for checks on what the message says is missing.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE state text; detail text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RETURN state || '|' || detail;
END $f$;

-- ---------------------------------------------------------------------------------------------
-- Registration checks.
CREATE VIEW plain_view AS SELECT * FROM payment;
CREATE MATERIALIZED VIEW daily AS
    SELECT date_trunc('day', paid_at) AS day, business_id, sum(amount) AS total, count(*) AS n
    FROM payment GROUP BY 1, 2;
CREATE MATERIALIZED VIEW unpopulated AS SELECT id FROM payment WITH NO DATA;
CREATE UNIQUE INDEX ON unpopulated (id);
CREATE MATERIALIZED VIEW no_unique AS SELECT id, amount FROM payment;
CREATE INDEX ON no_unique (id);
CREATE MATERIALIZED VIEW odd_unique AS SELECT id, amount FROM payment;
CREATE UNIQUE INDEX odd_unique_partial ON odd_unique (id) WHERE amount > 0;
CREATE UNIQUE INDEX odd_unique_expression ON odd_unique ((id + 0));

SELECT throws_ok($$SELECT crm_core.register_matview('payment', '1 hour')$$, '42809',
                 'mvt.payment is not a materialized view', 'a table is refused');
SELECT throws_ok($$SELECT crm_core.register_matview('plain_view', '1 hour')$$, '42809',
                 'mvt.plain_view is not a materialized view', 'a plain view is refused');
SELECT throws_ok($$SELECT crm_core.register_matview('daily', '0')$$, '22023',
                 'refresh_every must be a positive interval, not 00:00:00', 'a zero interval is refused');
SELECT throws_ok($$SELECT crm_core.register_matview('daily', '-5 minutes')$$, '22023', 'refresh_every must be a positive interval, not -00:05:00',
                 'a negative interval is refused');
SELECT throws_ok($$SELECT crm_core.register_matview('daily', NULL)$$, '22023',
                 'refresh_every must be a positive interval, not NULL', 'a NULL interval is refused');
SELECT throws_ok($$SELECT crm_core.register_matview('daily', '1 hour')$$, '55000',
                 'mvt.daily has no unique index on plain columns without WHERE, which REFRESH MATERIALIZED VIEW CONCURRENTLY needs',
                 'CONCURRENTLY without a unique index is refused, saying what is missing');
SELECT is(pg_temp.error_of($$SELECT crm_core.register_matview('no_unique', '1 hour')$$),
          '55000|It has no unique index at all.', 'a plain index does not count');
SELECT is(pg_temp.error_of($$SELECT crm_core.register_matview('odd_unique', '1 hour')$$),
          '55000|Unique indexes that do not qualify: mvt.odd_unique_partial is partial (has WHERE); mvt.odd_unique_expression is on expressions.',
          'partial and expression unique indexes are named with the reason they do not qualify');
SELECT throws_ok($$SELECT crm_core.register_matview('unpopulated', '1 hour')$$, '55000',
                 'mvt.unpopulated is not populated, and REFRESH MATERIALIZED VIEW CONCURRENTLY needs a populated view',
                 'an unpopulated view cannot be refreshed concurrently');
SELECT lives_ok($$SELECT crm_core.register_matview('unpopulated', '1 hour', concurrently => false)$$,
                'non-concurrent mode is allowed when asked for explicitly');
SELECT lives_ok($$SELECT crm_core.register_matview('no_unique', '1 hour', false)$$,
                'so is a view without a unique index');
CREATE UNIQUE INDEX ON daily (day, business_id);
SELECT lives_ok($$SELECT crm_core.register_matview('daily', '1 hour')$$,
                'a populated view with a unique index registers for concurrent refresh');
SELECT throws_ok($$SELECT crm_core.register_matview('daily', '2 hours')$$, '42710',
                 'mvt.daily is already registered', 'registering twice is refused');
SELECT results_eq($$SELECT view::text, mode, refresh_every FROM crm_core.matview ORDER BY 1$$,
                  $$VALUES ('daily', 'concurrently', interval '1 hour'),
                           ('no_unique', 'blocking', interval '1 hour'),
                           ('unpopulated', 'blocking', interval '1 hour')$$,
                  'the registry holds each view once with its mode');
SELECT throws_ok($$SELECT crm_core.unregister_matview('plain_view')$$, '42704',
                 'mvt.plain_view is not registered', 'unregistering an unknown view is refused');
SELECT throws_ok($$SELECT * FROM crm_core.refresh_now('plain_view')$$, '42704',
                 'mvt.plain_view is not registered', 'refresh_now of an unknown view is refused');
SELECT lives_ok($$SELECT crm_core.unregister_matview('no_unique')$$, 'unregister works');
SELECT is((SELECT count(*) FROM crm_core.matview WHERE view = 'no_unique'::regclass), 0::bigint,
          'and the view is gone from the registry');
SELECT ok((SELECT array['crm_core.matview'::regclass::oid, 'crm_core.bucket_summary'::regclass::oid] <@ extconfig
           FROM pg_extension WHERE extname = 'crm_core'),
          'the configuration tables are dumped by pg_dump');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a
                      WHERE p.oid IN ('crm_core.refresh_due()'::regprocedure,
                                      'crm_core.register_matview(regclass,interval,boolean,interval,interval)'::regprocedure)
                        AND a.grantee = 0),
          'PUBLIC cannot run the admin functions');

-- ---------------------------------------------------------------------------------------------
-- Dependency order from the catalogs: "a_weekly" reads "daily" through a plain view, so it
-- refreshes after it although its name sorts first; "z_failing" fails; "after_failing" reads it.
SELECT crm_core.unregister_matview('unpopulated');
CREATE VIEW daily_plain AS SELECT * FROM daily;
CREATE MATERIALIZED VIEW a_weekly AS
    SELECT date_trunc('week', day) AS week, sum(total) AS total FROM daily_plain GROUP BY 1;
CREATE UNIQUE INDEX ON a_weekly (week);
CREATE TABLE switch (fail boolean NOT NULL);
INSERT INTO switch VALUES (false);
CREATE MATERIALIZED VIEW z_failing AS
    SELECT id, amount / (SELECT CASE WHEN fail THEN 0 ELSE 1 END FROM switch) AS amount FROM payment;
CREATE UNIQUE INDEX ON z_failing (id);
CREATE MATERIALIZED VIEW after_failing AS SELECT count(*) AS n FROM z_failing;
SELECT crm_core.register_matview('a_weekly', '1 hour');
SELECT crm_core.register_matview('z_failing', '1 hour');
SELECT crm_core.register_matview('after_failing', '1 hour', concurrently => false);

SELECT results_eq($$SELECT dependent::text, dependency::text FROM crm_core._matview_dependencies() ORDER BY 1$$,
                  $$VALUES ('a_weekly', 'daily'), ('after_failing', 'z_failing')$$,
                  'dependencies are found in pg_depend/pg_rewrite, through plain views');

INSERT INTO payment VALUES (1001, 1, 1000, '2026-03-01 10:00+00');
CREATE TEMP TABLE first_run AS
    SELECT r.*, o AS position FROM crm_core.refresh_due() WITH ORDINALITY AS r(view, status, duration_ms, rows, message, o);
SELECT results_eq($$SELECT view::text, status FROM first_run ORDER BY position$$,
                  $$VALUES ('daily', 'refreshed'), ('a_weekly', 'refreshed'),
                           ('z_failing', 'refreshed'), ('after_failing', 'refreshed')$$,
                  'never-refreshed views are due at once and refresh dependencies first');
SELECT is((SELECT rows FROM first_run WHERE view = 'daily'::regclass),
          (SELECT count(*) FROM daily), 'rows reports the view''s row count');
SELECT is((SELECT total FROM a_weekly WHERE week = date_trunc('week', timestamptz '2026-03-01 10:00+00')),
          1000::numeric, 'the dependent saw its dependency''s fresh rows');
SELECT is_empty($$SELECT * FROM crm_core.refresh_due()$$, 'nothing is due right after a refresh');

-- Make everything due again, and break z_failing.
UPDATE crm_core.matview_state SET last_success_at = last_success_at - interval '2 hours';
UPDATE switch SET fail = true;
INSERT INTO payment VALUES (1002, 2, 7, '2026-03-02 10:00+00');
CREATE TEMP TABLE second_run AS
    SELECT r.*, o AS position FROM crm_core.refresh_due() WITH ORDINALITY AS r(view, status, duration_ms, rows, message, o);
SELECT results_eq($$SELECT view::text, status, message FROM second_run ORDER BY position$$,
                  $$VALUES ('daily', 'refreshed', NULL),
                           ('a_weekly', 'refreshed', NULL),
                           ('z_failing', 'failed', 'division by zero'),
                           ('after_failing', 'skipped', 'waits for mvt.z_failing, which was not refreshed in this call')$$,
                  'a failing view does not stop the others; its dependents wait');
SELECT is((SELECT total FROM daily WHERE day = '2026-03-02 00:00+00' AND business_id = 2), 7::numeric,
          'the views after the failure were refreshed');
SELECT ok((SELECT duration_ms >= 0 FROM second_run WHERE view = 'z_failing'::regclass), 'a failure has a duration');

-- History: every attempt, with SQLSTATE and message on failure.
SELECT results_eq($$SELECT view::text, status, mode, sqlstate, message, rows IS NOT NULL
                    FROM crm_core.matview_history ORDER BY id$$,
                  $$VALUES ('daily', 'refreshed', 'concurrently', NULL, NULL, true),
                           ('a_weekly', 'refreshed', 'concurrently', NULL, NULL, true),
                           ('z_failing', 'refreshed', 'concurrently', NULL, NULL, true),
                           ('after_failing', 'refreshed', 'blocking', NULL, NULL, true),
                           ('daily', 'refreshed', 'concurrently', NULL, NULL, true),
                           ('a_weekly', 'refreshed', 'concurrently', NULL, NULL, true),
                           ('z_failing', 'failed', 'concurrently', '22012', 'division by zero', false)$$,
                  'history records each refresh and failure (skips are not refreshes)');
SELECT ok((SELECT bool_and(finished_at >= started_at AND duration_ms >= 0) FROM crm_core.matview_history),
          'history has start, end and duration');

-- Status.
SELECT results_eq($$SELECT view::text, last_status, last_sqlstate, last_error, consecutive_failures
                    FROM crm_core.matview_status ORDER BY 1$$,
                  $$VALUES ('a_weekly', 'refreshed', NULL, NULL, 0),
                           ('after_failing', 'refreshed', NULL, NULL, 0),
                           ('daily', 'refreshed', NULL, NULL, 0),
                           ('z_failing', 'failed', '22012', 'division by zero', 1)$$,
                  'matview_status shows the last outcome and the last error');
SELECT ok((SELECT next_due_at = last_success_at + refresh_every AND staleness = now() - last_success_at
           FROM crm_core.matview_status WHERE view = 'daily'::regclass),
          'next due is one interval after the last success; staleness counts from it');
SELECT ok((SELECT next_due_at < now() AND last_success_at < now() - interval '1 hour'
           FROM crm_core.matview_status WHERE view = 'z_failing'::regclass),
          'a failed view keeps its old success and stays due, so the next call retries it');

-- The next call retries the failed view (still failing) and its dependent waits again.
SELECT results_eq($$SELECT view::text, status FROM crm_core.refresh_due()$$,
                  $$VALUES ('z_failing', 'failed'), ('after_failing', 'skipped')$$,
                  'only the overdue views are retried');
SELECT is((SELECT consecutive_failures FROM crm_core.matview_status WHERE view = 'z_failing'::regclass),
          2, 'consecutive failures are counted');
UPDATE switch SET fail = false;
SELECT results_eq($$SELECT view::text, status FROM crm_core.refresh_due()$$,
                  $$VALUES ('z_failing', 'refreshed'), ('after_failing', 'refreshed')$$,
                  'once fixed, the view and its dependent catch up');
SELECT results_eq($$SELECT last_status, consecutive_failures, last_error FROM crm_core.matview_status WHERE view = 'z_failing'::regclass$$,
                  $$VALUES ('refreshed', 0, 'division by zero')$$,
                  'success resets the failure count and keeps the last error for the record');

-- refresh_now, with and without cascade.
SELECT results_eq($$SELECT view::text, status FROM crm_core.refresh_now('daily')$$,
                  $$VALUES ('daily', 'refreshed')$$, 'refresh_now refreshes only the view by default');
SELECT results_eq($$SELECT view::text, status FROM crm_core.refresh_now('daily', cascade => true)$$,
                  $$VALUES ('daily', 'refreshed'), ('a_weekly', 'refreshed')$$,
                  'with cascade, the registered views reading it follow in order');
SELECT results_eq($$SELECT view::text FROM crm_core.refresh_now('z_failing', true)$$,
                  $$VALUES ('z_failing'), ('after_failing')$$, 'cascade follows direct readers too');

-- History is trimmed to keep_history.
INSERT INTO crm_core.matview_history (view, started_at, finished_at, duration_ms, status, mode)
VALUES ('daily', now() - interval '40 days', now() - interval '40 days', 1, 'refreshed', 'concurrently');
SELECT is((SELECT count(*) FROM crm_core.matview_history WHERE started_at < now() - interval '30 days'),
          1::bigint, 'an old history row exists');
SELECT crm_core.refresh_now('daily');
SELECT is((SELECT count(*) FROM crm_core.matview_history WHERE started_at < now() - interval '30 days'),
          0::bigint, 'the next refresh trims history older than keep_history');

-- ---------------------------------------------------------------------------------------------
-- Cycles. Matviews cannot name each other in a loop directly (each must exist first), but a
-- plain view in between can be replaced afterwards: p reads loop_view, q reads p, then
-- loop_view is redefined to read q.
CREATE VIEW loop_view AS SELECT id FROM payment;
CREATE MATERIALIZED VIEW p AS SELECT id FROM loop_view;
CREATE UNIQUE INDEX ON p (id);
CREATE MATERIALIZED VIEW q AS SELECT id FROM p;
CREATE UNIQUE INDEX ON q (id);
SELECT crm_core.register_matview('p', '1 hour');
SELECT crm_core.register_matview('q', '1 hour');
CREATE OR REPLACE VIEW loop_view AS SELECT id FROM q;
UPDATE crm_core.matview_state SET last_success_at = last_success_at - interval '2 hours';
SELECT results_eq($$SELECT view::text, status, message FROM crm_core.refresh_due() ORDER BY status, view::text$$,
                  $$VALUES ('p', 'failed', 'dependency cycle: mvt.p -> mvt.q -> mvt.p'),
                           ('q', 'failed', 'dependency cycle: mvt.p -> mvt.q -> mvt.p'),
                           ('a_weekly', 'refreshed', NULL), ('after_failing', 'refreshed', NULL),
                           ('daily', 'refreshed', NULL), ('z_failing', 'refreshed', NULL)$$,
                  'views on a cycle are refused in ordering; the others refresh');
SELECT results_eq($$SELECT last_sqlstate, last_error FROM crm_core.matview_status WHERE view = 'p'::regclass$$,
                  $$VALUES ('42P17', 'dependency cycle: mvt.p -> mvt.q -> mvt.p')$$,
                  'the cycle shows in matview_status');
SELECT throws_ok($$SELECT * FROM crm_core.refresh_now('p', cascade => true)$$, '42P17',
                 'cannot cascade from mvt.p: dependency cycle mvt.p -> mvt.q -> mvt.p',
                 'a cascade through a cycle is refused');
SELECT crm_core.unregister_matview('q');
SELECT throws_ok($$SELECT crm_core.register_matview('q', '1 hour')$$, '42P17',
                 'registering mvt.q would close a dependency cycle: mvt.q -> mvt.p -> mvt.q',
                 'registering a view that closes a cycle is refused');
SELECT is((SELECT count(*) FROM crm_core.matview WHERE view = 'q'::regclass), 0::bigint,
          'and nothing of it is kept');
CREATE MATERIALIZED VIEW bystander AS SELECT 1 AS one;
CREATE UNIQUE INDEX ON bystander (one);
SELECT lives_ok($$SELECT crm_core.register_matview('bystander', '1 hour')$$,
                'a view on no cycle still registers while a cycle exists elsewhere');

-- Dropping a registered view unregisters it (with its state and history).
DROP MATERIALIZED VIEW after_failing;
SELECT is((SELECT count(*) FROM crm_core.matview m WHERE m.view::oid NOT IN (SELECT oid FROM pg_class)),
          0::bigint, 'a dropped view leaves no dangling registration');
SELECT is((SELECT count(*) FROM crm_core.matview_history h
           WHERE h.view::oid NOT IN (SELECT oid FROM pg_class)), 0::bigint, 'nor history');

-- The event triggers fire for everyone's DDL: roles without access to crm_core are not hindered.
CREATE ROLE mvt_app;
GRANT USAGE, CREATE ON SCHEMA mvt TO mvt_app;
SET LOCAL ROLE mvt_app;
SELECT lives_ok($$CREATE TABLE mvt.app_table (id int); ALTER TABLE mvt.app_table ADD COLUMN note text;
                  DROP TABLE mvt.app_table$$,
                'a role without access to crm_core creates, alters and drops its own tables');
RESET ROLE;

-- lock_timeout is applied per refresh and the caller's setting comes back.
SET lock_timeout = '17s';
SELECT crm_core.refresh_now('daily');
SELECT is(current_setting('lock_timeout'), '17s', 'the caller''s lock_timeout is restored');
SELECT throws_ok($$SELECT crm_core.register_matview('p', '1 hour')$$, '42710', 'mvt.p is already registered',
                 'p is still registered');
SELECT throws_ok($$SELECT crm_core.register_matview('unpopulated', '1 hour', false, lock_timeout => '0')$$,
                 '22023', 'lock_timeout must be a positive interval, not 00:00:00', 'a zero lock_timeout is refused');

SELECT * FROM finish();
ROLLBACK;
