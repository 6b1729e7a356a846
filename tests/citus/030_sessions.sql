-- Several sessions at once on the distributed ledger: closing an account waits for the
-- postings in flight of its shard (its business and the others hashed there), and only those; a closed account is seen
-- closed by every worker session that cached it open; concurrent writers of one hot account
-- on both workers keep every balance exact. Sessions are dblink connections to the
-- coordinator; "waiting" is read from the workers' lock tables, never guessed with sleeps.
\ir lib/setup.sql
SELECT plan(9);

SELECT pg_temp.business_on(pg_temp.worker(1), 200) AS a, pg_temp.business_on(pg_temp.worker(2), 200) AS b \gset
SELECT pg_temp.business_beside(pg_temp.worker(1), 200, :a) AS c \gset
INSERT INTO crm_core.business (id, name) VALUES (:a, 'Tenant A'), (:b, 'Tenant B'), (:c, 'Tenant C');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (3000, :a, '1000', 'Cash', 'asset', 'EUR'), (3001, :a, '4000', 'Income', 'income', 'EUR'),
    (3002, :a, '1900', 'Closing soon', 'asset', 'EUR'), (3003, :a, '1901', 'Cached then closed', 'asset', 'EUR'),
    (3100, :b, '1000', 'Cash', 'asset', 'EUR'), (3101, :b, '4000', 'Income', 'income', 'EUR'),
    (3200, :c, '1000', 'Cash', 'asset', 'EUR'), (3201, :c, '1900', 'Closing soon', 'asset', 'EUR');

-- Whether some worker backend waits for a lock on a shard of the journal tables.
SET citus.enable_ddl_propagation = off;  -- temporary helpers, for this session only
CREATE FUNCTION pg_temp.journal_lock_awaited() RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_or(result::boolean) FROM run_command_on_workers($q$
        SELECT EXISTS (SELECT FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation
                        WHERE NOT l.granted AND c.relname ~ '^journal_(entry|line)_[0-9]+$')$q$)
$$;
-- Polls until some session waits for a journal shard lock (true) or 20 s went by (false).
CREATE FUNCTION pg_temp.until_journal_lock_awaited() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 2000 LOOP
        IF pg_temp.journal_lock_awaited() THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN false;
END;
$$;
RESET citus.enable_ddl_propagation;

SELECT dblink_connect('poster', pg_temp.connstr());
SELECT dblink_connect('closer', pg_temp.connstr());
SELECT dblink_exec('poster', format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (6001, %1$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 6001, 3002, 10, NULL), (%1$s, 6001, 3001, NULL, 10)$$, :a));
SELECT dblink_send_query('closer', format(
    'UPDATE crm_core.account SET closed_at = now() WHERE business_id = %s AND id = 3002', :a));
SELECT ok(pg_temp.until_journal_lock_awaited(),
          'closing an account waits on its worker for the business''s posting in flight');
SELECT is(dblink_is_busy('closer'), 1, '... the closing has not finished');
SELECT dblink_exec('poster', 'COMMIT');
SELECT is((SELECT status FROM dblink_get_result('closer') AS r(status text)), 'UPDATE 1',
          'once the posting commits, the account closes');
SELECT is(dblink_get_result('closer', false) IS NULL, true, 'the closing session is free again');
SELECT is(pg_temp.value('SELECT crm_core.account_balance(3002)'), '10',
          'the posting validated against the open account committed before the closing');

-- Postings in flight on other shards do not hold up a closing, on the same worker or on the
-- other one. (lock_timeout reaches the workers only as a propagated SET LOCAL.)
SELECT dblink_exec('poster', format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (6002, %1$s), (6003, %2$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 6002, 3000, 10, NULL), (%1$s, 6002, 3001, NULL, 10),
        (%2$s, 6003, 3100, 10, NULL), (%2$s, 6003, 3101, NULL, 10)$$, :a, :b));
