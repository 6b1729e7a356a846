-- Ledger rules in one session: every bad input refused with its SQLSTATE and message, balances kept,
-- drafts, reversals, idempotency, periods, overdraft rules, point-in-time and rollup balances.
-- Commit-time checks run here through SET CONSTRAINTS ALL IMMEDIATE; 101_ledger_commit.sql
-- proves them with real commits.
BEGIN;
SELECT plan(78);

-- Posts lines (JSON) for business 9001 and runs the deferred checks now.
CREATE FUNCTION pg_temp.post(lines text, effective date DEFAULT CURRENT_DATE) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    id := crm_core.post_entry(9001, lines::jsonb, effective_date => effective);
    SET CONSTRAINTS ALL IMMEDIATE;
    SET CONSTRAINTS ALL DEFERRED;
    RETURN id;
END $$;

-- The id the next entry will get (messages name the entry).
CREATE FUNCTION pg_temp.next_entry_id() RETURNS bigint LANGUAGE sql AS $$
    SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END
    FROM crm_core.journal_entry_id_seq
$$;

INSERT INTO crm_core.business (id, name) VALUES (9001, 'acme'), (9002, 'other');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency, parent_id, overdraft, closed_at)
VALUES (9101, 9001, '1000', 'Cash', 'asset', 'EUR', NULL, 'none', NULL),
       (9102, 9001, '4000', 'Sales', 'income', 'EUR', NULL, 'none', NULL),
       (9103, 9001, '1100', 'Cash USD', 'asset', 'USD', NULL, 'none', NULL),
       (9104, 9001, '4100', 'Sales USD', 'income', 'USD', NULL, 'none', NULL),
       (9105, 9001, '1900', 'Old bank', 'asset', 'EUR', NULL, 'none', now()),
       (9106, 9001, '1010', 'Wallet', 'asset', 'EUR', NULL, 'debits_must_not_exceed_credits', NULL),
       (9107, 9001, '1001', 'Cash desk A', 'asset', 'EUR', 9101, 'none', NULL),
       (9108, 9001, '1002', 'Cash desk B', 'asset', 'EUR', 9101, 'none', NULL),
       (9201, 9002, '1000', 'Cash', 'asset', 'EUR', NULL, 'none', NULL);

SELECT has_table('crm_core', 'journal_entry', 'journal_entry exists');
SELECT has_table('crm_core', 'journal_line', 'journal_line exists');
SELECT col_is_pk('crm_core', 'journal_line', ARRAY['business_id', 'id'], 'lines key on business_id');
SELECT is((SELECT normal_side FROM crm_core.account WHERE id = 9102), 'credit',
          'an income account has a credit normal balance');
SELECT throws_ok($$INSERT INTO crm_core.account (business_id, code, name, kind, currency)
                   VALUES (9001, 'X', 'x', 'asset', 'euro')$$, '23514', 'new row for relation "account" violates check constraint "account_currency_iso_or_unit"',
                 'a currency that is not an ISO code is refused');

-- Plain SQL with only the public columns; status defaults to posted.
SELECT lives_ok($$
    WITH e AS (INSERT INTO crm_core.journal_entry (id, business_id) VALUES (9501, 9001) RETURNING id)
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    SELECT 9001, e.id, 9101, 100, NULL FROM e
    UNION ALL SELECT 9001, e.id, 9102, 0, 100 FROM e;
    SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
    'a balanced entry inserted with plain SQL passes (other side NULL or 0)');
SELECT is((SELECT status FROM crm_core.journal_entry WHERE id = 9501), 'posted',
          'an entry inserted without a status is posted');
SELECT ok((SELECT posted_at IS NOT NULL AND posted_txid IS NOT NULL
           FROM crm_core.journal_entry WHERE id = 9501), 'a posted entry is stamped');
SELECT is(crm_core.account_balance(9101), 100::numeric, 'cash balance kept (debit side)');
SELECT is(crm_core.account_balance(9102), 100::numeric, 'sales balance kept (credit side)');
SELECT is(crm_core.account_balance(9101, now()), 100::numeric, 'balance at now() from lines');
SELECT is(crm_core.account_balance(9101, now() - interval '1 second'), 0::numeric,
          'balance before the posting was zero');

