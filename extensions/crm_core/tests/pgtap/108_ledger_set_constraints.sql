-- SET CONSTRAINTS and the ledger's commit check (src/ledger_constraints.cpp). The constraint
-- trigger journal_entry_balanced is disabled (it queued an event per posted entry); the check
-- runs before COMMIT, and SET CONSTRAINTS journal_entry_balanced (or ALL) IMMEDIATE checks the
-- pending entries at once and each later entry at the end of the statement that inserts or
-- posts it, as PostgreSQL does for an immediate constraint. Each scenario runs inside pgTAP's
-- own savepoint, so what it inserts is rolled back with it.
BEGIN;
SELECT plan(27);

INSERT INTO crm_core.business (id, name) VALUES (9581, 'set constraints');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (9591, 9581, '1000', 'Cash', 'asset', 'EUR'),
    (9592, 9581, '4000', 'Sales', 'income', 'EUR');
-- A schema earlier in the search path with a constraint of the same name.
CREATE SCHEMA shadow108;
CREATE TABLE shadow108.t (x int CONSTRAINT journal_entry_balanced UNIQUE DEFERRABLE);
CREATE TABLE shadow108.u (x int CONSTRAINT other108 UNIQUE DEFERRABLE);
-- SET CONSTRAINTS ALL IMMEDIATE from a function that runs while a statement is inserting lines.
CREATE FUNCTION pg_temp.set_immediate() RETURNS integer LANGUAGE plpgsql AS $f$
BEGIN
    SET CONSTRAINTS ALL IMMEDIATE;
    RETURN 9591;
END $f$;

SELECT results_eq($$SELECT t.tgenabled::text, c.condeferrable, c.condeferred
                    FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint
                    WHERE t.tgrelid = 'crm_core.journal_entry'::regclass
                      AND t.tgname = 'journal_entry_balanced'$$,
                  $$VALUES ('D', true, true)$$,
                  'journal_entry_balanced is a deferrable constraint trigger, disabled: it queues nothing');

SELECT throws_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (701, 9581);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9581, 701, 9591, 10, NULL), (9581, 701, 9592, NULL, 9);
    SET CONSTRAINTS crm_core.journal_entry_balanced IMMEDIATE$$,
    '23514', 'journal entry 701 does not balance in EUR: debits 10, credits 9',
    'SET CONSTRAINTS crm_core.journal_entry_balanced IMMEDIATE checks the pending entries');

SELECT throws_ok($$
    SET LOCAL search_path = crm_core, public;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (702, 9581);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9581, 702, 9591, 10, NULL), (9581, 702, 9592, NULL, 9);
    SET CONSTRAINTS journal_entry_balanced IMMEDIATE$$,
    '23514', 'journal entry 702 does not balance in EUR: debits 10, credits 9',
    'so does the unqualified name when the search path finds crm_core''s first');

-- Had the first SET checked the entry, the error would name credits 9, not 9.5.
SELECT throws_ok($$
    SET LOCAL search_path = shadow108, crm_core, public;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (703, 9581);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9581, 703, 9591, 10, NULL), (9581, 703, 9592, NULL, 9);
    SET CONSTRAINTS journal_entry_balanced IMMEDIATE;
    SET CONSTRAINTS shadow108.journal_entry_balanced IMMEDIATE;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit)
    VALUES (9581, 703, 9592, 0.5);
    SET CONSTRAINTS ALL IMMEDIATE$$,
    '23514', 'journal entry 703 does not balance in EUR: debits 10, credits 9.5',
    'a constraint of that name in another schema is not the ledger''s; ALL is');

SELECT throws_ok($$
    SET CONSTRAINTS ALL IMMEDIATE;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (704, 9581)$$,
    '23514', 'journal entry 704 has 0 line(s); a posted entry needs at least two',
    'once IMMEDIATE, an entry is checked at the end of the statement that inserts it');

SELECT lives_ok($$
    SET CONSTRAINTS ALL IMMEDIATE;
    WITH entry AS (INSERT INTO crm_core.journal_entry (id, business_id) VALUES (705, 9581) RETURNING id)
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    SELECT 9581, entry.id, a.account, a.debit, a.credit FROM entry,
           (VALUES (9591, 10, NULL), (9592, NULL, 10)) AS a(account, debit, credit);
    SET CONSTRAINTS ALL DEFERRED$$,
    'a writable CTE inserting an entry with its lines passes the immediate check');

