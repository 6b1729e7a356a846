-- Imports: batches and their refusals, rows and their statuses, validation naming each bad
-- field, matching (fingerprint, then the loan's reference, then the phone alone), changes made
-- through the application's own tables (so the ledger and the positions agree), idempotent
-- re-imports, counters kept by the database, forward-only statuses, privileges and tenants.
BEGIN;
SELECT plan(49);
\ir lib/fixture.sql
\ir lib/import.sql

-- ---------------------------------------------------------------------------------------
-- Starting a batch
SELECT is((SELECT status || ' ' || entity || ' ' || country || ' ' || currency
             FROM collections.begin_import(71, 'voice_csv', 'loans.csv', repeat('A1', 32))),
          'loading loans FR EUR', 'begin_import: a loading batch, entity and settings from the business');
SELECT throws_ok($$SELECT collections.begin_import(71, 'excel', 'x.csv', repeat('a', 64))$$,
                 '22023', 'unknown import source "excel"', 'an unknown source is refused');
SELECT throws_ok($$SELECT collections.begin_import(71, 'recouvrement', 'x.csv', repeat('b', 64))$$,
                 '22023', 'source recouvrement has no entity NULL', 'a source with several entities needs one');
SELECT throws_ok($$SELECT collections.begin_import(71, 'recouvrement', 'x.csv', repeat('b', 64), 'factures')$$,
                 '22023', 'source recouvrement has no entity "factures"', 'an unknown entity is refused');
SELECT throws_ok($$SELECT collections.begin_import(71, 'voice_csv', 'x.csv', 'abc')$$,
                 '22023', 'file_sha256 must be the file''s SHA-256 in hex (64 characters), not "abc"',
                 'a hash that is not a SHA-256 is refused');
SELECT is(pg_temp.raised($$SELECT collections.begin_import(79, 'erp_ledger', 'accounts.csv', repeat('c', 64), 'accounts', 'KES')$$),
          '23503: business 79 does not exist | Create it first: INSERT INTO crm_core.business (id, name) VALUES (79, ''...'');',
          'a business that does not exist is refused, with the INSERT that creates it');
INSERT INTO crm_core.business (id, name) VALUES (73, 'not set up');
SELECT throws_ok($$SELECT collections.begin_import(73, 'voice_csv', 'x.csv', repeat('c', 64))$$,
                 '55000', 'business 73 is not set up for collections', 'a business not set up is refused');
SELECT is(pg_temp.raised($$SELECT collections.begin_import(71, 'voice_csv', 'again.csv', repeat('a1', 32))$$),
          format('23505: this file was already imported into business 71 | Continue batch %s instead: the loader does it when run again with the same file, or CALL collections.apply_import(%s).',
                 (SELECT id FROM collections.import_batch WHERE file_sha256 = repeat('a1', 32)),
                 (SELECT id FROM collections.import_batch WHERE file_sha256 = repeat('a1', 32))),
          'the same file twice is refused, the hint naming the first batch');
SELECT collections.cancel_import(id) FROM collections.import_batch WHERE file_sha256 = repeat('a1', 32);
SELECT lives_ok($$SELECT collections.begin_import(71, 'voice_csv', 'again.csv', repeat('a1', 32))$$,
                'a cancelled batch frees its file');

-- ---------------------------------------------------------------------------------------
-- Rows: loaded pending, counted by the database
SELECT pg_temp.batch(71, 'voice_csv', ARRAY[
    pg_temp.loan('L-1', '1 200,50'),
    pg_temp.loan('L-2', '300', '+33 6 12 34 56 78', '2 85 05 78 006 084', 'JEANNE MARTIN', '31/12/2030'),
    pg_temp.loan('L-3', 'abc', '06 12', NULL, 'Bad Row', '2024-02-30'),
    pg_temp.loan('L-1', '1 200,50'),
    pg_temp.loan('L-4', '50', '0612345678', NULL, 'Paul Martin'),
    pg_temp.loan('L-5', '-5', '0698765432', NULL, 'Rita'),
    pg_temp.loan('L-6', '10.005', '0698765433', NULL, 'Rita'),
    pg_temp.loan('L-7', '99', '0698765434', 'X1', 'Tom'),
    pg_temp.loan('L-7', '98', '0698765434', 'X1', 'Tom'),
    '{"customer_name": "Short", "_shape_error": "the line has 3 values; the header has 9"}'
]) AS batch \gset
SELECT is((SELECT format('%s %s %s', status, total, pending) FROM collections.import_batch WHERE id = :batch),
          'loading 10 10', 'rows arrive pending; the batch counts them');
SELECT throws_ok(format($$INSERT INTO collections.import_row (business_id, batch_id, line_no, raw, status)
                          VALUES (71, %s, 99, '{}', 'valid')$$, :batch),
                 '23514', format('import row 99 of batch %s arrives as valid: rows arrive pending', :batch),
                 'rows arrive pending, nothing else');
SELECT throws_ok(format($$SELECT collections.apply_import_step(%s)$$, :batch),
                 '55000', format('import batch %s is loading: validate it before applying it', :batch),
                 'applying before validating is refused');

-- ---------------------------------------------------------------------------------------
-- Validation: each bad field and why
SELECT is(pg_temp.validated(:batch), 'validated', 'validation ends validated');
SELECT throws_ok(format($$INSERT INTO collections.import_row (business_id, batch_id, line_no, raw) VALUES (71, %s, 99, '{}')$$, :batch),
                 '55000', format('import batch %s of business 71 is validated: it takes no more rows', :batch),
                 'a validated batch takes no more rows');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :batch AND line_no = 4),
          'phone: "06 12" is not a phone number: it is too short for its country; amount: "abc" is not a number; due_date: "2024-02-30" is not a date (write 2024-03-31 or 31/03/2024)',
          'an invalid row names every bad field and why');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :batch AND line_no = 7), 'amount: -5.00 is negative',
          'a negative amount is invalid');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :batch AND line_no = 8),
          'amount: "10.005" has more than 2 decimals', 'an amount finer than the currency is invalid');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :batch AND line_no = 10),
          'loan_id: L-7 is on line 9 with other content', 'the same loan twice with other content: the later line is invalid');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :batch AND line_no = 11),
          'the line has 3 values; the header has 9; loan_id: missing; phone: missing; amount: missing; due_date: missing',
          'a line the loader could not split is invalid, saying why');
