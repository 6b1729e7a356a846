-- Commit-time checks with real commits (dblink into a scratch database, dropped at the end):
-- multi-statement transactions, SET CONSTRAINTS ... IMMEDIATE, rolled-back savepoints, COPY,
-- two-phase commit. Several sessions at once: tests/isolation/specs/ledger_sessions.spec.
BEGIN;
SELECT plan(28);
\set scratch_prefix crm_core_ledger_commit_
\ir lib/scratch.sql

SELECT dblink_connect('s1', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('s1', $$
    CREATE EXTENSION crm_core;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'acme');
    INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
    VALUES (1, 1, '1000', 'Cash', 'asset', 'EUR'), (2, 1, '4000', 'Sales', 'income', 'EUR')$$);

SELECT throws_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (10, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 10, 1, 100);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (1, 10, 2, 99);
    COMMIT')$$, '23514', 'journal entry 10 does not balance in EUR: debits 100, credits 99', 'an unbalanced entry fails at COMMIT');
SELECT dblink_exec('s1', 'ROLLBACK');
SELECT is(pg_temp.q('s1', 'SELECT count(*) FROM crm_core.journal_entry'), '0', 'and nothing of it is committed');

SELECT lives_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (11, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 11, 1, 60);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 11, 1, 40);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (1, 11, 2, 100);
    COMMIT')$$, 'an entry built over several statements commits');

SELECT throws_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (12, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 12, 1, 5, NULL), (1, 12, 2, NULL, 5);
    SET CONSTRAINTS ALL IMMEDIATE;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 12, 1, 1);
    COMMIT')$$, '23514', 'journal entry 12 does not balance in EUR: debits 6, credits 5', 'a line added after SET CONSTRAINTS IMMEDIATE is checked again');
SELECT dblink_exec('s1', 'ROLLBACK');

SELECT throws_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (13, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 13, 1, 7);
    SAVEPOINT s;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (1, 13, 2, 7);
    SET CONSTRAINTS ALL IMMEDIATE;
    SET CONSTRAINTS ALL DEFERRED;
    ROLLBACK TO SAVEPOINT s;
    COMMIT')$$, '23514', 'journal entry 13 has 1 line(s); a posted entry needs at least two',
    'an entry checked inside a savepoint is checked again once the savepoint rolls back');
SELECT dblink_exec('s1', 'ROLLBACK');

SELECT lives_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (14, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 14, 1, 8, NULL), (1, 14, 2, NULL, 8);
    SAVEPOINT s;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 14, 1, 1000);
    ROLLBACK TO SAVEPOINT s;
    COMMIT')$$, 'an unbalancing line rolled back with its savepoint does not count');
SELECT is(pg_temp.q('s1', 'SELECT crm_core.account_balance(1)'), '108',
          'balances count only the committed lines');

-- One query that inserts the lines before their entry (the lines' statement trigger fires
-- before the entry's): the entry is checked from the table, all its lines included.
SELECT throws_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    WITH l AS (INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
               VALUES (1, 15, 1, 100) RETURNING business_id, entry_id)
    INSERT INTO crm_core.journal_entry (business_id, id) SELECT DISTINCT business_id, entry_id FROM l;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 15, 1, 5, NULL), (1, 15, 2, NULL, 5);
    COMMIT')$$, '23514', 'journal entry 15 does not balance in EUR: debits 105, credits 5',
    'lines counted before their entry was recorded are not left out of its check');
SELECT dblink_exec('s1', 'ROLLBACK');

-- COPY: many entries in one statement.
SELECT throws_ok($$SELECT dblink_exec('s1', $q$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) SELECT i, 1 FROM generate_series(100, 199) i;
    COPY crm_core.journal_line (business_id, entry_id, account_id, debit, credit) FROM PROGRAM
        'seq 100 199 | awk ''{ print "1," $1 ",1,5,"; print "1," $1 ",2,," ($1 == 150 ? 4 : 5) }''' WITH (FORMAT csv);
    COMMIT$q$)$$, '23514', 'journal entry 150 does not balance in EUR: debits 5, credits 4',
    'COPY: the one unbalanced entry among 100 is named at commit');
