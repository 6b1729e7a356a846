-- Reconciliation: an M-Pesa till statement imported (CSV), matched to the till account's
-- ledger lines by receipt and by amount and date, unmatched lines reported on both sides, and
-- a closed period whose matches are final. Every refusal with its SQLSTATE and message.
BEGIN;
SELECT plan(30);
\ir lib/businesses.sql

INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters) VALUES (7001, :w20, 100, 0);
INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount, payment_method, mpesa_receipt)
VALUES (7001, :w20, 1, 100, 100, 'mpesa', 'QA1'), (7001, :w20, 2, 100, 200, 'mpesa', 'qa2'),
       (7001, :w20, 3, 100, 300, 'mpesa', 'QA3'), (7001, :w20, 1, 100, 100, 'cash', NULL);
-- An owner's deposit onto the till, entered by hand: no receipt on the ledger side.
SELECT crm_core.post_entry(7001, format('[{"account_id": %s, "debit": 500}, {"account_id": %s, "credit": 500}]',
                                        :water_mpesa, erp.account_of(7001, 'equity'))::jsonb) AS deposit_entry \gset
SELECT to_char(current_date, 'YYYY-MM-DD') AS today, to_char(current_date - 1, 'DD/MM/YYYY') AS yesterday \gset
SELECT format(E'Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\n'
              'QA1,%1$s 10:00:00,Payment from 0712345678,Completed,100.00,,100.00\n'
              'QA2,%1$s 11:00:00,Payment from 0722345678,Completed,200.00,,300.00\n'
              'QZZ,%2$s 12:00,Deposit,Completed,500.00,,800.00\n'
              'QX9,%1$s 13:00:00,Unknown payer,Completed,"1,000.00",,1800.00\n'
              'QP0,%1$s 14:00:00,Reversed,Failed,50.00,,1800.00\n', :'today', :'yesterday') AS statement \gset

SELECT is((SELECT (lines_imported, duplicates_skipped)::text FROM erp.import_statement(:water_mpesa, 'mpesa', :'statement', 'till-123456.csv')),
          '(4,0)', 'an M-Pesa statement imports its completed lines');
SELECT results_eq($$SELECT reference, amount, booked_on FROM erp.statement_line WHERE business_id = 7001 ORDER BY line_no$$,
                  format($$VALUES ('QA1', 100::numeric, %1$L::date), ('QA2', 200, %1$L), ('QZZ', 500, %2$L), ('QX9', 1000, %1$L)$$,
                         current_date, current_date - 1),
                  'each line keeps its receipt, amount and local day');
INSERT INTO erp.till (business_id, kind, number, name, account_id) VALUES (7001, 'mpesa_till', '512345', 'Shop', :water_mpesa);
SELECT is((SELECT (account_id, layout, lines_imported, duplicates_skipped)::text
             FROM erp.import_till_statement(7001, '512345', :'statement')),
          format('(%s,mpesa,0,4)', :water_mpesa),
          'importing an overlapping statement again, by till number, skips the lines already there');
SELECT throws_ok($$SELECT erp.import_till_statement(7001, '999999', 'x')$$,
                 '23503', 'business 7001 has no till 999999', 'an unknown till is refused');
SELECT throws_ok(format($$SELECT erp.import_statement(%s, 'pdf', 'x')$$, :water_mpesa),
                 '22023', 'unknown statement layout "pdf"', 'an unknown layout is refused');
SELECT throws_ok(format($$SELECT erp.import_statement(%s, 'mpesa', E'Receipt No.,Completion Time,Paid In,Withdrawn\nQB1,2024-01-01,12x,')$$, :water_mpesa),
                 '22P04', 'statement line 2: money in "12x" is not an amount', 'a bad amount names its line');
SELECT throws_ok(format($$SELECT erp.import_statement(%s, 'mpesa', E'Receipt,Paid In\n')$$, :water_mpesa),
                 '22P04', 'statement line 1: the header row lacks "Completion Time" "Withdrawn"', 'a header without the needed columns is refused');
SELECT throws_ok(format($$SELECT erp.import_statement(%s, 'bank', E'Date,Amount\n2024-02-30,5')$$, :water_mpesa),
                 '22P04', 'statement line 2: date "2024-02-30" is not a date (YYYY-MM-DD or DD/MM/YYYY)', 'an impossible date is refused');
SELECT is((SELECT count(*)::int FROM erp.statement_import WHERE business_id = 7001), 2,
          'a refused import keeps nothing');
SELECT is((SELECT file_name FROM erp.statement_import WHERE business_id = 7001 ORDER BY id LIMIT 1), 'till-123456.csv',
          'the import records its file');
SELECT throws_ok($$SELECT erp.import_statement(424242, 'mpesa', 'x')$$,
                 '23503', 'account 424242 does not exist', 'an unknown account is refused');

SELECT throws_ok(format($$SELECT * FROM erp.match_statement(%s, -1)$$, :water_mpesa),
                 '22023', 'date window -1 is out of range', 'a negative date window is refused');
SELECT is((SELECT (matched_by_reference, matched_by_amount_date, unmatched_statement_lines, unmatched_ledger_lines)::text
             FROM erp.match_statement(:water_mpesa)),
          '(2,1,1,1)', 'two lines match by receipt, the deposit by amount within the window; one left on each side');
