-- Quantities in the ledger: an account's currency may be a unit ('unit:water_20l'). Entries
-- balance per currency, so money and units mix in one entry without ever offsetting each other;
-- balances, point-in-time balances and overdraft rules ("never negative") work for units as
-- they do for money.
BEGIN;
SELECT plan(12);

INSERT INTO crm_core.business (id, name) VALUES (9301, 'water');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency, overdraft)
VALUES (9311, 9301, '1000', 'Cash', 'asset', 'KES', 'none'),
       (9312, 9301, '4000', 'Sales', 'income', 'KES', 'none'),
       (9313, 9301, 'STK-W20', 'Stock 20 l bottles', 'asset', 'unit:water_20l',
        'credits_must_not_exceed_debits'),
       (9314, 9301, 'QTY-W20', 'Movements 20 l bottles', 'equity', 'unit:water_20l', 'none'),
       (9315, 9301, 'STK-W10', 'Stock 10 l bottles', 'asset', 'unit:water_10l', 'none');

SELECT lives_ok($$INSERT INTO crm_core.account (business_id, code, name, kind, currency)
                  VALUES (9301, 'KG', 'Detergent', 'asset', 'unit:detergent.kg')$$,
                'a unit code (unit:, lower case letters, digits, _ . -) is accepted');
SELECT throws_ok($$INSERT INTO crm_core.account (business_id, code, name, kind, currency)
                   VALUES (9301, 'X1', 'x', 'asset', 'unit:Water')$$, '23514',
                 'new row for relation "account" violates check constraint "account_currency_iso_or_unit"',
                 'a unit with upper case letters is refused');
SELECT throws_ok($$INSERT INTO crm_core.account (business_id, code, name, kind, currency)
                   VALUES (9301, 'X2', 'x', 'asset', 'unit:')$$, '23514',
                 'new row for relation "account" violates check constraint "account_currency_iso_or_unit"',
                 'an empty unit is refused');
SELECT throws_ok($$INSERT INTO crm_core.account (business_id, code, name, kind, currency)
                   VALUES (9301, 'X3', 'x', 'asset', 'kes')$$, '23514',
                 'new row for relation "account" violates check constraint "account_currency_iso_or_unit"',
                 'a lower-case currency without the unit: prefix is refused');

-- Production of 10 bottles, then a sale of 3 bottles for 300 KES: one entry, two currencies.
SELECT lives_ok($$
    SELECT crm_core.post_entry(9301, '[{"account_id": 9313, "debit": 10}, {"account_id": 9314, "credit": 10}]');
    SELECT crm_core.post_entry(9301, '[{"account_id": 9311, "debit": 300}, {"account_id": 9312, "credit": 300},
                                      {"account_id": 9313, "credit": 3}, {"account_id": 9314, "debit": 3}]');
    SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
    'an entry with money and unit lines, each balanced, posts');
SELECT is(crm_core.account_balance(9313), 7::numeric, 'stock on hand is the sum of its movements');
SELECT is(crm_core.account_balance(9313, now() - interval '1 second'), 0::numeric,
          'stock is readable at a past moment');
SELECT throws_like($$
    SELECT crm_core.post_entry(9301, '[{"account_id": 9311, "debit": 3}, {"account_id": 9313, "credit": 3}]');
    SET CONSTRAINTS ALL IMMEDIATE$$,
    '%does not balance in KES%', 'money never offsets units: each currency balances on its own');
SELECT throws_like($$
    SELECT crm_core.post_entry(9301, '[{"account_id": 9315, "debit": 3}, {"account_id": 9313, "credit": 3}]');
    SET CONSTRAINTS ALL IMMEDIATE$$,
    '%does not balance in unit:water_%', 'one unit never turns into another');
SELECT throws_ok($$
    SELECT crm_core.post_entry(9301, '[{"account_id": 9313, "credit": 8}, {"account_id": 9314, "debit": 8}]');
    SET CONSTRAINTS ALL IMMEDIATE$$,
    '23514', NULL, 'the overdraft rule keeps a stock account from going negative');
SELECT lives_ok($$
    SELECT crm_core.post_entry(9301, '[{"account_id": 9313, "credit": 7}, {"account_id": 9314, "debit": 7}]');
    SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED$$,
    'selling the last bottles down to zero is allowed');
SELECT is_empty($$SELECT * FROM crm_core.check_balances() WHERE business_id = 9301$$,
                'kept unit balances equal their lines');

SELECT * FROM finish();
ROLLBACK;