-- Every bad input: clear error, its SQLSTATE, nothing kept.
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":100},{"account_id":9102,"credit":90}]')$$,
                 '23514', format('journal entry %s does not balance in EUR: debits 100, credits 90', pg_temp.next_entry_id()), 'unbalanced entry refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":100}]')$$,
                 '23514', format('journal entry %s has 1 line(s); a posted entry needs at least two', pg_temp.next_entry_id()), 'a single line is refused');
SELECT throws_ok($$SELECT pg_temp.post('[]')$$, '23514', format('journal entry %s has 0 line(s); a posted entry needs at least two', pg_temp.next_entry_id()), 'an entry without lines is refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":0},{"account_id":9102,"credit":0}]')$$,
                 '23514', 'journal line needs an amount: debit 0, credit NULL', 'zero amounts refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":-5},{"account_id":9102,"credit":-5}]')$$,
                 '23514', 'journal line amounts must not be negative: debit -5, credit NULL', 'negative amounts refused');
SELECT throws_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                   VALUES (9001, 9501, 9101, 'NaN')$$, '23514', 'journal line amounts must be numbers: debit NaN, credit NULL', 'a NaN amount is refused');
SELECT throws_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit)
                   VALUES (9001, 9501, 9101, 'Infinity')$$, '23514', 'journal line amounts must be numbers: debit NULL, credit Infinity', 'an infinite amount is refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101},{"account_id":9102}]')$$,
                 '23514', 'journal line needs an amount: debit NULL, credit NULL', 'NULL amounts refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":5,"credit":5},{"account_id":9102,"credit":5}]')$$,
                 '23514', 'journal line carries its amount on one side: debit 5, credit 5', 'debit and credit on one line refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":5,"currency":"USD"},{"account_id":9102,"credit":5}]')$$,
                 '23514', 'journal line currency USD differs from account 1000''s currency EUR', 'a line currency other than the account''s refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":5},{"account_id":9999,"credit":5}]')$$,
                 '23503', 'account 9999 does not exist in business 9001', 'an unknown account refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":5},{"account_id":9201,"credit":5}]')$$,
                 '23503', 'account 9201 does not exist in business 9001', 'another business''s account refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9105,"debit":5},{"account_id":9102,"credit":5}]')$$,
                 '55000', 'account 1900 (id 9105) is closed', 'a closed account refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":5},{"account_id":9104,"credit":5}]')$$,
                 '23514', format('journal entry %s does not balance in EUR: debits 5, credits 0', pg_temp.next_entry_id()), 'debits in EUR and credits in USD do not balance');
SELECT lives_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":5},{"account_id":9102,"credit":5},
                                        {"account_id":9103,"debit":7},{"account_id":9104,"credit":7}]')$$,
                'an entry balanced per currency passes');
SELECT is(crm_core.account_balance(9101), 105::numeric, 'refused postings left no trace in balances');

-- Closed fiscal periods.
INSERT INTO crm_core.fiscal_period (business_id, name, starts_on, ends_on, closed_at)
VALUES (9001, 'FY2020', '2020-01-01', '2020-12-31', now());
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":5},{"account_id":9102,"credit":5}]', '2020-06-30')$$,
                 '55000', format('journal entry %s is dated 2020-06-30, inside a closed fiscal period (2020-01-01 to 2020-12-31)', pg_temp.next_entry_id()), 'posting into a closed period refused');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":5},{"account_id":9102,"credit":5}]', '2020-12-31')$$,
                 '55000', format('journal entry %s is dated 2020-12-31, inside a closed fiscal period (2020-01-01 to 2020-12-31)', pg_temp.next_entry_id()), 'the last day of a closed period is inside it');
SELECT lives_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":5},{"account_id":9102,"credit":5}]', '2021-01-01')$$,
                'the day after a closed period is open');
UPDATE crm_core.fiscal_period SET closed_at = NULL WHERE business_id = 9001;
SELECT lives_ok($$SELECT pg_temp.post('[{"account_id":9101,"debit":1},{"account_id":9102,"credit":1}]', '2020-06-30')$$,
                'a reopened period takes postings again (cache invalidated)');

