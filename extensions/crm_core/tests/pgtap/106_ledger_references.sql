-- What journal rows name, checked by the ledger (the journal tables carry no foreign keys):
-- the business, the account and the entry a row names exist; what a journal row names is
-- not deleted, renumbered or truncated.
BEGIN;
SELECT plan(33);

INSERT INTO crm_core.business (id, name) VALUES (9451, 'refs'), (9452, 'refs other'), (9453, 'refs empty');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (9461, 9451, '1000', 'Cash', 'asset', 'EUR'),
    (9462, 9451, '4000', 'Sales', 'income', 'EUR'),
    (9463, 9451, '4900', 'Unused', 'income', 'EUR'),
    (9464, 9452, '1000', 'Cash', 'asset', 'EUR');
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (9471, 9451);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (9451, 9471, 9461, 5, NULL), (9451, 9471, 9462, NULL, 5);
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9472, 9451, 'draft'), (9473, 9451, 'draft');
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (9451, 9472, 9461, 1);
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;

SELECT hasnt_fk('crm_core', 'journal_line', 'journal lines carry no foreign key');
SELECT hasnt_fk('crm_core', 'journal_entry', 'journal entries carry no foreign key');

-- Rows name what exists.
SELECT throws_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                   VALUES (9451, 9479, 9461, 1)$$,
                 '23503', 'journal entry 9479 does not exist in business 9451',
                 'a line for an entry that does not exist is refused');
SELECT throws_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                   VALUES (9452, 9471, 9464, 1)$$,
                 '23503', 'journal entry 9471 does not exist in business 9452',
                 'a line for another business''s entry is refused');
SELECT throws_ok($$UPDATE crm_core.journal_line SET entry_id = 9478 WHERE entry_id = 9472$$,
                 '23503', 'journal entry 9478 does not exist in business 9451',
                 'a draft line cannot move to an entry that does not exist');
SELECT throws_ok($$UPDATE crm_core.journal_line SET account_id = 9464 WHERE entry_id = 9472$$,
                 '23503', 'account 9464 does not exist in business 9451',
                 'a draft line cannot move to another business''s account');
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id, status) VALUES (9459, 'draft')$$,
                 '23503', 'business 9459 does not exist', 'an entry of an unknown business is refused');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET business_id = 9458 WHERE id = 9473$$,
                 '23503', 'business 9458 does not exist', 'a draft cannot move to an unknown business');
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id, status, reverses_entry_id)
                   VALUES (9451, 'draft', 9477)$$,
                 '23503', 'journal entry 9477 does not exist in business 9451',
                 'an entry cannot reverse an entry that does not exist');

-- What a journal row names stays.
SELECT throws_ok($$DELETE FROM crm_core.journal_entry WHERE id = 9472$$,
                 '23503', 'journal entry 9472 has journal lines: it cannot be deleted',
                 'a draft with lines is not deleted');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET id = 9474 WHERE id = 9472$$,
                 '23503', 'journal entry 9472 has journal lines: it cannot be renumbered',
                 'nor renumbered');
INSERT INTO crm_core.journal_entry (id, business_id, status, reverses_entry_id) VALUES (9475, 9451, 'draft', 9473);
SELECT throws_ok($$DELETE FROM crm_core.journal_entry WHERE id = 9473$$,
                 '23503', 'journal entry 9473 is reversed by entry 9475: it cannot be deleted',
                 'an entry another entry reverses is not deleted');
SELECT throws_ok($$DELETE FROM crm_core.account WHERE id = 9461$$,
                 '23503', 'account 1000 (id 9461) has journal lines: it cannot be deleted',
                 'an account with lines is not deleted');
SELECT throws_ok($$UPDATE crm_core.account SET id = 9469 WHERE id = 9461$$,
                 '55000', 'account 1000 (id 9461) has journal lines: its business, id and currency cannot change',
                 'nor renumbered');
SELECT throws_ok($$DELETE FROM crm_core.business WHERE id = 9451$$,
                 '23503', 'business 9451 has journal entries: it cannot be deleted',
                 'a business with entries is not deleted');
SELECT throws_ok($$UPDATE crm_core.business SET id = 9459 WHERE id = 9451$$,
                 '23503', 'business 9451 has journal entries: its id cannot change',
                 'nor renumbered');
SELECT throws_ok($$TRUNCATE crm_core.account$$,
                 '55000', 'TRUNCATE on crm_core.account is refused: journal entries and lines name its rows',
                 'accounts are not truncated');
SELECT throws_ok($$TRUNCATE crm_core.business CASCADE$$,
                 '55000', 'TRUNCATE on crm_core.business is refused: journal entries and lines name its rows',
                 'businesses are not truncated');

-- What nothing names goes.
SELECT lives_ok($$DELETE FROM crm_core.journal_entry WHERE id = 9475;
                  DELETE FROM crm_core.journal_entry WHERE id = 9473$$,
                'a draft nothing names is deleted');