SELECT is((SELECT data FROM collections.import_row WHERE batch_id = :batch AND line_no = 2),
          '{"phone": "+33612345678", "amount": "1200.50", "branch": "Paris 11", "due_on": "2024-03-31", "cluster": "A", "employee": "Claire", "full_name": "Jeanne Martin", "national_id": "2850578006084", "external_ref": "L-1"}'::jsonb,
          'a valid row: E.164 phone, decimal amount, ISO date, the target fields');
SELECT is((SELECT format('%s %s %s', valid, invalid, pending) FROM collections.import_batch WHERE id = :batch),
          '5 5 0', 'the batch counts valid and invalid rows');

-- ---------------------------------------------------------------------------------------
-- Applying: matching and changes through the application's tables
SELECT is((SELECT count(*)::int FROM crm_core.journal_entry WHERE business_id = 71), 0, 'nothing posted before applying');
SELECT is(pg_temp.imported(:batch, 2), '4 1 0 5', 'applied 4, duplicate 1 (line 5 repeats line 2), invalid 5');
SELECT results_eq(format($$SELECT line_no, status, match_method FROM collections.import_row
                           WHERE batch_id = %s AND status <> 'invalid' ORDER BY line_no$$, :batch),
                  $$VALUES (2::bigint, 'applied', 'new'), (3, 'applied', 'fingerprint'), (5, 'duplicate', 'external_ref'),
                           (6, 'applied', 'phone'), (9, 'applied', 'new')$$,
                  'matched by fingerprint (same phone and id, written differently), by the loan, by the phone alone');