SELECT results_eq($$SELECT s.reference, m.method FROM erp.reconciliation_match m
                      JOIN erp.statement_line s ON s.business_id = m.business_id AND s.id = m.statement_line_id
                     ORDER BY s.line_no$$,
                  $$VALUES ('QA1', 'reference'), ('QA2', 'reference'), ('QZZ', 'amount_date')$$,
                  'receipts match without case; the deposit a day apart matches by amount');
SELECT results_eq($$SELECT reference, amount FROM erp.unmatched_statement_line WHERE business_id = 7001$$,
                  $$VALUES ('QX9', 1000::numeric)$$, 'the unknown payment is unmatched on the statement side');
SELECT results_eq($$SELECT reference, amount FROM erp.unmatched_ledger_line WHERE business_id = 7001$$,
                  $$VALUES ('QA3', 300::numeric)$$, 'the sale the statement lacks is unmatched on the ledger side');
SELECT is((SELECT (matched_by_reference, matched_by_amount_date)::text FROM erp.match_statement(:water_mpesa)),
          '(0,0)', 'matching again matches nothing new');

-- Matching by hand is checked.
SELECT id AS qx9 FROM erp.statement_line WHERE reference = 'QX9' \gset
SELECT l.id AS qa3_line FROM crm_core.journal_line l WHERE l.memo = 'QA3' \gset
SELECT l.id AS qa1_line FROM crm_core.journal_line l WHERE l.memo = 'QA1' \gset
SELECT l.id AS cash_line FROM crm_core.journal_line l WHERE l.business_id = 7001 AND l.account_id = :water_cash LIMIT 1 \gset
SELECT throws_ok(format('SELECT erp.match_manually(7001, %s, %s)', :qx9, :qa3_line),
                 '23514', format('statement line %s (1000) and ledger line %s (300) differ in amount', :qx9, :qa3_line),
                 'lines of different amounts do not match');
SELECT throws_ok(format('SELECT erp.match_manually(7001, (SELECT id FROM erp.statement_line WHERE reference = %L), %s)', 'QA1', :qa1_line),
                 '23505', 'duplicate key value violates unique constraint "reconciliation_match_statement_once"',
                 'a line matches once');
SELECT throws_ok(format('SELECT erp.match_manually(7001, %s, %s)', :qx9, :cash_line),
                 '23514', format('statement line %s and ledger line %s are not both on account %s', :qx9, :cash_line, :water_mpesa),
                 'a line of another account does not match');
SELECT throws_ok($$UPDATE erp.reconciliation_match SET method = 'manual'$$,
                 '55000', 'reconciliation matches do not change', 'matches are not edited');
SELECT throws_ok($$UPDATE erp.statement_line SET amount = 1$$,
                 '55000', NULL, 'statement lines are never edited');

-- Closing: the period's balances and what stayed unmatched; its matches are final.
SELECT id AS qa2 FROM erp.statement_line WHERE reference = 'QA2' \gset
SELECT lives_ok(format('SELECT erp.unmatch(7001, %s)', :qa2), 'a match is undone while its period is open');
SELECT is((SELECT matched_by_reference FROM erp.match_statement(:water_mpesa)), 1, 'and made again');
SELECT is((SELECT (statement_balance, ledger_balance, difference, unmatched_statement_lines, unmatched_ledger_lines)::text
             FROM erp.close_reconciliation(:water_mpesa, current_date, 1800)),
          '(1800,1100,700,1,1)', 'closing records both balances, their difference and the unmatched lines');
SELECT throws_ok(format('SELECT erp.unmatch(7001, %s)', :qa2),
                 '55000', format('statement line %s or ledger line %s is dated inside the reconciliation of account %s closed through %s',
                                 :qa2, (SELECT journal_line_id FROM erp.reconciliation_match WHERE statement_line_id = :qa2),
                                 :water_mpesa, current_date),
                 'a match of a closed period is final');
SELECT throws_ok(format('SELECT erp.match_manually(7001, %s, %s)', :qx9, :qa3_line),
                 '55000', NULL, 'lines of a closed period are not matched any more');
SELECT throws_ok(format('SELECT erp.close_reconciliation(%s, current_date)', :water_mpesa),
                 '55000', format('account %s is reconciled through %s already', :water_mpesa, current_date),
                 'a period closes once');
INSERT INTO erp.reconciliation (business_id, account_id, period_start, period_end, ledger_balance,
                                unmatched_statement_lines, unmatched_ledger_lines)
VALUES (7001, :water_mpesa, '2000-01-01', current_date + 1, 999999, 0, 0);
SELECT is((SELECT (period_start, ledger_balance)::text FROM erp.reconciliation WHERE period_end = current_date + 1),
          format('(%s,1100)', current_date + 1), 'a period inserted directly gets its start and balances computed, not given');
SELECT results_eq($$SELECT book_balance, status FROM erp_legacy.reconciliation WHERE period_end = current_date$$,
                  $$VALUES (1100::numeric, 'reconciled')$$, 'seed 002''s Reconciliation reads the closed period');

SELECT * FROM finish();
ROLLBACK;
