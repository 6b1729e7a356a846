-- Exact sums (lib/pure/src/decimal.cpp through lib/pg/numeric.cpp numeric_plus / numeric_order):
-- the entries' tallies and the balance slots hold what numeric_add would, to the stored digits
-- and the display scale, on the fast path (up to 34 digits, scale up to 34) and past it, where
-- PostgreSQL's numeric_add takes over. Compared with sum() over the lines.
BEGIN;
SELECT plan(17);

INSERT INTO crm_core.business (id, name) VALUES (9091, 'numeric');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (9191, 9091, '1000', 'Cash', 'asset', 'EUR'),
    (9192, 9091, '4000', 'Sales', 'income', 'EUR'),
    (9193, 9091, '1100', 'Bank', 'asset', 'EUR'),
    (9194, 9091, '4100', 'Fees', 'income', 'EUR'),
    (9195, 9091, '1200', 'Tiny', 'asset', 'EUR'),
    (9196, 9091, '4200', 'Huge', 'income', 'EUR'),
    (9197, 9091, '1300', 'Round', 'asset', 'EUR'),
    (9198, 9091, '4300', 'Round', 'income', 'EUR');

-- Per account: the kept debits and credits (its one slot: one backend writes here, read as
-- stored, not through sum(), which would normalize them) and the posted lines' sums, as text
-- and as numeric_send (the stored digits, weight, sign and display scale).
CREATE FUNCTION pg_temp.kept_and_summed(account bigint) RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' | ', s.debits::text, s.credits::text, l.debits::text, l.credits::text,
                     numeric_send(s.debits) = numeric_send(l.debits)
                     AND numeric_send(s.credits) = numeric_send(l.credits))
      FROM (SELECT debits, credits
              FROM crm_core.account_balance_slot WHERE business_id = 9091 AND account_id = account) s,
           (SELECT COALESCE(sum(debit), 0) AS debits, COALESCE(sum(credit), 0) AS credits
              FROM crm_core.journal_line WHERE business_id = 9091 AND account_id = account) l
$$;

-- Mixed scales, one of them 31 digits: the sum's scale is the largest, 9.
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (1, 9091);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES
    (9091, 1, 9191, 10), (9091, 1, 9191, 0.5), (9091, 1, 9191, 1.250);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES
    (9091, 1, 9191, 3.000000001), (9091, 1, 9191, 1e30);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES
    (9091, 1, 9192, 1000000000000000000000000000014.750000001);
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED',
                'debits of scales 0, 1, 3, 9 and a 31-digit one balance the one credit');
SELECT is(pg_temp.kept_and_summed(9191),
          '1000000000000000000000000000014.750000001 | 0 | 1000000000000000000000000000014.750000001 | 0 | t',
          'the kept debits are sum() of the lines: digits and display scale');
SELECT is((SELECT balance::text FROM crm_core.account_balances WHERE business_id = 9091 AND account_id = 9191),
          '1000000000000000000000000000014.750000001', 'account_balances shows that sum');
SELECT is((SELECT crm_core.account_balance(9192)::text), '1000000000000000000000000000014.750000001',
          'and account_balance() the credit side''s');

-- A zero on the other side keeps its scale, as numeric_add does: 0.000, and a 0 of scale 40
-- (past the fast path).
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (2, 9091);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (9091, 2, 9193, 7.10, 0.000),
    (9091, 2, 9194, 0.0000000000000000000000000000000000000000, 7.1);
SELECT is(pg_temp.kept_and_summed(9193), '7.10 | 0.000 | 7.10 | 0.000 | t',
          'a zero credit of scale 3 is kept as 0.000');
SELECT is(pg_temp.kept_and_summed(9194),
          '0.0000000000000000000000000000000000000000 | 7.1 | 0.0000000000000000000000000000000000000000 | 7.1 | t',
          'a zero debit of scale 40 as it is');
-- A sum whose last base-10000 digits are zero: PostgreSQL stores 10000.0 as the one digit 1
-- (weight 1), not 1, 0, 0.
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (7, 9091);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (9091, 7, 9197, 4999.5, NULL), (9091, 7, 9197, 5000.5, NULL), (9091, 7, 9198, NULL, 10000);
SELECT is(pg_temp.kept_and_summed(9197), '10000.0 | 0 | 10000.0 | 0 | t',
          'a sum ending in zero digits is stored without them');
SELECT is((SELECT count(*) FROM crm_core.check_balances()), 0::bigint, 'check_balances() finds nothing');
SELECT is((SELECT count(*) FROM crm_core.account_balance_slot WHERE business_id = 9091), 6::bigint,
          'one slot per account written');