SELECT dblink_exec('s1', 'ROLLBACK');
SELECT lives_ok($$SELECT dblink_exec('s1', $q$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) SELECT i, 1 FROM generate_series(100, 199) i;
    COPY crm_core.journal_line (business_id, entry_id, account_id, debit, credit) FROM PROGRAM
        'seq 100 199 | awk ''{ print "1," $1 ",1,5,"; print "1," $1 ",2,,5" }''' WITH (FORMAT csv);
    COMMIT$q$)$$, 'COPY of 100 balanced entries commits');
SELECT is(pg_temp.q('s1', 'SELECT crm_core.account_balance(1)'), '608', 'COPY lines are counted');

-- Two-phase commit: PREPARE TRANSACTION checks like COMMIT, also lines added after an entry's
-- check; a prepared posting counts once committed.
SELECT throws_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (50, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 50, 1, 10, NULL), (1, 50, 2, NULL, 10);
    SET CONSTRAINTS ALL IMMEDIATE;
    SET CONSTRAINTS ALL DEFERRED;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 50, 1, 1);
    PREPARE TRANSACTION ''crm_core_ledger_unbalanced''')$$,
    '23514', 'journal entry 50 does not balance in EUR: debits 11, credits 10',
    'PREPARE TRANSACTION refuses an entry given a line after its check');
SELECT dblink_exec('s1', 'ROLLBACK');
-- (Were it prepared anyway, it would hold its locks and stall the tests below.)
SELECT count(*) > 0 AS leftover_prepared FROM pg_prepared_xacts WHERE gid = 'crm_core_ledger_unbalanced' \gset
\if :leftover_prepared
SELECT dblink_exec('s1', $$ROLLBACK PREPARED 'crm_core_ledger_unbalanced'$$);
\endif
SELECT lives_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (51, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 51, 1, 2, NULL), (1, 51, 2, NULL, 2);
    PREPARE TRANSACTION ''crm_core_ledger_2pc''')$$, 'a balanced entry prepares');
SELECT dblink_exec('s1', $$COMMIT PREPARED 'crm_core_ledger_2pc'$$);
SELECT is(pg_temp.q('s1', 'SELECT crm_core.account_balance(1)'), '610', 'and counts once committed');

-- A draft posted while another session adds lines to it, an account closed under a posting in
-- flight, a wallet spent by two sessions: tests/isolation/specs/ledger_sessions.spec.

SELECT throws_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (1, 11, 2, 1);
    COMMIT')$$, '55000', 'journal entry 11 is already posted; lines cannot be added to it', 'lines cannot be added to an entry posted by an earlier transaction');
SELECT dblink_exec('s1', 'ROLLBACK');

SELECT is(pg_temp.q('s1', 'SELECT count(*) FROM crm_core.check_balances()'), '0',
          'kept balances equal the committed lines');
SELECT is(pg_temp.q('s1', 'SELECT count(*) FROM crm_core.unbalanced_entries()'), '0',
          'no committed entry is unbalanced');
