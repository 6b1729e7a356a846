-- Adversarial cases: doors an attacker or a careless application would try, each refused.
-- Races between sessions (snapshots older than a closing, a currency change against a posting
-- in flight): tests/isolation/specs/ledger_races.spec.
BEGIN;
SELECT plan(22);

-- Ids are unique per business only (explicit ids are allowed): functions that take a bare id
-- must refuse an id two businesses share rather than pick one of them.
INSERT INTO crm_core.business (id, name) VALUES (9500001, 'adv one'), (9500002, 'adv two');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (9500001, 9500001, 'cash', 'Cash', 'asset', 'EUR'), (9500002, 9500001, 'fees', 'Fees', 'income', 'EUR'),
    (9500001, 9500002, 'cash', 'Cash', 'asset', 'EUR'), (9500002, 9500002, 'fees', 'Fees', 'income', 'EUR');
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (9500001, 9500001), (9500001, 9500002);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (9500001, 9500001, 9500001, 5, NULL), (9500001, 9500001, 9500002, NULL, 5),
    (9500002, 9500001, 9500001, 7, NULL), (9500002, 9500001, 9500002, NULL, 7);
SELECT throws_ok('SELECT crm_core.account_balance(9500001)', '21000', 'more than one row returned by a subquery used as an expression',
                 'account_balance refuses an account id two businesses share');
SELECT throws_ok($$SELECT crm_core.account_balance(9500001, now())$$, '21000', 'more than one row returned by a subquery used as an expression',
                 'account_balance at a time refuses an account id two businesses share');
SELECT throws_ok('SELECT crm_core.account_rollup_balance(9500001)', '21000', 'more than one row returned by a subquery used as an expression',
                 'account_rollup_balance refuses an account id two businesses share');
SELECT throws_ok('SELECT crm_core.reverse_entry(9500001)', '21000', 'journal entry id 9500001 exists in more than one business',
                 'reverse_entry refuses an entry id two businesses share');

-- An idempotent retry returns only a posted entry: a draft holding the key is not "the same".
INSERT INTO crm_core.journal_entry (id, business_id, status, idempotency_key)
VALUES (9500002, 9500001, 'draft', 'adv-key');
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (9500001, 9500002, 9500001, 5, NULL), (9500001, 9500002, 9500002, NULL, 5);
SELECT throws_ok($$SELECT crm_core.post_entry(9500001,
    '[{"account_id": 9500001, "debit": 5}, {"account_id": 9500002, "credit": 5}]', idempotency_key => 'adv-key')$$,
    '23505', 'idempotency key adv-key of business 9500001 was already used by entry 9500002 with other content', 'post_entry does not pass a draft off as the posted retry');
SELECT is((SELECT status FROM crm_core.journal_entry WHERE business_id = 9500001 AND id = 9500002), 'draft',
          'the draft stays a draft');

-- A non-superuser owner of the ledger's tables (a DBA handed them over) cannot switch off
-- or reshape the money invariants: the ledger's triggers, constraints, rules and columns
-- are changed only by a superuser.
-- One query posts a draft and adds lines to it (writable CTE, either order of execution):
-- every line is counted once in the balances.
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES
    (9500010, 9500001, 'draft'), (9500011, 9500001, 'draft'), (9500012, 9500001, 'draft');
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (9500001, 9500011, 9500001, 5, NULL), (9500001, 9500011, 9500002, NULL, 5);
WITH added AS (INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
               VALUES (9500001, 9500010, 9500001, 5, NULL), (9500001, 9500010, 9500002, NULL, 5))
UPDATE crm_core.journal_entry SET status = 'posted' WHERE business_id = 9500001 AND id = 9500010;
WITH posted AS (UPDATE crm_core.journal_entry SET status = 'posted'
                WHERE business_id = 9500001 AND id = 9500011)
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (9500001, 9500011, 9500001, 3, NULL), (9500001, 9500011, 9500002, NULL, 3);
SAVEPOINT counted;
WITH posted AS (UPDATE crm_core.journal_entry SET status = 'posted'
                WHERE business_id = 9500001 AND id = 9500012)
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (9500001, 9500012, 9500001, 4, NULL), (9500001, 9500012, 9500002, NULL, 4);
ROLLBACK TO SAVEPOINT counted;
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (9500001, 9500012, 9500001, 4, NULL), (9500001, 9500012, 9500002, NULL, 4);
UPDATE crm_core.journal_entry SET status = 'posted' WHERE business_id = 9500001 AND id = 9500012;
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9500013, 9500001, 'draft');
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (9500001, 9500013, 9500001, 5, NULL), (9500001, 9500013, 9500002, NULL, 5),
    (9500001, 9500013, 9500001, 3, NULL), (9500001, 9500013, 9500002, NULL, 3);
WITH posted AS (UPDATE crm_core.journal_entry SET status = 'posted'
                WHERE business_id = 9500001 AND id = 9500013)