-- (One statement per call: Citus would pass a whole multi-statement string on as the SET.)
SELECT dblink_exec('closer', 'BEGIN');
SELECT dblink_exec('closer', 'SET LOCAL citus.propagate_set_commands = ''local''');
SELECT dblink_exec('closer', 'SET LOCAL lock_timeout = ''5s''');
SELECT is(pg_temp.outcome_on('closer', format(
              'UPDATE crm_core.account SET closed_at = now() WHERE business_id = %s AND id = 3201', :c)),
          'ok', 'closing an account of a tenant on another shard does not wait for the others'' postings');
SELECT dblink_exec('closer', 'COMMIT');
SELECT dblink_exec('poster', 'COMMIT');

-- A worker session that cached an account open learns that it was closed.
SELECT dblink_exec('poster', format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (6004, %1$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 6004, 3003, 5, NULL), (%1$s, 6004, 3001, NULL, 5);
    COMMIT;$$, :a));
SELECT dblink_exec('closer', format(
    'UPDATE crm_core.account SET closed_at = now() WHERE business_id = %s AND id = 3003', :a));
SELECT is(pg_temp.outcome_on('poster', format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (6005, %1$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 6005, 3003, 5, NULL), (%1$s, 6005, 3001, NULL, 5);
    COMMIT;$$, :a)),
    '55000: account 1901 (id 3003) is closed',
    'the session that posted to the account before it closed is refused after');
SELECT dblink_disconnect('poster');
SELECT dblink_disconnect('closer');

-- Four sessions post at once, every entry through one hot cash account per tenant, on both
-- workers; some transactions roll back. The kept balances must equal the lines.
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (3010, :a, '1010', 'Hot cash', 'asset', 'EUR'), (3011, :a, '4010', 'Hot income', 'income', 'EUR'),
    (3110, :b, '1010', 'Hot cash', 'asset', 'EUR'), (3111, :b, '4010', 'Hot income', 'income', 'EUR');
SELECT setseed(0.16);
CREATE TEMP TABLE postings AS
SELECT w, n, 7000 + w * 1000 + n AS entry, (1 + floor(random() * 500))::int AS amount,
       random() < 0.2 AS rolled_back, CASE WHEN random() < 0.5 THEN :a ELSE :b END AS business
  FROM generate_series(1, 4) AS w, generate_series(1, 40) AS n;
SELECT dblink_connect('w' || i, pg_temp.connstr()) FROM generate_series(1, 4) AS i;
SELECT dblink_send_query('w' || w, string_agg(format(
           'BEGIN; INSERT INTO crm_core.journal_entry (id, business_id) VALUES (%1$s, %2$s);'
           ' INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)'
           ' VALUES (%2$s, %1$s, %3$s, NULL, %5$s), (%2$s, %1$s, %4$s, %5$s, NULL); %6$s',
           entry, business, CASE WHEN business = :a THEN 3011 ELSE 3111 END,
           CASE WHEN business = :a THEN 3010 ELSE 3110 END, amount,
           CASE WHEN rolled_back THEN 'ROLLBACK;' ELSE 'COMMIT;' END), ' ' ORDER BY n))
  FROM postings GROUP BY w;
SELECT is((SELECT count(*) FROM generate_series(1, 4) AS w WHERE pg_temp.finish('w' || w) IS NULL),
          4::bigint, 'four sessions ran their transactions to the end, without error');
SELECT is_empty('SELECT * FROM crm_core.check_balances()',
                'every kept balance equals its lines after concurrent postings on both workers');
SELECT results_eq(
    'SELECT crm_core.account_balance(3010), crm_core.account_balance(3011), '
    '       crm_core.account_balance(3110), crm_core.account_balance(3111)',
    format('SELECT %1$s::numeric, %1$s::numeric, %2$s::numeric, %2$s::numeric',
           (SELECT sum(amount) FROM postings WHERE business = :a AND NOT rolled_back),
           (SELECT sum(amount) FROM postings WHERE business = :b AND NOT rolled_back)),
    'the hot accounts hold exactly the committed postings');
SELECT dblink_disconnect('w' || i) FROM generate_series(1, 4) AS i;

SELECT * FROM finish();
