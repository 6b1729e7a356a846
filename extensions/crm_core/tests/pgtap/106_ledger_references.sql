-- What journal rows name, checked by the ledger (the journal tables carry no foreign keys):
-- the business, the account and the entry a row names exist; what a journal row names is
-- not deleted, renumbered or truncated.
BEGIN;
SELECT plan(25);

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
-- and posts no draft there; a superuser restoring a dump loads rows verbatim.
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
SELECT throws_ok($$UPDATE crm_core.journal_entry SET status = 'posted' WHERE business_id = 9451 AND id = 9472$$,
                 '42501', 'posting on crm_core.journal_entry is refused in replica mode: the ledger''s checks do not run there',
                 'replica mode: a draft is not posted unchecked');
RESET ROLE;
SELECT lives_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                  VALUES (9451, 9472, 9461, 1)$$,
                'replica mode: a superuser loads lines verbatim (a restore)');
SET session_replication_role = origin;
RESET crm_core.business_id;

SELECT * FROM finish();
ROLLBACK;
