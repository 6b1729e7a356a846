-- Adversarial cases: doors an attacker or a careless application would try, each refused.
-- Real commits (dblink) in a scratch database where a check needs committed transactions.
BEGIN;
SELECT plan(42);
\set scratch_prefix crm_core_adversarial_
\ir lib/scratch.sql

SELECT dblink_connect('poster', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_connect('closer', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('closer', $$
    CREATE EXTENSION crm_core;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'b');
    INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
        (1, 1, 'cash', 'Cash', 'asset', 'EUR'), (2, 1, 'fees', 'Fees', 'income', 'EUR'),
        (3, 1, 'sales', 'Sales', 'income', 'EUR'), (4, 1, 'misc', 'Misc', 'income', 'EUR');
$$);

-- Races with a second session (REPEATABLE READ snapshots that predate a period's or an
-- account's closing, a draft's lines or an account's lines; a currency change waiting for a
-- posting in flight): tests/isolation/specs/ledger_races.spec.

-- An account's currency changes only while it has no lines.
SELECT dblink_exec('poster', 'INSERT INTO crm_core.journal_entry (id, business_id) VALUES (4, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 4, 1, 5, NULL), (1, 4, 4, NULL, 5)');
SELECT throws_ok($$SELECT dblink_exec('closer', $q$UPDATE crm_core.account SET currency = 'USD' WHERE id = 4$q$)$$,
                 '55000', 'account misc (id 4) has journal lines: its business, id and currency cannot change',
                 'an account with committed lines keeps its currency');
SELECT is((SELECT n FROM dblink('poster', $$SELECT count(*) FROM crm_core.unbalanced_entries()$$) AS t(n bigint)),
          0::bigint, 'every posted entry still balances in its accounts'' currencies');

-- Phantom entries (issue 10, items 1 and 2): INSERT ... ON CONFLICT DO NOTHING of an entry
-- that exists inserts nothing, so nothing may be remembered about it; lines for it are lines
-- for the entry already posted. As the application role.
SELECT dblink_exec('poster', $$DO 'BEGIN PERFORM crm_core.grant_business(''crm_core_app'', 1); END'$$);
SELECT dblink_exec('poster', $$SET crm_core.business_id = '1'$$);
SELECT dblink_exec('poster', 'SET ROLE crm_core_app');
SELECT throws_ok($$SELECT dblink_exec('poster', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (business_id, id, status) VALUES (1, 4, ''draft'') ON CONFLICT DO NOTHING;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 4, 1, 1000000);
    COMMIT')$$, '55000', 'journal entry 4 is already posted; lines cannot be added to it',
    'app role: a phantom draft does not open a posted entry to an unbalancing line');
SELECT dblink_exec('poster', 'ROLLBACK');
SELECT dblink_exec('closer', $$INSERT INTO crm_core.fiscal_period (business_id, name, starts_on, ends_on, closed_at)
                                VALUES (1, 'this year', date_trunc('year', now()), date_trunc('year', now()) + interval '1 year - 1 day', now())$$);
SELECT throws_ok($$SELECT dblink_exec('poster', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (business_id, id, effective_date) VALUES (1, 4, ''2000-01-01'') ON CONFLICT DO NOTHING;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 4, 1, 7, NULL), (1, 4, 3, NULL, 7);
    COMMIT')$$, '55000', 'journal entry 4 is already posted; lines cannot be added to it',
    'app role: a phantom posted entry dated in an open period adds no lines to a posted entry of a closed period');
SELECT dblink_exec('poster', 'ROLLBACK');
SELECT throws_ok($$SELECT dblink_exec('poster', '
    BEGIN;
    INSERT INTO crm_core.journal_entry (business_id, id, effective_date) VALUES (1, 6, ''2000-01-01'');
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 6, 1, 100);
    INSERT INTO crm_core.journal_entry (business_id, id, status) VALUES (1, 6, ''draft'') ON CONFLICT DO NOTHING;
    COMMIT')$$, '23514', 'journal entry 6 has 1 line(s); a posted entry needs at least two',
    'app role: a phantom draft of an entry this transaction posted does not excuse it from the check');
SELECT dblink_exec('poster', 'ROLLBACK');
SELECT dblink_exec('poster', 'RESET ROLE');
SELECT dblink_exec('poster', 'RESET crm_core.business_id');
SELECT is((SELECT n FROM dblink('poster', $$SELECT count(*) FROM crm_core.unbalanced_entries()$$) AS t(n bigint)),
          0::bigint, 'after the phantom attempts no posted entry is unbalanced');
SELECT is((SELECT n FROM dblink('poster', $$SELECT count(*) FROM crm_core.check_balances()$$) AS t(n bigint)),
          0::bigint, 'and balances equal the posted lines');

SELECT is((SELECT n FROM dblink('poster', 'SELECT 1') AS t(n int)), 1, 'the poster session is still usable');
SELECT is((SELECT n FROM dblink('poster', $$SELECT count(*) FROM crm_core.journal_entry WHERE status = 'posted'$$) AS t(n bigint)),
          1::bigint, 'only the valid posting was posted');

SELECT dblink_disconnect('poster');
SELECT dblink_disconnect('closer');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

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
-- A rollup never adds two currencies (issue 10, item 21).
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency, parent_id) VALUES
    (9500101, 9500001, 'banks', 'Banks', 'asset', 'EUR', NULL),
    (9500102, 9500001, 'bank-usd', 'Bank USD', 'asset', 'USD', 9500101),
    (9500103, 9500001, 'bank-eur', 'Bank EUR', 'asset', 'EUR', 9500101);