-- The balancing line comes one statement too late.
SELECT throws_ok($$
    SET CONSTRAINTS ALL IMMEDIATE;
    WITH entry AS (INSERT INTO crm_core.journal_entry (id, business_id) VALUES (706, 9581) RETURNING id)
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    SELECT 9581, entry.id, a.account, a.debit, a.credit FROM entry,
           (VALUES (9591, 10, NULL), (9592, NULL, 9)) AS a(account, debit, credit);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (9581, 706, 9592, 1);
    SET CONSTRAINTS ALL DEFERRED$$,
    '23514', 'journal entry 706 does not balance in EUR: debits 10, credits 9',
    'and an unbalanced one fails at the end of that statement');

SELECT throws_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (707, 9581, 'draft');
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9581, 707, 9591, 10, NULL), (9581, 707, 9592, NULL, 9);
    SET CONSTRAINTS ALL IMMEDIATE;
    UPDATE crm_core.journal_entry SET status = 'posted' WHERE business_id = 9581 AND id = 707;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (9581, 707, 9592, 1);
    SET CONSTRAINTS ALL DEFERRED$$,
    '23514', 'journal entry 707 does not balance in EUR: debits 10, credits 9',
    'a draft posted under IMMEDIATE is checked at the end of the UPDATE');

-- pgTAP's savepoint rolls back with the error: the mode set inside it goes with it.
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE; SELECT 1 / 0$$, '22012', 'division by zero',
                 'SET CONSTRAINTS inside a savepoint that rolls back');
SELECT lives_ok($$INSERT INTO crm_core.journal_entry (id, business_id) VALUES (708, 9581)$$,
                'leaves the check deferred again: an entry without lines yet is accepted');
SELECT lives_ok($$
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9581, 708, 9591, 3, NULL), (9581, 708, 9592, NULL, 3);
    SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
    'and its lines, added later, make it balance');

-- A temporary table's constraint of the same name shadows the ledger's (pg_temp comes first in
-- the search path unless named later in it), as PostgreSQL resolves it; a list may name the
-- ledger's check after another constraint.
-- (A scenario that must pass ends in a division by zero: what it did is rolled back.)
SELECT throws_ok($$
    CREATE TEMP TABLE shadow108_temp (x int CONSTRAINT journal_entry_balanced UNIQUE DEFERRABLE);
    SET LOCAL search_path = crm_core, public;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (720, 9581);
    SET CONSTRAINTS journal_entry_balanced IMMEDIATE;
    SELECT 1 / 0$$, '22012', 'division by zero',
    'a temporary constraint journal_entry_balanced is the one an unqualified name sets');
SELECT throws_ok($$
    CREATE TEMP TABLE shadow108_temp (x int CONSTRAINT journal_entry_balanced UNIQUE DEFERRABLE);
    SET LOCAL search_path = crm_core, pg_temp, public;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (721, 9581);
    SET CONSTRAINTS journal_entry_balanced IMMEDIATE$$,
    '23514', 'journal entry 721 has 0 line(s); a posted entry needs at least two',
    'unless crm_core comes before pg_temp in the search path');
SELECT throws_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (722, 9581);
    SET CONSTRAINTS shadow108.other108, crm_core.journal_entry_balanced IMMEDIATE$$,
    '23514', 'journal entry 722 has 0 line(s); a posted entry needs at least two',
    'a list naming the ledger''s check after another constraint sets it');

-- Nested savepoints: each rolled-back one restores the mode it found; a released one keeps it.
SAVEPOINT outer108;
SET CONSTRAINTS ALL IMMEDIATE;
SAVEPOINT inner108;
SET CONSTRAINTS crm_core.journal_entry_balanced DEFERRED;
SELECT lives_ok($$INSERT INTO crm_core.journal_entry (id, business_id) VALUES (723, 9581)$$,
                'nested savepoints: DEFERRED in the inner one');