DELETE FROM crm_core.journal_line WHERE business_id = 9500001 AND entry_id = 9500013
                                    AND 3 IN (debit, credit);
SELECT is_empty('SELECT * FROM crm_core.check_balances()',
                'a posting and its lines in one query: balances equal the posted lines');
SELECT is((SELECT sum(debits) - sum(credits) FROM crm_core.account_balance_slot
            WHERE business_id = 9500001 AND account_id = 9500001), 5 + 5 + 5 + 3 + 4 + 5::numeric,
          'cash counts each line once');
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE', 'and every entry balances');

SET CONSTRAINTS ALL IMMEDIATE;  -- no pending ledger checks, so that ownership can move
SET CONSTRAINTS ALL DEFERRED;
CREATE ROLE crm_core_adversarial_owner NOLOGIN;
GRANT USAGE ON SCHEMA crm_core TO crm_core_adversarial_owner;
ALTER TABLE crm_core.journal_line OWNER TO crm_core_adversarial_owner;
ALTER TABLE crm_core.journal_entry OWNER TO crm_core_adversarial_owner;
ALTER TABLE crm_core.account_balance_slot OWNER TO crm_core_adversarial_owner;
SET ROLE crm_core_adversarial_owner;
SELECT throws_ok('ALTER TABLE crm_core.journal_line DISABLE TRIGGER journal_line_inserted', '42501', 'changing ledger table crm_core.journal_line is refused',
                 'owner: disabling the balance-keeping trigger is refused');
SELECT throws_ok('ALTER TABLE crm_core.journal_entry DISABLE TRIGGER journal_entry_balanced', '42501', 'changing ledger table crm_core.journal_entry is refused',
                 'owner: disabling the commit check is refused');
SELECT throws_ok('DROP TRIGGER journal_line_balanced ON crm_core.journal_line', '42501', 'dropping journal_line_balanced on crm_core.journal_line is refused',
                 'owner: dropping the commit check is refused');
SELECT throws_ok('ALTER TABLE crm_core.journal_line DROP CONSTRAINT journal_line_one_side', '42501', 'dropping journal_line_one_side on crm_core.journal_line is refused',
                 'owner: dropping a line constraint is refused');
SELECT throws_ok('CREATE RULE skip AS ON INSERT TO crm_core.journal_line WHERE NEW.debit > 100 DO INSTEAD NOTHING',
                 '42501', 'changing ledger table crm_core.journal_line is refused', 'owner: a rule that silently drops lines is refused');
SELECT throws_ok($$ALTER TABLE crm_core.journal_entry ALTER COLUMN status SET DEFAULT 'draft'$$, '42501', 'changing ledger table crm_core.journal_entry is refused',
                 'owner: changing a documented default is refused');
SELECT throws_ok('CREATE TRIGGER skip BEFORE INSERT ON crm_core.journal_line FOR EACH ROW
                  EXECUTE FUNCTION suppress_redundant_updates_trigger()', '42501', 'changing ledger table crm_core.journal_line is refused',
                 'owner: a trigger of its own on the ledger is refused');
SELECT throws_ok('ALTER TABLE crm_core.account_balance_slot DISABLE ROW LEVEL SECURITY', '42501', 'changing ledger table crm_core.account_balance_slot is refused',
                 'owner: any ALTER TABLE on the balance slots is refused');
SELECT throws_ok('UPDATE crm_core.account_balance_slot SET debits = debits + 1', '42501', 'crm_core.account_balance_slot is written only by the ledger',
                 'owner: writing the kept balances directly is refused');
SELECT throws_ok('TRUNCATE crm_core.account_balance_slot', '42501', 'crm_core.account_balance_slot is written only by the ledger',
                 'owner: truncating the kept balances is refused');
RESET ROLE;

-- The owner of a table made append-only cannot edit its rows by rewriting the table or drop
-- a column's history.
CREATE SCHEMA crm_core_adversarial AUTHORIZATION crm_core_adversarial_owner;
SET ROLE crm_core_adversarial_owner;
CREATE TABLE crm_core_adversarial.payment (id int PRIMARY KEY, amount numeric, note text);
INSERT INTO crm_core_adversarial.payment VALUES (1, 100, 'first');
RESET ROLE;
SELECT crm_core.make_append_only('crm_core_adversarial.payment');
SET ROLE crm_core_adversarial_owner;
SELECT throws_ok('ALTER TABLE crm_core_adversarial.payment ALTER COLUMN amount TYPE numeric USING amount * 0',
                 '42501', 'rewriting append-only table crm_core_adversarial.payment is refused', 'owner: rewriting an append-only table (ALTER COLUMN ... TYPE ... USING) is refused');
SELECT throws_ok('ALTER TABLE crm_core_adversarial.payment DROP COLUMN note', '42501', 'dropping column crm_core_adversarial.payment.note of an append-only table is refused',
                 'owner: dropping a column of an append-only table is refused');
SELECT is((SELECT (amount, note)::text FROM crm_core_adversarial.payment), '(100,first)', 'its rows are untouched');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
