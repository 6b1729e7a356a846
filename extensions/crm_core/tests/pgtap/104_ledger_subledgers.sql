-- Subledgers: a line names what it belongs to within its account (a loan), subledger_balance()
-- reads one subledger exactly, now or at a past moment, reversals and idempotent retries keep
-- the subledger, and check_balances() proves every subledger sum.
BEGIN;
SELECT plan(31);

INSERT INTO crm_core.business (id, name) VALUES (9401, 'lender'), (9402, 'other lender');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (9411, 9401, '1200', 'Loans receivable', 'asset', 'EUR'),
    (9412, 9401, '1000', 'Cash', 'asset', 'EUR'),
    (9413, 9401, '2100', 'Customer wallets', 'liability', 'EUR'),
    -- an id two businesses share (explicit ids)
    (9414, 9401, '1300', 'Shared id', 'asset', 'EUR'),
    (9414, 9402, '1300', 'Shared id', 'asset', 'EUR');

SELECT has_column('crm_core', 'journal_line', 'subledger', 'journal_line has a subledger column');
SELECT col_type_is('crm_core', 'journal_line', 'subledger', 'bigint', 'subledger is a bigint');
SELECT col_is_null('crm_core', 'journal_line', 'subledger', 'subledger is optional (NULL = none)');
SELECT is((SELECT attname::text FROM pg_attribute
           WHERE attrelid = 'crm_core.journal_line'::regclass AND attnum > 0 AND NOT attisdropped
           ORDER BY attnum DESC LIMIT 1), 'subledger',
          'subledger is the last column (an upgraded table has the same shape)');

-- Disbursements: loan 501 gets 1000, loan 502 gets 300; cash pays out.
SELECT lives_ok($$SELECT crm_core.post_entry(9401,
    '[{"account_id": 9411, "debit": 1000, "subledger": 501},
      {"account_id": 9411, "debit": 300, "subledger": 502},
      {"account_id": 9412, "credit": 1300}]')$$, 'post_entry takes a subledger per line');
SELECT is((SELECT array_agg(subledger ORDER BY subledger) FROM crm_core.journal_line
           WHERE business_id = 9401 AND account_id = 9411), ARRAY[501, 502]::bigint[],
          'the lines carry their subledgers');
SELECT is(crm_core.subledger_balance(9411, 501), 1000::numeric, 'loan 501 owes 1000');
SELECT is(crm_core.subledger_balance(9411, 502), 300::numeric, 'loan 502 owes 300');
SELECT is(crm_core.subledger_balance(9411, 503), 0::numeric, 'a subledger without lines is 0');
SELECT is(crm_core.subledger_balance(9412, 501), 0::numeric, 'a subledger belongs to its account only');
SELECT is(crm_core.account_balance(9411), 1300::numeric,
          'the account balance is the sum of its subledgers');

-- A repayment in plain SQL: 250 from loan 501 through a customer wallet (credit side).
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (9421, 9401);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger) VALUES
    (9401, 9421, 9412, 250, NULL, NULL),
    (9401, 9421, 9413, NULL, 250, 501),
    (9401, 9421, 9413, 250, NULL, 501),
    (9401, 9421, 9411, NULL, 250, 501);
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(crm_core.subledger_balance(9411, 501), 750::numeric, 'a repayment reduces the loan');
SELECT is(crm_core.subledger_balance(9413, 501), 0::numeric,
          'a credit-side account reads its subledger in its normal side');
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (9422, 9401);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger) VALUES
    (9401, 9422, 9412, 40, NULL, NULL), (9401, 9422, 9413, NULL, 40, 501);
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(crm_core.subledger_balance(9413, 501), 40::numeric,
          'a liability subledger grows with credits (the customer holds 40 in the wallet)');

-- Drafts count nowhere until posted.
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (9423, 9401, 'draft');
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger) VALUES
    (9401, 9423, 9411, 5, NULL, 502), (9401, 9423, 9412, NULL, 5, NULL);
SELECT is(crm_core.subledger_balance(9411, 502), 300::numeric, 'a draft''s lines are not counted');
UPDATE crm_core.journal_line SET subledger = 501 WHERE business_id = 9401 AND entry_id = 9423
                                                   AND subledger = 502;