-- Overdraft rule: the wallet's debits may not exceed its credits.
SELECT lives_ok($$SELECT pg_temp.post('[{"account_id":9106,"credit":50},{"account_id":9101,"debit":50}]')$$,
                'funding a ruled account passes');
SELECT throws_ok($$SELECT pg_temp.post('[{"account_id":9106,"debit":60},{"account_id":9101,"credit":60}]')$$,
                 '23514', 'account 1010 (id 9106) would have debits 60 exceeding credits 50', 'overdrawing it is refused');
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE;
    WITH e AS (INSERT INTO crm_core.journal_entry (business_id) VALUES (9001) RETURNING id)
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    SELECT 9001, e.id, 9106, 60, NULL FROM e UNION ALL SELECT 9001, e.id, 9101, NULL, 60 FROM e$$,
    '23514', 'account 1010 (id 9106) would have debits 60 exceeding credits 50', 'with IMMEDIATE constraints the overdraft is refused at the end of the statement');
SELECT lives_ok($$SET CONSTRAINTS ALL IMMEDIATE;
    WITH e AS (INSERT INTO crm_core.journal_entry (business_id) VALUES (9001) RETURNING id)
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    SELECT 9001, e.id, 9106, 20, NULL FROM e UNION ALL SELECT 9001, e.id, 9101, NULL, 20 FROM e;
    SET CONSTRAINTS ALL DEFERRED$$,
    'and an entry written in one IMMEDIATE statement is checked after its lines are counted');
SELECT lives_ok($$SELECT pg_temp.post('[{"account_id":9106,"debit":30},{"account_id":9101,"credit":30}]')$$,
                'spending exactly what it holds passes');

-- Drafts: editable, not counted; posting them counts and checks them.
SELECT lives_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9601, 9001, 'draft');
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (9001, 9601, 9101, 30);
    SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
    'an unbalanced draft is allowed');
SELECT ok((SELECT posted_at IS NULL FROM crm_core.journal_entry WHERE id = 9601), 'a draft has no posted_at');
SELECT is(crm_core.account_balance(9101), 111::numeric, 'draft lines are not counted');
SELECT lives_ok($$UPDATE crm_core.journal_line SET debit = 40 WHERE entry_id = 9601$$,
                'draft lines are editable');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET status = 'posted' WHERE id = 9601;
                   SET CONSTRAINTS ALL IMMEDIATE$$, '23514', 'journal entry 9601 has 1 line(s); a posted entry needs at least two', 'posting an unbalanced draft is refused');
SELECT lives_ok($$
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (9001, 9601, 9102, 40);
    UPDATE crm_core.journal_entry SET status = 'posted' WHERE id = 9601;
    SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
    'posting a balanced draft passes');
SELECT is(crm_core.account_balance(9101), 151::numeric, 'a posted draft is counted');
SELECT ok((SELECT posted_at IS NOT NULL FROM crm_core.journal_entry WHERE id = 9601), 'and stamped');

-- Posted means immutable from the first moment: not even the inserting transaction removes it.
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (id, business_id) VALUES (9603, 9001);
                   DELETE FROM crm_core.journal_entry WHERE id = 9603$$,
                 '55000', 'DELETE on crm_core.journal_entry is refused: posted journal entries are append-only', 'a posted entry cannot be deleted, even by the transaction that inserted it');
SELECT lives_ok($$INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9603, 9001, 'draft');
                  DELETE FROM crm_core.journal_entry WHERE id = 9603;
                  SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
                'a draft inserted and deleted in the same transaction needs no lines');

-- Posted entries do not change.
SELECT throws_ok($$UPDATE crm_core.journal_line SET debit = 41 WHERE entry_id = 9601 AND debit IS NOT NULL$$,
                 '55000', 'UPDATE on crm_core.journal_line is refused: lines of posted journal entries are append-only', 'a posted line cannot be updated');