-- The edges of the fast path: 34 digits, scale 34; one past each (numeric_add's result).
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (3, 9091);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (9091, 3, 9195, 0.0000000000000000000000000000000001, NULL),
    (9091, 3, 9195, 0.0000000000000000000000000000000009, NULL),
    (9091, 3, 9195, 0.00000000000000000000000000000000001, NULL),
    (9091, 3, 9196, NULL, 9999999999999999999999999999999999),
    (9091, 3, 9196, NULL, 1),
    (9091, 3, 9196, NULL, 99999999999999999999999999999999999);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (9091, 3, 9195, 109999999999999999999999999999999999.00000000000000000000000000000000000, NULL),
    (9091, 3, 9196, NULL, 0.00000000000000000000000000000000101);
SELECT is(pg_temp.kept_and_summed(9195),
          '109999999999999999999999999999999999.00000000000000000000000000000000101 | 0 | '
          '109999999999999999999999999999999999.00000000000000000000000000000000101 | 0 | t',
          'scale 34 and 35, 36 digits: kept as numeric_add sums them');
SELECT is(pg_temp.kept_and_summed(9196),
          '0 | 109999999999999999999999999999999999.00000000000000000000000000000000101 | '
          '0 | 109999999999999999999999999999999999.00000000000000000000000000000000101 | t',
          '34 nines plus 1 (10^34, past the fast path), plus 35 nines and a scale of 35');
SELECT lives_ok('SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED',
                'and the entry balances to its 35th decimal');
SELECT throws_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (6, 9091);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (9091, 6, 9195, 0.0000000000000000000000000000000001, NULL),
        (9091, 6, 9195, 0.00000000000000000000000000000000001, NULL),
        (9091, 6, 9195, 9999999999999999999999999999999999, NULL),
        (9091, 6, 9196, NULL, 9999999999999999999999999999999999),
        (9091, 6, 9196, NULL, 1);
    SET CONSTRAINTS ALL IMMEDIATE$$,
    '23514', 'journal entry 6 does not balance in EUR: debits 9999999999999999999999999999999999.00000000000000000000000000000000011, credits 10000000000000000000000000000000000',
    'the tally names both sums exactly, with their scale');

-- The tallies compare across scales: 10.00 against 10 balances; one unit of the 34th decimal
-- does not.
SELECT lives_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (4, 9091);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9091, 4, 9191, 10.00, NULL), (9091, 4, 9192, NULL, 10);
    SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
    '10.00 balances 10');
SELECT throws_ok($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5, 9091);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (9091, 5, 9191, 10.0000000000000000000000000000000001, NULL), (9091, 5, 9192, NULL, 10);
    SET CONSTRAINTS ALL IMMEDIATE$$,
    '23514', 'journal entry 5 does not balance in EUR: debits 10.0000000000000000000000000000000001, credits 10',
    '10 plus 10^-34 does not');

-- Many amounts of random magnitudes and scales (a fixed seed), over many entries and
-- statements (slots inserted and then updated): every account's kept totals are sum() of its
-- lines, stored digits and scale included, and every entry balances to the last digit.
SELECT setseed(0.109);
CREATE TEMP TABLE amounts AS
SELECT n, 9191 + (n % 8) AS account,
       round((random() * 10 ^ floor(random() * CASE WHEN n % 7 = 0 THEN 36 ELSE 22 END))::numeric,
             floor(random() * CASE WHEN n % 11 = 0 THEN 40 ELSE 13 END)::int) AS amount
  FROM generate_series(1, 3000) AS n;
DELETE FROM amounts WHERE amount = 0;
DO $$
BEGIN
    FOR e IN 0..99 LOOP
        INSERT INTO crm_core.journal_entry (id, business_id) VALUES (100 + e, 9091);
        INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
        SELECT 9091, 100 + e, account, amount FROM amounts WHERE n % 100 = e AND n % 2 = 0;
        INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
        SELECT 9091, 100 + e, account, amount FROM amounts WHERE n % 100 = e AND n % 2 = 1;
        INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit)
        SELECT 9091, 100 + e, 9192, sum(amount) FROM amounts WHERE n % 100 = e;
    END LOOP;
END $$;
SELECT lives_ok('SET CONSTRAINTS crm_core.journal_entry_balanced IMMEDIATE',
                'random amounts: every entry balances');
SELECT is((SELECT string_agg(id::text, ',' ORDER BY id)
             FROM crm_core.account WHERE business_id = 9091
                                     AND pg_temp.kept_and_summed(id) NOT LIKE '%| t'),
          NULL, 'random amounts: every account''s kept totals are sum() of its lines');

SELECT * FROM finish();
ROLLBACK;
