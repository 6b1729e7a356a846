-- Several real sessions (dblink, asynchronous) pay one debt at the same time, some rolling
-- back, some reversing an earlier payment, while another session runs run_dpd day after day
-- beside them; then every position agrees with its allocations and the ledger
-- (check_positions, crm_core.check_balances), and exactly the committed money is there.
BEGIN;
SELECT plan(12);
\set scratch_prefix crm_collections_sessions_
\ir ../../../crm_core/tests/pgtap/lib/scratch.sql

CREATE FUNCTION pg_temp.q(sql text) RETURNS text LANGUAGE sql AS $$
    SELECT v FROM dblink('c1', sql) AS t(v text)
$$;

SELECT dblink_connect('c' || i, pg_temp.connstr(pg_temp.scratch())) FROM generate_series(1, 5) AS i;
SELECT dblink_exec('c1', $setup$
    SET client_min_messages = warning;
    CREATE EXTENSION IF NOT EXISTS crm_collections CASCADE;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'acme');
    DO $do$ BEGIN PERFORM collections.setup_business(1); END $do$;
    INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (1, 1, 'Jeanne Martin', '0612345678');
    INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal)
    VALUES (1, 1, 1, 'LOAN-1', 6000);
    DO $do$ BEGIN
        PERFORM collections.charge(1, 'interest', 600, 'interest');
        PERFORM collections.charge(1, 'fee', 150, 'fees');
        PERFORM collections.create_plan(1, CURRENT_DATE - 200, 12);
    END $do$$setup$);

-- One random transaction of session c on debt 1 (seeded): a payment, committed or rolled back,
-- sometimes after a rolled-back savepoint, sometimes followed by the reversal of one of the
-- session's earlier committed payments.
SELECT setseed(0.42);
CREATE TEMP TABLE sent (conn text, round int, reference text, amount numeric, commits boolean,
                        reverses text, error text);
CREATE FUNCTION pg_temp.transaction_sql(c int, round int, OUT sql text, OUT reference text,
                                        OUT amount numeric, OUT commits boolean, OUT reverses text)
    LANGUAGE plpgsql AS $$
BEGIN
    reference := format('c%s-%s', c, round);
    amount := round((1 + random() * 250)::numeric, 2);
    commits := random() >= 0.2;
    sql := 'BEGIN;';
    IF random() < 0.15 THEN
        sql := sql || ' SAVEPOINT s; INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)'
                   || format(' VALUES (1, 1, %L, 1); ROLLBACK TO SAVEPOINT s;', reference || '-sp');
    END IF;
    sql := sql || format(' INSERT INTO collections.payment (business_id, debt_account_id, reference, amount) VALUES (1, 1, %L, %s);',
                         reference, amount);
    SELECT s.reference INTO reverses FROM sent s
     WHERE s.conn = 'c' || c AND s.commits AND s.error IS NULL AND s.reverses IS NULL
       AND NOT EXISTS (SELECT FROM sent x WHERE x.reverses = s.reference)
       AND random() < 0.1
     LIMIT 1;
    IF reverses IS NOT NULL THEN
        sql := sql || format(' SELECT collections.reverse_payment((SELECT payment_id FROM collections.payment_reference'
                             ' WHERE business_id = 1 AND reference = %L), %L);', reverses, 'bounced');
    END IF;
    sql := sql || CASE WHEN commits THEN ' COMMIT;' ELSE ' ROLLBACK;' END;
END $$;

DO $$
DECLARE
    tx record;
    pending sent[] := ARRAY[]::sent[];
    error text;