SELECT throws_ok($$DELETE FROM crm_core.journal_line WHERE entry_id = 9601$$,
                 '55000', 'DELETE on crm_core.journal_line is refused: lines of posted journal entries are append-only', 'a posted line cannot be deleted');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET status = 'draft' WHERE id = 9601$$,
                 '55000', 'UPDATE on crm_core.journal_entry is refused: posted journal entries are append-only', 'a posted entry cannot go back to draft');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET effective_date = '2021-01-01' WHERE id = 9601$$,
                 '55000', 'UPDATE on crm_core.journal_entry is refused: posted journal entries are append-only', 'a posted entry cannot be redated');
SELECT throws_ok($$UPDATE crm_core.account SET currency = 'USD' WHERE id = 9101$$,
                 '55000', 'account 1000 (id 9101) has journal lines: its business, id and currency cannot change', 'an account with lines keeps its currency');

-- No line moves into a posted entry, not even one this transaction posted (no trigger would
-- count it).
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9604, 9001, 'draft');
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (9001, 9604, 9101, 2);
SELECT throws_ok($$UPDATE crm_core.journal_line SET entry_id = 9601 WHERE entry_id = 9604$$,
                 '55000', 'UPDATE on crm_core.journal_line is refused: lines of posted journal entries are append-only',
                 'a draft line cannot move into a posted entry');
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (id, business_id) VALUES (9605, 9001);
                   UPDATE crm_core.journal_line SET entry_id = 9605 WHERE entry_id = 9604$$,
                 '55000', 'UPDATE on crm_core.journal_line is refused: lines of posted journal entries are append-only',
                 'nor into an entry posted by this transaction');

-- Reversals.
SELECT isnt(crm_core.reverse_entry(9601, 'typo'), NULL, 'reverse_entry returns the reversal');
SELECT is((SELECT memo FROM crm_core.journal_entry WHERE reverses_entry_id = 9601), 'typo',
          'the reversal is linked to the original');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(crm_core.account_balance(9101), 111::numeric, 'the reversal undoes the balances');
SELECT throws_ok($$SELECT crm_core.reverse_entry(9601)$$, '23505', format('journal entry 9601 is already reversed by entry %s', (SELECT id FROM crm_core.journal_entry WHERE business_id = 9001 AND reverses_entry_id = 9601)), 'an entry is reversed at most once');
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9602, 9001, 'draft');
SELECT throws_ok($$SELECT crm_core.reverse_entry(9602)$$, '55000', 'journal entry 9602 is a draft; only posted entries are reversed', 'a draft cannot be reversed');

-- The rules of the entry row itself, whatever SQL writes it.
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id, status) VALUES (9001, 'void')$$,
                 '23514', 'journal entry status must be draft or posted, not void',
                 'an entry is a draft or posted');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET reverses_entry_id = 9602 WHERE id = 9602$$,
                 '23514', 'journal entry 9602 cannot reverse itself',
                 'an entry does not reverse itself');
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id, status, reverses_entry_id) VALUES (9001, 'draft', 9601)$$,
                 '23505', 'duplicate key value violates unique constraint "journal_entry_reversed_once"',
                 'nor is an entry reversed twice by plain SQL');
-- What each posting writes: the key (id first, so lookups by id alone use it) and the posting
-- transaction (seals); the idempotency index only for entries with a key, the reversal index
-- only for reversals.
SELECT col_is_pk('crm_core', 'journal_entry', ARRAY['id', 'business_id'], 'entries key on id first');
SELECT is((SELECT array_agg(indexrelid::regclass::text || coalesce(' WHERE ' || pg_get_expr(indpred, indrelid), '')
                            ORDER BY indexrelid::regclass::text)
           FROM pg_index WHERE indrelid = 'crm_core.journal_entry'::regclass),
          ARRAY['crm_core.journal_entry_idempotency_key_unique WHERE (idempotency_key IS NOT NULL)', 'crm_core.journal_entry_pkey',
                'crm_core.journal_entry_posted_txid_idx WHERE (status = ''posted''::text)',
                'crm_core.journal_entry_reversed_once WHERE (reverses_entry_id IS NOT NULL)'],
          'an entry is indexed by its key and posting transaction; only keyed entries by the idempotency index, only reversals by the reversal index');