SELECT is(crm_core.subledger_balance(9411, 501), 750::numeric, 'a draft line may change subledger');
UPDATE crm_core.journal_entry SET status = 'posted' WHERE business_id = 9401 AND id = 9423;
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(crm_core.subledger_balance(9411, 501), 755::numeric, 'a posted draft counts in its subledger');
SELECT throws_ok($$UPDATE crm_core.journal_line SET subledger = 502
                   WHERE business_id = 9401 AND entry_id = 9423 AND subledger = 501$$,
                 '55000', 'UPDATE on crm_core.journal_line is refused: lines of posted journal entries are append-only',
                 'a posted line keeps its subledger');

-- The past: a balance at a moment before the postings was 0.
SELECT is(crm_core.subledger_balance(9411, 501, now()), 755::numeric,
          'subledger_balance at now() counts the entries posted so far');
SELECT is(crm_core.subledger_balance(9411, 501, now() - interval '1 second'), 0::numeric,
          'and before them, nothing');

-- Reversals keep each line in its subledger.
SELECT lives_ok($$SELECT crm_core.reverse_entry(9423, 'wrong loan')$$, 'reversing an entry');
SELECT is((SELECT array_agg(l.subledger ORDER BY l.id) FROM crm_core.journal_line l
           JOIN crm_core.journal_entry e ON e.business_id = l.business_id AND e.id = l.entry_id
           WHERE e.reverses_entry_id = 9423), ARRAY[501, NULL]::bigint[],
          'the reversal''s lines carry the original subledgers');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(crm_core.subledger_balance(9411, 501), 750::numeric, 'the reversal undoes the subledger');

-- Idempotent retries compare subledgers too.
SELECT is(crm_core.post_entry(9401, '[{"account_id": 9411, "debit": 7, "subledger": 502},
                                      {"account_id": 9412, "credit": 7}]', idempotency_key => 'fee-502'),
          crm_core.post_entry(9401, '[{"account_id": 9412, "credit": 7},
                                      {"account_id": 9411, "debit": 7, "subledger": 502}]', idempotency_key => 'fee-502'),
          'a retry with the same subledgers returns the same entry');
SELECT throws_ok($$SELECT crm_core.post_entry(9401, '[{"account_id": 9411, "debit": 7, "subledger": 501},
                                                    {"account_id": 9412, "credit": 7}]', idempotency_key => 'fee-502')$$,
                 '23505',
                 format('idempotency key fee-502 of business 9401 was already used by entry %s with other content',
                        (SELECT id FROM crm_core.journal_entry WHERE business_id = 9401
                                                                 AND idempotency_key = 'fee-502')),
                 'the same key with another subledger is refused');

-- Unknown inputs.
SELECT is(crm_core.subledger_balance(9499, 501), NULL, 'an unknown account has no subledger balance');
SELECT is(crm_core.subledger_balance(9411, NULL), NULL, 'a NULL subledger has no balance');
SELECT throws_ok('SELECT crm_core.subledger_balance(9414, 1)', '21000',
                 'more than one row returned by a subquery used as an expression',
                 'subledger_balance refuses an account id two businesses share');

-- check_balances() proves every subledger sum. It keeps its four 0.1.0 columns first.
SELECT is((SELECT array_agg(p ORDER BY o) FROM pg_proc f,
           unnest(f.proargnames, f.proargmodes) WITH ORDINALITY AS a(p, m, o)
           WHERE f.oid = 'crm_core.check_balances()'::regprocedure AND m = 't'),
          ARRAY['business_id', 'account_id', 'stored', 'computed', 'subledger']::text[],
          'check_balances() returns the 0.1.0 columns, then the subledger');
SELECT is_empty('SELECT * FROM crm_core.check_balances()', 'every subledger sum is proven');
-- Simulated corruption (superuser only, rolled back with the test): the index subledger_balance
-- reads stops taking new lines, so the next line is in the table but not in the index.
UPDATE pg_index SET indisready = false WHERE indexrelid = 'crm_core.journal_line_account_idx'::regclass;
SELECT crm_core.post_entry(9401, '[{"account_id": 9411, "debit": 11, "subledger": 502},
                                   {"account_id": 9412, "credit": 11}]');
UPDATE pg_index SET indisready = true WHERE indexrelid = 'crm_core.journal_line_account_idx'::regclass;
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT results_eq('SELECT business_id, account_id, stored, computed, subledger FROM crm_core.check_balances()',
                  $$VALUES (9401::bigint, 9411::bigint, 307::numeric, 318::numeric, 502::bigint)$$,
                  'a line missing from the subledger index is reported with its subledger');

SELECT * FROM finish();
ROLLBACK;