BEGIN
    FOR round IN 1 .. 30 LOOP
        pending := ARRAY[]::sent[];
        FOR c IN 1 .. 4 LOOP
            tx := pg_temp.transaction_sql(c, round);
            pending := pending || ROW('c' || c, round, tx.reference, tx.amount, tx.commits,
                                      CASE WHEN tx.commits THEN tx.reverses END, NULL)::sent;
            PERFORM dblink_send_query('c' || c, tx.sql);
        END LOOP;
        -- The close of business, day after day, beside the payments.
        PERFORM dblink_send_query('c5', format('SELECT d::text FROM collections.run_dpd(CURRENT_DATE + %s) AS d', round / 3));
        FOR c IN 1 .. 4 LOOP
            error := pg_temp.finish_batch('c' || c);
            pending[c].error := error;
            INSERT INTO sent SELECT (pending[c]).*;
        END LOOP;
        error := pg_temp.finish_batch('c5');
        IF error IS NOT NULL THEN
            INSERT INTO sent VALUES ('c5', round, NULL, NULL, true, NULL, error);
        END IF;
    END LOOP;
END $$;

SELECT is((SELECT string_agg(DISTINCT error, '; ') FROM sent WHERE error IS NOT NULL), NULL,
          'no session failed: no deadlock, no lost update, no serialization error');
SELECT ok((SELECT count(*) FROM sent WHERE commits AND conn <> 'c5') > 60 AND (SELECT count(*) FROM sent WHERE reverses IS NOT NULL) > 0,
          'most payments committed, some were reversed');
SELECT is(pg_temp.q('SELECT count(*) FROM collections.payment'),
          (SELECT count(*)::text FROM sent WHERE commits AND conn <> 'c5'),
          'exactly the committed payments are recorded');
SELECT is(pg_temp.q($$SELECT sum(p.amount) FROM collections.payment p
                      WHERE NOT EXISTS (SELECT FROM collections.payment_reversal r WHERE r.payment_id = p.id)$$)::numeric,
          (SELECT sum(amount) FROM sent WHERE commits AND conn <> 'c5'
              AND reference NOT IN (SELECT reverses FROM sent WHERE reverses IS NOT NULL)),
          'the payments not reversed add up to what was committed');
SELECT is(pg_temp.q($$SELECT crm_core.subledger_balance(p.cash_account_id, 1) FROM collections.product p WHERE p.business_id = 1$$)::numeric,
          (SELECT sum(amount) - 6000 FROM sent WHERE commits AND conn <> 'c5'
              AND reference NOT IN (SELECT reverses FROM sent WHERE reverses IS NOT NULL)),
          'and so does the cash the debt brought in (less the 6000 it lent)');
-- A reversal restores what its payment paid; credit left by later payments stays credit, so a
-- debt may owe and hold credit at once, but never below zero, and owed - credit is exact.
SELECT is(pg_temp.q($$SELECT (outstanding - credit_balance)::text FROM collections.debt_position
                      WHERE outstanding >= 0 AND credit_balance >= 0$$)::numeric,
          (SELECT 6750 - sum(amount) FROM sent WHERE commits AND conn <> 'c5'
              AND reference NOT IN (SELECT reverses FROM sent WHERE reverses IS NOT NULL)),
          'what the debt owes less its credit balance is what was not paid; neither is below zero');
SELECT ok(pg_temp.q('SELECT credit_balance FROM collections.debt_position')::numeric > 0,
          'the debt was overpaid: payments crossed into the credit balance concurrently');
SELECT is(pg_temp.q('SELECT count(*) FROM collections.check_positions()'), '0',
          'check_positions: installments, allocations and the ledger agree');
SELECT is(pg_temp.q('SELECT count(*) FROM crm_core.check_balances()'), '0',
          'crm_core.check_balances: every kept balance equals its lines');
SELECT is(pg_temp.q('SELECT count(*) FROM crm_core.unbalanced_entries()'), '0', 'every entry balances');

SELECT dblink_exec('c1', 'UPDATE collections.product SET grace_days = 3');
SELECT is((SELECT examined FROM dblink('c5', 'CALL collections.run_dpd_in_batches(CURRENT_DATE + 400, 1)')
                                 AS t(examined bigint, changed bigint)), 1::bigint,
          'run_dpd_in_batches commits batch after batch (the debt, read again after its grace days changed)');
SELECT is(pg_temp.q('SELECT count(*) FROM collections.check_positions()'), '0', 'positions agree after it');

SELECT dblink_disconnect('c' || i) FROM generate_series(1, 5) AS i;
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
ROLLBACK;
