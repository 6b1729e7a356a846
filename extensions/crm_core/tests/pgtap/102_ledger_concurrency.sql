-- Several real sessions (dblink, async) post random entries at the same time, lines in random
-- order, all hitting one hot cash account, with random rollbacks, rolled-back savepoints and
-- overdraft attempts on a ruled account; then the ledger must still be exact.
BEGIN;
SELECT plan(10);
-- The random transactions are the same on every run (their interleaving is not).
SELECT setseed(0.42) AS seeded \gset
\set scratch_prefix crm_core_ledger_concurrency_
\ir lib/scratch.sql

CREATE FUNCTION pg_temp.q(sql text) RETURNS text LANGUAGE sql AS $$
    SELECT v FROM dblink('c1', sql) AS t(v text)
$$;

-- One random transaction: 1-3 entries of 2-4 lines over accounts 1 (hot cash) .. 12 and the
-- wallet 20 (debits must not exceed credits), lines shuffled and spread over statements.
-- Ends in COMMIT or (one time in five) ROLLBACK, sometimes after SET CONSTRAINTS ALL
-- IMMEDIATE; sometimes a savepoint with an unbalancing line is rolled back. Returns the SQL and the number of entries it posts if it commits.
CREATE FUNCTION pg_temp.random_transaction(first_entry bigint, OUT sql text, OUT entries int,
                                           OUT commits boolean)
    LANGUAGE plpgsql AS $$
DECLARE
    entry bigint;
    amount int;
    total int;
    lines text[];
    line_count int;
BEGIN
    sql := 'ROLLBACK; BEGIN;';
    entries := 1 + floor(random() * 3)::int;
    commits := random() >= 0.2;
    FOR e IN 0 .. entries - 1 LOOP
        entry := first_entry + e;
        sql := sql || format(' INSERT INTO crm_core.journal_entry (id, business_id) VALUES (%s, 1);', entry);
        lines := ARRAY[]::text[];
        total := 0;
        line_count := 1 + floor(random() * 3)::int;
        FOR l IN 1 .. line_count LOOP
            amount := 1 + floor(random() * 1000)::int;
            total := total + amount;
            lines := lines || format('(1, %s, %s, %s, NULL)', entry,
                                     CASE WHEN random() < 0.1 THEN 20 ELSE 2 + floor(random() * 11)::int END,
                                     amount);
        END LOOP;
        lines := lines || format('(1, %s, 1, NULL, %s)', entry, total);
        IF random() < 0.2 THEN  -- the wallet funds part of it instead of cash
            lines := lines || format('(1, %s, 20, NULL, 5)', entry) || format('(1, %s, 1, 5, NULL)', entry);
        END IF;
        SELECT array_agg(x ORDER BY random()) INTO lines FROM unnest(lines) AS x;
        FOR l IN 1 .. array_length(lines, 1) LOOP
            sql := sql || ' INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES '
                       || lines[l] || ';';
            IF random() < 0.1 THEN
                sql := sql || format(' SAVEPOINT s; INSERT INTO crm_core.journal_line'
                                     ' (business_id, entry_id, account_id, debit) VALUES (1, %s, 1, 7);'
                                     ' ROLLBACK TO SAVEPOINT s;', entry);
            END IF;
        END LOOP;
    END LOOP;
    IF random() < 0.2 THEN
        sql := sql || ' SET CONSTRAINTS ALL IMMEDIATE;';
    END IF;
    sql := sql || CASE WHEN commits THEN ' COMMIT;' ELSE ' ROLLBACK;' END;
END $$;

SELECT dblink_connect('c' || i, pg_temp.connstr(pg_temp.scratch())) FROM generate_series(1, 4) AS i;
SELECT dblink_exec('c1', $$
    CREATE EXTENSION crm_core;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'acme');
    INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
    SELECT 1, 1, '1000', 'Cash', 'asset', 'EUR'
    UNION ALL SELECT i, 1, 'R' || i, 'Revenue ' || i, 'income', 'EUR' FROM generate_series(2, 12) AS i;
    INSERT INTO crm_core.account (id, business_id, code, name, kind, currency, overdraft)
    VALUES (20, 1, '1010', 'Wallet', 'asset', 'EUR', 'credits_must_not_exceed_debits');
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (1, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 1, 20, 50, NULL), (1, 1, 2, NULL, 50);
    COMMIT$$);

CREATE TEMP TABLE outcome (conn text, entries int, commits boolean, error text);
DO $$
DECLARE
    tx record;
    next_entry bigint := 100;
    pending_entries int[] := ARRAY[0, 0, 0, 0];
    pending_commits boolean[] := ARRAY[false, false, false, false];
    error text;
BEGIN
    FOR round IN 1 .. 40 LOOP
        FOR c IN 1 .. 4 LOOP
            tx := pg_temp.random_transaction(next_entry);
            next_entry := next_entry + 10;
            pending_entries[c] := tx.entries;
            pending_commits[c] := tx.commits;
            PERFORM dblink_send_query('c' || c, tx.sql);
        END LOOP;
        FOR c IN 1 .. 4 LOOP
            error := pg_temp.finish_batch('c' || c);
            INSERT INTO outcome VALUES ('c' || c, pending_entries[c], pending_commits[c], error);
        END LOOP;
    END LOOP;
END $$;

SELECT is((SELECT count(*) FROM outcome WHERE error IS NOT NULL
           AND error NOT LIKE '%credits % exceeding debits %'), 0::bigint,
          'no transaction failed except for the wallet''s overdraft rule (no deadlock, no lost update)');
SELECT ok((SELECT count(*) FROM outcome WHERE commits AND error IS NULL) > 50,
          'most transactions committed');
SELECT ok((SELECT count(*) FROM outcome WHERE NOT commits) > 0, 'some rolled back');
SELECT is(pg_temp.q('SELECT count(*) FROM crm_core.journal_entry')::bigint,
          1 + (SELECT sum(entries) FROM outcome WHERE commits AND error IS NULL),
          'exactly the entries of committed transactions are in the ledger');
SELECT is(pg_temp.q('SELECT count(*) FROM crm_core.check_balances()'), '0',
          'every kept balance equals the sum of its lines');
SELECT is(pg_temp.q('SELECT count(*) FROM crm_core.unbalanced_entries()'), '0',
          'every committed entry balances');
SELECT is(pg_temp.q('SELECT sum(COALESCE(debit, 0) - COALESCE(credit, 0)) FROM crm_core.journal_line'), '0',
          'the ledger sums to zero');
SELECT is(pg_temp.q('SELECT sum(debits - credits) FROM crm_core.account_balance_slot'), '0',
          'the balance slots sum to zero');
SELECT ok(pg_temp.q('SELECT count(*) FROM crm_core.account_balance_slot WHERE account_id = 1 AND slot >= 0')::int > 1,
          'the hot account''s balance is spread over several slots');
SELECT ok(pg_temp.q('SELECT crm_core.account_balance(20)')::numeric >= 0,
          'the wallet never went below zero');

SELECT dblink_disconnect('c' || i) FROM generate_series(1, 4) AS i;
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
ROLLBACK;