SELECT is((SELECT count(DISTINCT match_customer_id)::int FROM collections.import_row
            WHERE batch_id = :batch AND line_no IN (2, 3, 6)), 1, 'Jeanne''s three rows are one customer');
SELECT results_eq($$SELECT external_ref, outstanding, status FROM collections.debt_position
                     WHERE business_id = 71 ORDER BY external_ref$$,
                  $$VALUES ('L-1', 1200.50, 'active'), ('L-2', 300.00, 'active'), ('L-4', 50.00, 'active'), ('L-7', 99.00, 'active')$$,
                  'each loan owes its amount, from the ledger (opening entries of migrated debts)');
SELECT is((SELECT count(*)::int FROM collections.check_positions()), 0, 'check_positions is empty after the import');
SELECT is((SELECT count(*)::int FROM crm_core.check_balances()), 0, 'crm_core.check_balances is empty after the import');

-- The next day's file: a payment lowered L-1, a fee raised L-4, L-7 changed hands, L-2 is as it was.
SELECT count(*) AS entries_before FROM crm_core.journal_entry WHERE business_id = 71 \gset
SELECT pg_temp.batch(71, 'voice_csv', ARRAY[
    pg_temp.loan('L-1', '1000.50'),
    pg_temp.loan('L-2', '300', '+33 6 12 34 56 78', '2 85 05 78 006 084', 'JEANNE MARTIN', '31/12/2030'),
    pg_temp.loan('L-4', '75', '0612345678', NULL, 'Paul Martin'),
    pg_temp.loan('L-7', '99', '0698765434', 'X1', 'Tom', employee => 'Bruno')
]) AS day2 \gset
SELECT is(pg_temp.imported(:day2), '3 1 0 0', 'day 2: three loans changed, one duplicate');
SELECT results_eq($$SELECT reference, amount, channel FROM collections.payment WHERE business_id = 71$$,
                  format($$VALUES ('import-%s-2', 200.00, 'import')$$, :day2),
                  'a lower amount is a payment of the difference, through collections.payment');
SELECT results_eq($$SELECT kind, amount FROM collections.adjustment WHERE business_id = 71$$,
                  $$VALUES ('fee', 25.00)$$, 'a higher amount is a fee, through collections.adjustment');
SELECT is((SELECT employee FROM collections.debt_account WHERE business_id = 71 AND external_ref = 'L-7'), 'Bruno',
          'a loan that changed hands is reassigned');
SELECT is((SELECT count(*)::int FROM crm_core.journal_entry WHERE business_id = 71) - :entries_before, 2,
          'two entries: the payment and the fee');
SELECT is((SELECT count(*)::int FROM collections.check_positions()) + (SELECT count(*)::int FROM crm_core.check_balances()),
          0, 'positions and balances agree after day 2');
-- The same content again (another file): every row a duplicate, nothing posted.
SELECT count(*) AS entries_before FROM crm_core.journal_entry WHERE business_id = 71 \gset
SELECT pg_temp.batch(71, 'voice_csv', ARRAY[
    pg_temp.loan('L-1', '1000.50'),
    pg_temp.loan('L-4', '75', '0612345678', NULL, 'Paul Martin')
]) AS day3 \gset
SELECT is(pg_temp.imported(:day3), '0 2 0 0', 're-importing what is already there: duplicates');
SELECT is((SELECT count(*)::int FROM crm_core.journal_entry WHERE business_id = 71), :entries_before,
          'a re-import posts nothing');

-- A loan that belongs to another customer than the row's phone and id say: skipped, saying so.
INSERT INTO collections.customer (business_id, full_name, phone, national_id) VALUES (71, 'Other', '0655555555', 'Z9');
SELECT pg_temp.batch(71, 'voice_csv', ARRAY[pg_temp.loan('L-1', '1000.50', '0655555555', 'Z9', 'Other')]) AS conflict \gset
SELECT is(pg_temp.imported(:conflict), '0 0 1 0', 'a row whose loan is another customer''s is skipped');
SELECT matches((SELECT error FROM collections.import_row WHERE batch_id = :conflict),
               '^loan_id: L-1 names customer [0-9]+, but its phone and national id are customer [0-9]+''s$',
               'the skip says which customers disagree');