-- Idempotency keys.
SELECT is(crm_core.post_entry(9001, '[{"account_id":9101,"debit":3},{"account_id":9102,"credit":3}]',
                              idempotency_key => 'pay-1'),
          crm_core.post_entry(9001, '[{"account_id":9102,"credit":3.00},{"account_id":9101,"debit":3}]',
                              idempotency_key => 'pay-1'),
          'a retry with the same key and content returns the same entry');
SELECT throws_ok($$SELECT crm_core.post_entry(9001, '[{"account_id":9101,"debit":4},{"account_id":9102,"credit":4}]',
                                              idempotency_key => 'pay-1')$$,
                 '23505', format('idempotency key pay-1 of business 9001 was already used by entry %s with other content', (SELECT id FROM crm_core.journal_entry WHERE business_id = 9001 AND idempotency_key = 'pay-1')), 'the same key with other content is refused');
SELECT lives_ok($$SELECT crm_core.post_entry(9002, '[{"account_id":9201,"debit":4},{"account_id":9201,"credit":4}]',
                                             idempotency_key => 'pay-1')$$,
                'keys are unique per business');
-- The same rule for plain SQL: a second entry with the key is refused by the partial index,
-- which an application's ON CONFLICT names by its columns and predicate; entries without a key
-- never conflict.
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id, status, idempotency_key) VALUES (9001, 'draft', 'pay-1')$$,
                 '23505', 'duplicate key value violates unique constraint "journal_entry_idempotency_key_unique"',
                 'plain SQL cannot reuse a key of the business');
SELECT is_empty($$INSERT INTO crm_core.journal_entry (business_id, status, idempotency_key) VALUES (9001, 'draft', 'pay-1')
                  ON CONFLICT (business_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id$$,
                'ON CONFLICT on the key columns and predicate skips a reused key');
SELECT is((SELECT count(*) FROM (
              SELECT crm_core.post_entry(9001, '[{"account_id":9101,"debit":0.5},{"account_id":9102,"credit":0.5}]')
              FROM generate_series(1, 2)) AS posted), 2::bigint,
          'entries without a key are never the same entry');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(crm_core.account_balance(9101), 115::numeric, 'the retry counted once');

-- An application role with the documented grants posts; it cannot write balances itself.
CREATE ROLE crm_core_ledger_test_app;
GRANT USAGE ON SCHEMA crm_core TO crm_core_ledger_test_app;
GRANT INSERT, SELECT, UPDATE ON crm_core.journal_entry, crm_core.journal_line TO crm_core_ledger_test_app;
GRANT SELECT ON crm_core.account, crm_core.fiscal_period, crm_core.account_balance_slot
    TO crm_core_ledger_test_app;
SELECT crm_core.grant_business('crm_core_ledger_test_app', 9001);
SET LOCAL crm_core.business_id = '9001';
SET ROLE crm_core_ledger_test_app;
SELECT lives_ok($$
    WITH e AS (INSERT INTO crm_core.journal_entry (business_id) VALUES (9001) RETURNING id)
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    SELECT 9001, e.id, 9101, 1, NULL FROM e UNION ALL SELECT 9001, e.id, 9102, NULL, 1 FROM e;
    SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
    'an application role posts with plain SQL (balances written by the extension owner)');
SELECT throws_ok($$UPDATE crm_core.account_balance_slot SET debits = 0$$, '42501', 'permission denied for table account_balance_slot',
                 'but cannot write the balance slots');
RESET ROLE;
RESET crm_core.business_id;
SELECT is(crm_core.account_balance(9101), 116::numeric, 'its posting is counted');

-- Rollups and the global checks.
SELECT lives_ok($$SELECT pg_temp.post('[{"account_id":9107,"debit":10},{"account_id":9108,"debit":5},
                                        {"account_id":9102,"credit":15}]')$$, 'posting to child accounts');
SELECT is(crm_core.account_rollup_balance(9101), 131::numeric, 'a parent rolls up its children');
SELECT is_empty('SELECT * FROM crm_core.check_balances()', 'kept balances equal the lines');
SELECT is_empty('SELECT * FROM crm_core.unbalanced_entries()', 'no posted entry is unbalanced');

SELECT * FROM finish();
ROLLBACK;
