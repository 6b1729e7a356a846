-- Promises to pay: payments count toward the open promise of their debt (kept once covered by
-- due_on), reversals stop counting, run_promises breaks the overdue ones, every status change
-- is in the history and the audit, and the bad inputs are refused.
BEGIN;
SELECT * FROM no_plan();
\ir lib/fixture.sql

INSERT INTO collections.agent (business_id, id, name) VALUES (71, 8301, 'Ana');
SELECT pg_temp.debt(1000, 4, 30, 'P-1') AS d1 \gset
SELECT pg_temp.debt(1000, 4, 30, 'P-2') AS d2 \gset

SELECT collections.promise_to_pay(:d1, 300, CURRENT_DATE + 7, 8301, 'friday') AS p1 \gset
SELECT is((SELECT status FROM collections.promise WHERE id = :p1), 'open', 'a new promise is open');
INSERT INTO collections.payment (business_id, debt_account_id, reference, amount, paid_at)
VALUES (71, :d1, 'P-before-promise', 50, now() - interval '1 day');
SELECT is((SELECT status || ' ' || round(covered_amount, 2) FROM collections.promise WHERE id = :p1), 'open 0.00',
          'a payment made before the promise (recorded late) does not count toward it');
SELECT pg_temp.pay(:d1, 100) AS pay1 \gset
SELECT is((SELECT status || ' ' || round(covered_amount, 2) FROM collections.promise WHERE id = :p1), 'open 100.00',
          'a payment counts toward the open promise');
SELECT pg_temp.pay(:d1, 250) AS pay2 \gset
SELECT is((SELECT status || ' ' || round(covered_amount, 2) FROM collections.promise WHERE id = :p1), 'kept 350.00',
          'covered by due_on: kept');
SELECT is((SELECT array_agg(coalesce(old_status, '-') || '>' || new_status ORDER BY id) FROM collections.promise_history
            WHERE promise_id = :p1), ARRAY['->open', 'open>kept'], 'the history of its statuses');
SELECT is((SELECT sum(amount) FROM collections.promise_payment WHERE promise_id = :p1), 350.00,
          'which payments counted, and how much');
SELECT ok((SELECT count(*) FROM crm_core.audit_log WHERE table_name = 'collections.promise' AND row_key->>'id' = :p1::text) >= 2,
          'promise changes are audited');

-- a bounced payment: the promise is open again
SELECT collections.reverse_payment(:pay2, 'bounced') IS NOT NULL AS reversed \gset
SELECT is((SELECT status || ' ' || round(covered_amount, 2) FROM collections.promise WHERE id = :p1), 'open 100.00',
          'a reversed payment stops counting: the promise is open again');
SELECT is((SELECT sum(amount) FROM collections.promise_payment WHERE promise_id = :p1), 100.00,
          'covered = the sum of what counted, reversals included');

-- run_promises breaks what is overdue; a second run changes nothing
SELECT is((SELECT promises_broken FROM collections.run_promises(CURRENT_DATE + 7)), 0::bigint, 'not overdue on its due date');
SELECT is((SELECT promises_broken FROM collections.run_promises(CURRENT_DATE + 8)), 1::bigint, 'broken the day after');
SELECT is((SELECT promises_broken FROM collections.run_promises(CURRENT_DATE + 8)), 0::bigint, 'a second run breaks nothing');
SELECT is((SELECT new_status FROM collections.promise_history WHERE promise_id = :p1 ORDER BY id DESC LIMIT 1), 'broken',
          'the break is in the history');
SELECT pg_temp.pay(:d1, 500) AS late_pay \gset
SELECT is((SELECT status FROM collections.promise WHERE id = :p1), 'broken', 'a broken promise stays broken');

-- bad input
SELECT throws_ok(format('SELECT collections.promise_to_pay(%s, 100, CURRENT_DATE - 1)', :d2), '22023',
                 format('a promise falls due today or later, not on %s', CURRENT_DATE - 1), 'a past due date is refused');
SELECT throws_ok(format('SELECT collections.promise_to_pay(%s, 0, CURRENT_DATE + 1)', :d2), '23514',
                 'a promise amount must be a positive number, not 0', 'a zero amount is refused');
SELECT throws_ok(format('SELECT collections.promise_to_pay(%s, -5, CURRENT_DATE + 1)', :d2), '23514',
                 'a promise amount must be a positive number, not -5', 'a negative amount is refused');
SELECT throws_ok(format('SELECT collections.promise_to_pay(%s, 10.001, CURRENT_DATE + 1)', :d2), '22023',
                 'a promise amount in EUR has at most 2 decimals, not 10.001', 'more decimals than the currency''s are refused');
SELECT throws_ok('SELECT collections.promise_to_pay(999999, 100, CURRENT_DATE + 1)', '23503',
                 'debt account 999999 does not exist', 'an unknown debt is refused');
SELECT throws_ok(format('INSERT INTO collections.promise (business_id, debt_account_id, amount, due_on) VALUES (71, 999999, 1, CURRENT_DATE)'),
                 '23503', 'debt account 999999 does not exist in business 71', 'an unknown debt is refused on INSERT too');
SELECT throws_ok(format('SELECT collections.promise_to_pay(%s, 100, CURRENT_DATE + 1, 999)', :d2), '23503',
                 'agent 999 does not exist in business 71', 'an unknown agent is refused');
SELECT collections.promise_to_pay(:d2, 100, CURRENT_DATE) AS p2 \gset
SELECT throws_ok(format('SELECT collections.promise_to_pay(%s, 50, CURRENT_DATE + 3)', :d2), '23505',
                 format('debt account %s already has open promise %s', :d2, :p2), 'one open promise per debt');
-- even a role granted UPDATE on every column changes only the note and cancels
GRANT UPDATE ON collections.promise TO crm_core_app;
SELECT pg_temp.as_app(71);
SELECT throws_ok(format('UPDATE collections.promise SET amount = 1 WHERE id = %s', :p2), '55000',
                 format('promise %s is a record: only its note and a cancellation change it', :p2), 'a promise is not rewritten');
SELECT throws_ok(format('UPDATE collections.promise SET status = ''kept'' WHERE id = %s', :p2), '55000',
                 format('promise %s is open: only an open promise is cancelled (kept and broken follow the payments)', :p2),
                 'kept is not set by hand');
RESET ROLE;
SELECT throws_ok(format('DELETE FROM collections.promise WHERE id = %s', :p2), '55000',
                 format('promise %s is a record: it is cancelled, never deleted', :p2), 'promises are not deleted');
SELECT pg_temp.as_app(71);
SELECT lives_ok(format('UPDATE collections.promise SET status = ''cancelled'' WHERE id = %s', :p2), 'the application cancels a promise');
RESET ROLE;
SELECT is((SELECT new_status FROM collections.promise_history WHERE promise_id = :p2 ORDER BY id DESC LIMIT 1), 'cancelled',
          'the cancellation is in the history');
SELECT pg_temp.as_app(72);
SELECT is((SELECT count(*)::int FROM collections.promise), 0, 'another business sees no promise of 71');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