-- A row a rule of the application refuses (here: a posting in a closed fiscal period) is
-- skipped with that error; the other rows of its chunk are applied.
INSERT INTO crm_core.fiscal_period (business_id, name, starts_on, ends_on, closed_at)
VALUES (71, 'closed today', CURRENT_DATE, CURRENT_DATE, now());
SELECT pg_temp.batch(71, 'voice_csv', ARRAY[pg_temp.loan('L-2', '300', '+33 6 12 34 56 78', '2 85 05 78 006 084', 'JEANNE MARTIN', '31/12/2030'),
                                            pg_temp.loan('L-9', '10', '0611111111', 'Q1', 'New')]) AS closed \gset
SELECT is(pg_temp.imported(:closed), '0 1 1 0', 'the refused row is skipped, the duplicate beside it still recognised');
SELECT matches((SELECT error FROM collections.import_row WHERE batch_id = :closed AND line_no = 3),
               'closed fiscal period', 'the skipped row carries the application''s error');
DELETE FROM crm_core.fiscal_period WHERE business_id = 71;

-- ---------------------------------------------------------------------------------------
-- Statuses move forward only; counters and marks are the database's
SELECT throws_ok(format($$UPDATE collections.import_row SET status = 'valid' WHERE batch_id = %s AND line_no = 2$$, :batch),
                 '55000', format('line 2 of import batch %s cannot go from applied to valid', :batch),
                 'an applied row never goes back');
SELECT throws_ok(format($$UPDATE collections.import_row SET raw = '{}' WHERE batch_id = %s AND line_no = 2$$, :batch),
                 '55000', format('line 2 of import batch %s was loaded as it is: its raw record never changes', :batch),
                 'a loaded record never changes');
SELECT throws_ok(format($$UPDATE collections.import_batch SET status = 'loading' WHERE id = %s$$, :batch),
                 '55000', format('import batch %s cannot go from applied to loading', :batch),
                 'a batch''s status moves forward only');
SELECT is((SELECT format('%s %s %s %s %s', total, applied, duplicate, invalid, valid) FROM collections.import_batch WHERE id = :batch),
          (SELECT format('%s %s %s %s %s', count(*), count(*) FILTER (WHERE status = 'applied'), count(*) FILTER (WHERE status = 'duplicate'),
                         count(*) FILTER (WHERE status = 'invalid'), count(*) FILTER (WHERE status = 'valid'))
             FROM collections.import_row WHERE batch_id = :batch),
          'the counters are the rows'' statuses');
SELECT pg_temp.as_app(71);
SELECT throws_ok(format($$UPDATE collections.import_batch SET applied = 0 WHERE id = %s$$, :batch),
                 '42501', 'permission denied for table import_batch', 'the application cannot write the counters');
SELECT throws_ok($$INSERT INTO collections.import_batch (business_id, source, entity, filename, file_sha256, country, currency, status)
                   VALUES (71, 'voice_csv', 'loans', 'x', repeat('d', 64), 'FR', 'EUR', 'applied')$$,
                 '42501', 'permission denied for table import_batch', 'nor start a batch in another status');
SELECT lives_ok(format($$SELECT pg_temp.imported(pg_temp.batch(71, 'voice_csv', ARRAY[pg_temp.loan('L-20', '20', '0622222222', 'R2', 'App')]))$$),
                'the application imports as itself');
RESET ROLE;
SELECT pg_temp.as_app(72);
SELECT throws_ok(format($$SELECT collections.validate_import_step(%s)$$, :batch),
                 '22023', format('import batch %s does not exist', :batch), 'another business''s batch is out of reach');
SELECT is((SELECT count(*)::int FROM collections.import_row), 0, 'and so are its rows');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
