-- A killed apply_import resumes without posting anything twice: a session applies a batch of
-- payments in chunks of 5 rows (each chunk commits); another session holds a lock on the debt
-- of the 20th row, so the apply waits inside its fourth chunk; that backend is terminated (a
-- crash). Three chunks stay committed, the fourth is gone whole; CALL apply_import again
-- continues with it and every row is applied exactly once.
BEGIN;
SELECT plan(10);
\set scratch_prefix crm_collections_import_sessions_
\ir ../../../crm_core/tests/pgtap/lib/scratch.sql

SELECT dblink_connect('c' || i, pg_temp.connstr(pg_temp.scratch())) FROM generate_series(1, 3) AS i;
SELECT dblink_exec('c1', $setup$
    SET client_min_messages = warning;
    CREATE EXTENSION IF NOT EXISTS crm_collections CASCADE;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'acme');
    DO $do$ BEGIN PERFORM collections.setup_business(1); END $do$;
    -- Day 1: thirty loans.
    DO $do$ BEGIN PERFORM collections.begin_import(1, 'voice_csv', 'day1.csv', repeat('1', 64)); END $do$;
    INSERT INTO collections.import_row (business_id, batch_id, line_no, raw)
    SELECT 1, 1, n + 1, jsonb_build_object('customer_name', 'Customer ' || n, 'phone', '06 12 34 ' || lpad(n::text, 4, '0'),
                                           'national_id', 'ID' || n, 'loan_id', 'L-' || n, 'amount', '100.00',
                                           'due_date', '2026-01-31')
      FROM generate_series(1, 30) AS n;
$setup$);
SELECT dblink_exec('c1', 'CALL collections.validate_import(1)');
SELECT dblink_exec('c1', 'CALL collections.apply_import(1, 7)');
-- Day 2: every loan owes 10 less (thirty payments).
SELECT dblink_exec('c1', $day2$
    DO $do$ BEGIN PERFORM collections.begin_import(1, 'voice_csv', 'day2.csv', repeat('2', 64)); END $do$;
    INSERT INTO collections.import_row (business_id, batch_id, line_no, raw)
    SELECT 1, 2, n + 1, jsonb_build_object('customer_name', 'Customer ' || n, 'phone', '06 12 34 ' || lpad(n::text, 4, '0'),
                                           'national_id', 'ID' || n, 'loan_id', 'L-' || n, 'amount', '90.00',
                                           'due_date', '2026-01-31')
      FROM generate_series(1, 30) AS n;
$day2$);
SELECT dblink_exec('c1', 'CALL collections.validate_import(2)');
SELECT is(pg_temp.q('c1', 'SELECT applied || '' '' || status FROM collections.import_batch WHERE id = 1'), '30 applied',
          'day 1 applied');

-- c2 holds the 20th loan; c1 applies day 2 and waits inside its fourth chunk (rows 16 to 20).
SELECT dblink_exec('c2', 'BEGIN');
SELECT pg_temp.q('c2', $$SELECT id FROM collections.debt_account WHERE external_ref = 'L-20' FOR UPDATE$$) IS NOT NULL AS locked;
SELECT pg_temp.q('c1', 'SELECT pg_backend_pid()')::int AS applier \gset
SELECT set_config('crm_test.applier', :'applier', false) IS NOT NULL AS set;
SELECT dblink_send_query('c1', 'CALL collections.apply_import(2, 5)');
DO $$
BEGIN
    FOR i IN 1 .. 6000 LOOP
        EXIT WHEN EXISTS (SELECT FROM pg_stat_activity WHERE pid = current_setting('crm_test.applier')::int AND wait_event_type = 'Lock');
        PERFORM pg_sleep(0.005);
    END LOOP;
END $$;
SELECT ok(EXISTS (SELECT FROM pg_stat_activity WHERE pid = :applier AND wait_event_type = 'Lock'),
          'the apply waits for the lock on loan L-20');
SELECT ok(pg_terminate_backend(:applier), 'the applying backend is terminated');
DO $$
BEGIN
    FOR i IN 1 .. 6000 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = current_setting('crm_test.applier')::int);
        PERFORM pg_sleep(0.005);
    END LOOP;
END $$;
SELECT dblink_disconnect('c1');
SELECT dblink_exec('c2', 'ROLLBACK');

SELECT is(pg_temp.q('c3', $$SELECT format('%s %s %s %s', status, applied, valid, applied_through) FROM collections.import_batch WHERE id = 2$$),
          'applying 15 15 16', 'three chunks stayed committed; the fourth is gone whole');
SELECT is(pg_temp.q('c3', 'SELECT count(*) FROM collections.payment'), '15', 'fifteen payments, one per applied row');

SELECT dblink_exec('c3', 'CALL collections.apply_import(2, 5)');
SELECT is(pg_temp.q('c3', $$SELECT format('%s %s %s', status, applied, valid) FROM collections.import_batch WHERE id = 2$$),
          'applied 30 0', 'running apply_import again finishes the batch');
SELECT is(pg_temp.q('c3', $$SELECT format('%s %s %s', count(*), count(DISTINCT reference), sum(amount)) FROM collections.payment$$),
          '30 30 300.00', 'thirty payments of 10, one per row: nothing posted twice');
SELECT is(pg_temp.q('c3', $$SELECT string_agg(DISTINCT outstanding::text, ',') FROM collections.debt_position$$), '90.00',
          'every loan owes what the file says');
SELECT dblink_exec('c3', 'CALL collections.apply_import(2, 5)');
SELECT is(pg_temp.q('c3', 'SELECT count(*) FROM collections.payment'), '30', 'a third run changes nothing');
SELECT is(pg_temp.q('c3', 'SELECT (SELECT count(*) FROM collections.check_positions()) + (SELECT count(*) FROM crm_core.check_balances())'),
          '0', 'check_positions and crm_core.check_balances are empty');

SELECT dblink_disconnect('c' || i) FROM generate_series(2, 3) AS i;
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
ROLLBACK;
