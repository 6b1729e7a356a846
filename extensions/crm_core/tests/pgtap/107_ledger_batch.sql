-- crm_core.post_entries(): many entries of one business in one call.
-- Commit-time checks run here through SET CONSTRAINTS ALL IMMEDIATE (see 100_ledger.sql).
BEGIN;
SELECT plan(9);

INSERT INTO crm_core.business (id, name) VALUES (9481, 'batch');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (9491, 9481, '1000', 'Cash', 'asset', 'EUR'),
    (9492, 9481, '4000', 'Sales', 'income', 'EUR');

CREATE TEMP TABLE posted AS
SELECT * FROM crm_core.post_entries(9481, $$[
    {"lines": [{"account_id": 9491, "debit": 10}, {"account_id": 9492, "credit": 10}], "memo": "first"},
    {"lines": [{"account_id": 9491, "debit": 20}, {"account_id": 9492, "credit": 20}],
     "idempotency_key": "batch-key"},
    {"lines": [{"account_id": 9491, "debit": 30}, {"account_id": 9492, "credit": 30}],
     "memo": "third", "effective_date": "2026-01-31"}
]$$);
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED', 'a batch of balanced entries is posted');

SELECT results_eq('SELECT "position" FROM posted ORDER BY 1', ARRAY[1, 2, 3]::bigint[],
                  'each entry of the array comes back by its position');
SELECT results_eq($$SELECT p."position", sum(l.debit)
                    FROM posted p JOIN crm_core.journal_line l ON l.business_id = 9481 AND l.entry_id = p.entry_id
                    GROUP BY 1 ORDER BY 1$$,
                  $$VALUES (1::bigint, 10::numeric), (2, 20), (3, 30)$$,
                  'each returned id is the entry posted with the lines at that position');
SELECT results_eq($$SELECT e.memo, e.effective_date FROM posted p
                    JOIN crm_core.journal_entry e ON e.business_id = 9481 AND e.id = p.entry_id
                    WHERE p."position" = 3$$,
                  $$VALUES ('third'::text, '2026-01-31'::date)$$,
                  'an entry''s memo and effective date are kept');
SELECT is(crm_core.account_balance(9491), 60::numeric,
          'the batch counts in the balances');

-- A retry of an entry with an idempotency key returns the entry already posted.
SELECT is((SELECT entry_id FROM crm_core.post_entries(9481, $$[
              {"lines": [{"account_id": 9491, "debit": 20}, {"account_id": 9492, "credit": 20}],
               "idempotency_key": "batch-key"}]$$)),
          (SELECT entry_id FROM posted WHERE "position" = 2),
          'a retried keyed entry returns the entry already posted');

SELECT throws_ok($$SELECT * FROM crm_core.post_entries(9481, '{"lines": []}')$$,
                 '22023', 'entries must be a JSON array of {"lines": [...]} objects',
                 'entries that are not an array are refused');
SELECT throws_ok($$SELECT * FROM crm_core.post_entries(9481, '[{"memo": "no lines"}]')$$,
                 '22023', 'entries must be a JSON array of {"lines": [...]} objects',
                 'an entry without lines is refused');

-- All or nothing: one unbalanced entry refuses the batch.
-- All or nothing: one unbalanced entry refuses the batch (its id: the sequence's next but one).
SELECT throws_ok($$SELECT * FROM crm_core.post_entries(9481, $j$[
                     {"lines": [{"account_id": 9491, "debit": 1}, {"account_id": 9492, "credit": 1}]},
                     {"lines": [{"account_id": 9491, "debit": 2}, {"account_id": 9492, "credit": 1}]}]$j$);
                   SET CONSTRAINTS ALL IMMEDIATE$$,
                 '23514',
                 format('journal entry %s does not balance in EUR: debits 2, credits 1',
                        nextval(pg_get_serial_sequence('crm_core.journal_entry', 'id')) + 2),
                 'one unbalanced entry refuses the batch');

SELECT * FROM finish();
ROLLBACK;