ROLLBACK TO SAVEPOINT inner108;
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (id, business_id) VALUES (724, 9581)$$,
                 '23514', 'journal entry 724 has 0 line(s); a posted entry needs at least two',
                 'rolling the inner savepoint back restores the outer one''s IMMEDIATE');
ROLLBACK TO SAVEPOINT outer108;
SELECT lives_ok($$INSERT INTO crm_core.journal_entry (id, business_id) VALUES (725, 9581)$$,
                'rolling the outer one back restores DEFERRED');
ROLLBACK TO SAVEPOINT outer108;
SAVEPOINT released108;
SET CONSTRAINTS ALL IMMEDIATE;
RELEASE SAVEPOINT released108;
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (id, business_id) VALUES (726, 9581)$$,
                 '23514', 'journal entry 726 has 0 line(s); a posted entry needs at least two',
                 'a released savepoint keeps the mode set inside it');
SET CONSTRAINTS ALL DEFERRED;
RELEASE SAVEPOINT outer108;

-- PL/pgSQL: SET CONSTRAINTS in a DO block checks at once; inside a block whose exception is
-- caught, it is undone with the block.
SELECT throws_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (727, 9581);
    DO $do$ BEGIN SET CONSTRAINTS ALL IMMEDIATE; END $do$;
    $$,
    '23514', 'journal entry 727 has 0 line(s); a posted entry needs at least two',
    'SET CONSTRAINTS ALL IMMEDIATE in a DO block checks the pending entries');
SELECT throws_ok($$
    DO $do$
    BEGIN
        BEGIN
            SET CONSTRAINTS ALL IMMEDIATE;
            RAISE EXCEPTION 'undo';
        EXCEPTION WHEN raise_exception THEN NULL;
        END;
    END $do$;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (728, 9581);
    SELECT 1 / 0$$, '22012', 'division by zero',
    'SET CONSTRAINTS in a PL/pgSQL block whose exception is caught is undone with it');

-- A check queued while a statement inserting lines was open (SET CONSTRAINTS ... IMMEDIATE
-- from a function it calls) goes with the savepoint that rolls the statement back: the mode is
-- DEFERRED again, so entry 730, still incomplete, is not checked at the next line statement.
SELECT lives_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (730, 9581);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (9581, 730, 9591, 10)$$,
    'an entry with one line so far (DEFERRED)');
SELECT throws_ok($$
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
    SELECT 9581, 799, pg_temp.set_immediate(), 1$$,
    '23503', 'journal entry 799 does not exist in business 9581',
    'a statement that made the check IMMEDIATE fails and rolls back');
SELECT lives_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (731, 9581);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9581, 731, 9591, 3, NULL), (9581, 731, 9592, NULL, 3)$$,
    'the next statement inserting lines does not check entry 730 under DEFERRED');
SELECT lives_ok($$
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (9581, 730, 9592, 10);
    SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
    'and entry 730, completed later, balances');

-- A superuser who enables journal_entry_balanced (ENABLE TRIGGER ALL) gets the same checks,
-- the entry checked twice.
SAVEPOINT enabled108;
ALTER TABLE crm_core.journal_entry ENABLE TRIGGER ALL;
SELECT throws_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (732, 9581);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9581, 732, 9591, 10, NULL), (9581, 732, 9592, NULL, 9);
    SET CONSTRAINTS ALL IMMEDIATE$$,
    '23514', 'journal entry 732 does not balance in EUR: debits 10, credits 9',
    'journal_entry_balanced enabled: an unbalanced entry is refused');
SELECT lives_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (733, 9581);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9581, 733, 9591, 10, NULL), (9581, 733, 9592, NULL, 10);
    SET CONSTRAINTS ALL IMMEDIATE$$,
    'and a balanced one passes');
ROLLBACK TO SAVEPOINT enabled108;
RELEASE SAVEPOINT enabled108;

-- What the transaction leaves for COMMIT: 101_ledger_commit.sql commits for real.
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (709, 9581);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (9581, 709, 9591, 4);
SELECT throws_ok('SET CONSTRAINTS ALL IMMEDIATE', '23514',
                 'journal entry 709 has 1 line(s); a posted entry needs at least two',
                 'an entry left unchecked is found by the next SET CONSTRAINTS ALL IMMEDIATE');

SELECT * FROM finish();
ROLLBACK;