SELECT lives_ok($$DELETE FROM crm_core.account WHERE id = 9463$$, 'an account without lines is deleted');
SELECT lives_ok($$DELETE FROM crm_core.business WHERE id = 9453$$, 'a business without entries is deleted');

-- Replica mode skips the triggers that count and check lines (and the references above): a
-- role that is not a superuser, which a superuser switched to after setting it, writes no line
-- and posts no draft there; a superuser restoring a dump loads rows verbatim. The INSERT
-- refusal is a statement trigger (crm_core_guard_replica_insert): once per INSERT or COPY,
-- however many lines; posted lines stay unchangeable (the row guard, crm_core_guard_posted).
-- COPY of two lines, run by a superuser-owned SECURITY DEFINER function so that a role that is
-- not a superuser may start it (COPY FROM PROGRAM): the guard judges the role that runs the
-- statement, not the function's owner.
CREATE FUNCTION pg_temp.copy_lines() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
    COPY crm_core.journal_line (business_id, entry_id, account_id, debit)
        FROM PROGRAM 'printf ''9451\t9472\t9461\t1\n9451\t9472\t9461\t2\n''';
END $f$;
-- SQLSTATE|message|detail|hint of the error sql raises.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE state text; message text; detail text; hint text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN concat_ws('|', state, message, detail, hint);
END $f$;
GRANT EXECUTE ON FUNCTION pg_temp.copy_lines(), pg_temp.error_of(text) TO crm_core_app;
SELECT crm_core.grant_business('crm_core_app', 9451);
SET crm_core.business_id = '9451';
SET session_replication_role = replica;
SET ROLE crm_core_app;
SELECT throws_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                   VALUES (9451, 9471, 9461, 1)$$,
                 '42501', 'INSERT on crm_core.journal_line is refused in replica mode: the ledger''s checks do not run there',
                 'replica mode: no line for a posted entry from a role that is not a superuser');
SELECT throws_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                   VALUES (9451, 9472, 9461, 1)$$,
                 '42501', 'INSERT on crm_core.journal_line is refused in replica mode: the ledger''s checks do not run there',
                 'replica mode: nor for a draft (its lines would go unchecked)');
SELECT is(pg_temp.error_of($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
                             VALUES (9451, 9472, 9461, 3, NULL), (9451, 9472, 9462, NULL, 3)$$),
          '42501|INSERT on crm_core.journal_line is refused in replica mode: the ledger''s checks do not run there'
          '|session_replication_role = replica skips the triggers that count and check lines; only a '
          'superuser restoring a dump loads the journal so.|Post with session_replication_role = origin.',
          'replica mode: nor several lines in one INSERT (SQLSTATE, message, detail and hint)');
SELECT throws_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                   SELECT 9451, 9472, 9461, g FROM generate_series(1, 3) AS g$$,
                 '42501', 'INSERT on crm_core.journal_line is refused in replica mode: the ledger''s checks do not run there',
                 'replica mode: nor INSERT ... SELECT');
SELECT throws_ok($$SELECT pg_temp.copy_lines()$$,
                 '42501', 'INSERT on crm_core.journal_line is refused in replica mode: the ledger''s checks do not run there',
                 'replica mode: nor COPY');
SELECT throws_ok($$UPDATE crm_core.journal_line SET memo = 'changed' WHERE business_id = 9451 AND entry_id = 9471$$,
                 '55000', 'UPDATE on crm_core.journal_line is refused: lines of posted journal entries are append-only',
                 'replica mode: a posted line is not changed');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET status = 'posted' WHERE business_id = 9451 AND id = 9472$$,
                 '42501', 'posting on crm_core.journal_entry is refused in replica mode: the ledger''s checks do not run there',
                 'replica mode: a draft is not posted unchecked');
RESET ROLE;
SELECT throws_ok($$UPDATE crm_core.journal_line SET debit = 6 WHERE business_id = 9451 AND entry_id = 9471 AND debit = 5$$,
                 '55000', 'UPDATE on crm_core.journal_line is refused: lines of posted journal entries are append-only',
                 'replica mode: not even a superuser changes a posted line');
SELECT throws_ok($$DELETE FROM crm_core.journal_line WHERE business_id = 9451 AND entry_id = 9471$$,
                 '55000', 'DELETE on crm_core.journal_line is refused: lines of posted journal entries are append-only',
                 'replica mode: nor deletes one');
SELECT lives_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                  VALUES (9451, 9472, 9461, 1)$$,
                'replica mode: a superuser loads lines verbatim (a restore)');
SELECT lives_ok($$SELECT pg_temp.copy_lines()$$, 'replica mode: a superuser''s COPY loads them too');
SET session_replication_role = origin;
RESET crm_core.business_id;
SELECT is((SELECT count(*) FROM crm_core.journal_line WHERE business_id = 9451 AND entry_id = 9472),
          4::bigint, 'the draft holds its line and the three a superuser loaded, nothing else');

SELECT * FROM finish();
ROLLBACK;