SELECT is(pg_temp.q('s1', 'SELECT sum(COALESCE(debit, 0) - COALESCE(credit, 0)) FROM crm_core.journal_line l
                          JOIN crm_core.journal_entry e ON e.business_id = l.business_id AND e.id = l.entry_id
                          WHERE e.status = ''posted'''), '0', 'the posted ledger sums to zero');

-- SET CONSTRAINTS in a fresh session, before anything loaded the library (its hook is
-- installed when it loads): that transaction's entries are checked at COMMIT only
-- (docs/ledger.md); COMMIT refuses the unbalanced one all the same, and the next transaction
-- of that session is checked at once.
SELECT dblink_connect('fresh', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('fresh', 'BEGIN');
SELECT dblink_exec('fresh', 'SET CONSTRAINTS ALL IMMEDIATE');
SELECT lives_ok($$SELECT dblink_exec('fresh', 'INSERT INTO crm_core.journal_entry (id, business_id) VALUES (60, 1)')$$,
                'SET CONSTRAINTS ... IMMEDIATE before the library loaded: not checked at the statement''s end');
SELECT throws_ok($$SELECT dblink_exec('fresh', 'COMMIT')$$, '23514',
                 'journal entry 60 has 0 line(s); a posted entry needs at least two',
                 'but refused at COMMIT');
SELECT throws_ok($$SELECT dblink_exec('fresh', '
    BEGIN;
    SET CONSTRAINTS ALL IMMEDIATE;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (61, 1);
    SELECT 1 / 0')$$, '23514', 'journal entry 61 has 0 line(s); a posted entry needs at least two',
    'once loaded, SET CONSTRAINTS ... IMMEDIATE checks at the statement''s end');
SELECT dblink_exec('fresh', 'ROLLBACK');
SELECT dblink_disconnect('fresh');

-- COMMIT inside a procedure runs the same check; the error reaches the CALL, and what the
-- procedure committed before stays.
SELECT dblink_exec('s1', $$
    CREATE PROCEDURE public.post_two() LANGUAGE plpgsql AS $p$
    BEGIN
        INSERT INTO crm_core.journal_entry (id, business_id) VALUES (62, 1);
        INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
        VALUES (1, 62, 1, 1, NULL), (1, 62, 2, NULL, 1);
        COMMIT;
        INSERT INTO crm_core.journal_entry (id, business_id) VALUES (63, 1);
        INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 63, 1, 1);
        COMMIT;
        RAISE EXCEPTION 'not reached';
    END $p$
$$);
SELECT throws_ok($$SELECT dblink_exec('s1', 'CALL public.post_two()')$$, '23514',
                 'journal entry 63 has 1 line(s); a posted entry needs at least two',
                 'COMMIT in a procedure refuses an unbalanced entry');
SELECT is(pg_temp.q('s1', 'SELECT string_agg(id::text, '','' ORDER BY id) FROM crm_core.journal_entry WHERE id IN (62, 63)'),
          '62', 'the entry the procedure committed before stays, the refused one is gone');

-- COMMIT AND CHAIN: refused, and the chained transaction does not start (the session is idle:
-- its next statement runs in a transaction of its own).
SELECT throws_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (64, 1);
    COMMIT AND CHAIN')$$, '23514', 'journal entry 64 has 0 line(s); a posted entry needs at least two',
    'COMMIT AND CHAIN refuses an unbalanced entry');
SELECT is(pg_temp.q('s1', 'SELECT now() = statement_timestamp()'), 't',
          'and leaves no transaction open');

-- A superuser who enables journal_entry_balanced: the deferred trigger checks at commit too
-- (the entry is checked twice, counted once).
SELECT dblink_exec('s1', 'ALTER TABLE crm_core.journal_entry ENABLE TRIGGER journal_entry_balanced');
SELECT throws_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (65, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 65, 1, 4, NULL), (1, 65, 2, NULL, 3);
    COMMIT')$$, '23514', 'journal entry 65 does not balance in EUR: debits 4, credits 3',
    'journal_entry_balanced enabled: an unbalanced entry is refused at COMMIT');
SELECT dblink_exec('s1', 'ROLLBACK');
SELECT lives_ok($$SELECT dblink_exec('s1', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (66, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 66, 1, 4, NULL), (1, 66, 2, NULL, 4);
    PREPARE TRANSACTION ''crm_core_ledger_enabled''')$$,
    'and a balanced one prepares');
SELECT dblink_exec('s1', $$COMMIT PREPARED 'crm_core_ledger_enabled'$$);
SELECT dblink_exec('s1', 'ALTER TABLE crm_core.journal_entry DISABLE TRIGGER journal_entry_balanced');
SELECT is(pg_temp.q('s1', 'SELECT crm_core.account_balance(1)'), '615',
          'counted once: 610, the procedure''s 1, and 4');

SELECT dblink_disconnect('s1');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
ROLLBACK;