SELECT throws_ok('SELECT crm_core.account_rollup_balance(9500101)', '22023',
                 'account banks (id 9500101) and its descendants hold more than one currency (EUR, USD)',
                 'account_rollup_balance refuses to add EUR and USD');
SELECT is(crm_core.account_rollup_balance(9500103), 0::numeric, 'a one-currency subtree still rolls up');
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
SELECT throws_ok('DROP TRIGGER journal_entry_balanced ON crm_core.journal_entry', '42501', 'dropping journal_entry_balanced on crm_core.journal_entry is refused',
                 'owner: dropping the commit check is refused');
SELECT throws_ok('ALTER TABLE crm_core.journal_line DROP CONSTRAINT journal_line_amount_valid', '42501', 'dropping journal_line_amount_valid on crm_core.journal_line is refused',
                 'owner: dropping a line constraint is refused');
SELECT throws_ok('CREATE RULE skip AS ON INSERT TO crm_core.journal_line WHERE NEW.debit > 100 DO INSTEAD NOTHING',
                 '42501', 'changing ledger table crm_core.journal_line is refused', 'owner: a rule that silently drops lines is refused');
SELECT throws_ok($$ALTER TABLE crm_core.journal_entry ALTER COLUMN status SET DEFAULT 'draft'$$, '42501', 'changing ledger table crm_core.journal_entry is refused',
                 'owner: changing a documented default is refused');
SELECT throws_ok('CREATE TRIGGER skip BEFORE INSERT ON crm_core.journal_line FOR EACH ROW
                  EXECUTE FUNCTION suppress_redundant_updates_trigger()', '42501', 'changing ledger table crm_core.journal_line is refused',
                 'owner: a trigger of its own on the ledger is refused');
SELECT throws_ok('ALTER TABLE crm_core.journal_line DISABLE TRIGGER crm_core_guard_replica_insert', '42501',
                 'crm_core trigger crm_core_guard_replica_insert on crm_core.journal_line must stay enabled and named as crm_core made it',
                 'owner: disabling the lines'' replica-mode guard is refused');
SELECT throws_ok('ALTER TABLE crm_core.journal_line ENABLE TRIGGER crm_core_guard_replica_insert', '42501',
                 'crm_core trigger crm_core_guard_replica_insert on crm_core.journal_line must stay enabled and named as crm_core made it',
                 'owner: making it origin-only (skipped in replica mode, where it refuses) is refused');
SELECT throws_ok('DROP TRIGGER crm_core_guard_replica_insert ON crm_core.journal_line', '42501',
                 'dropping crm_core_guard_replica_insert on crm_core.journal_line is refused',
                 'owner: dropping it is refused');
SELECT throws_ok('DROP INDEX crm_core.journal_entry_reversed_once', '42501', 'dropping crm_core.journal_entry_reversed_once is refused',
                 'owner: dropping the index that keeps an entry reversed once is refused');
SELECT throws_ok('DROP INDEX crm_core.journal_entry_idempotency_key_unique', '42501', 'dropping crm_core.journal_entry_idempotency_key_unique is refused',
                 'owner: dropping the index that keeps idempotency keys unique is refused');
-- Refused before it starts: CONCURRENTLY commits the index's invalidation before sql_drop
-- (outside a transaction block it would leave the rule unenforced; here PostgreSQL would
-- otherwise refuse it for the transaction block).
SELECT throws_ok('DROP INDEX CONCURRENTLY crm_core.journal_entry_reversed_once', '42501', 'dropping crm_core.journal_entry_reversed_once is refused',
                 'owner: dropping it concurrently is refused before anything runs');
SELECT throws_ok('ALTER INDEX crm_core.journal_entry_idempotency_key_unique SET (fillfactor = 50)', '42501', 'changing ledger table crm_core.journal_entry is refused',
                 'owner: changing a ledger table''s unique index is refused');
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

-- An account or a business whose insert rolled back does not stay in this backend's caches
-- (no foreign key would catch a line naming it).
SAVEPOINT ghost;
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
VALUES (9500199, 9500001, 'ghost', 'Ghost', 'asset', 'EUR');
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9500198, 9500001, 'draft');
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (9500001, 9500198, 9500199, 1);
INSERT INTO crm_core.business (id, name) VALUES (9500197, 'ghost business');
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9500196, 9500197, 'draft');
ROLLBACK TO SAVEPOINT ghost;
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9500195, 9500001, 'draft');
                   INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (9500001, 9500195, 9500199, 1)$$,
                 '23503', 'account 9500199 does not exist in business 9500001',
                 'an account whose insert rolled back is gone from the cache');
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9500194, 9500197, 'draft')$$,
                 '23503', 'business 9500197 does not exist',
                 'so is a business whose insert rolled back');

SELECT * FROM finish();
ROLLBACK;
