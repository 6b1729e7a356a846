-- The seeds' legacy names (schema collections_compat): the old queries read the new tables,
-- simple views write through them (the same triggers as any INSERT), computed columns are
-- read-only, and each business sees its own rows.
BEGIN;
SELECT plan(12);
\ir lib/fixture.sql
\ir lib/import.sql

SELECT pg_temp.imported(pg_temp.batch(71, 'voice_csv', ARRAY[pg_temp.loan('L-1', '500'), pg_temp.loan('L-2', '80', '0611111111', 'B2', 'Bob Roux')]));
SELECT pg_temp.imported(pg_temp.batch(71, 'recouvrement', ARRAY[
    '{"id": "1", "name": "SARL Dupont", "phone": "01 23 45 67 89", "siren": "732829320", "city": "Lyon"}']::jsonb[], 'clients'));
SELECT pg_temp.imported(pg_temp.batch(71, 'recouvrement', ARRAY[
    '{"id": "10", "client_id": "1", "invoice_number": "FAC-10", "amount": "1200.00", "issue_date": "2025-01-10", "due_date": "2025-02-09"}']::jsonb[], 'invoices'));
SELECT pg_temp.as_app(71);
SET LOCAL search_path = collections_compat, public, pg_catalog;

SELECT results_eq($$SELECT name, phone_number, primary_phone FROM customers ORDER BY id$$,
                  $$VALUES ('Jeanne Martin', '+33612345678', '+33612345678'), ('Bob Roux', '+33611111111', '+33611111111'),
                           ('SARL Dupont', '+33123456789', '+33123456789')$$,
                  'seed 003''s customers: name and phone_number over full_name and phone');
SELECT results_eq($$SELECT loan_id, outstanding_amount, branch FROM loans ORDER BY loan_id$$,
                  $$VALUES ('FAC-10', 1200.00, NULL), ('L-1', 500.00, 'Paris 11'), ('L-2', 80.00, 'Paris 11')$$,
                  'seed 003''s loans: outstanding from the ledger');
SELECT results_eq($$SELECT upload_status, total_records, success_records, failed_records FROM file_uploads ORDER BY id$$,
                  $$VALUES ('completed', 2::bigint, 2::bigint, 0::bigint), ('completed', 1, 1, 0), ('completed', 1, 1, 0)$$,
                  'seed 003''s file_uploads: the import batches');
SELECT lives_ok($$UPDATE customers SET phone_number = '06 99 88 77 66' WHERE name = 'Bob Roux'$$,
                'customers is updatable: phone_number writes the phone');
SELECT is((SELECT phone FROM collections.customer WHERE full_name = 'Bob Roux'), '+33699887766',
          'through the customer trigger (E.164)');
SELECT throws_ok($$UPDATE customers SET phone_number = 'call me' WHERE name = 'Bob Roux'$$, '22023',
                 'phone "call me" is not a phone number: it is not a phone number', 'with its refusals');
SELECT throws_ok($$UPDATE customers SET fingerprint = 'x'$$, '0A000',
                 'cannot update column "fingerprint" of view "customers"', 'computed columns are read-only');
SELECT results_eq($$SELECT client_id = (SELECT id FROM clients WHERE siren = '732829320'), invoice_number, amount, balance, status FROM invoices$$,
                  $$VALUES (true, 'FAC-10', 1200.00, 1200.00, 'overdue')$$, 'seed 001''s invoices, status from the ledger and due date');
SELECT lives_ok($$INSERT INTO payments (invoice_id, amount, reference) SELECT id, 200, 'CHQ-1' FROM invoices$$,
                'INSERT INTO payments posts a payment');
SELECT results_eq($$SELECT amount_paid, balance, status FROM invoices$$, $$VALUES (200.00, 1000.00, 'partial')$$,
                  'allocated and on the ledger like any other');
SELECT results_eq($$SELECT "accountNumber", "originalPrincipal", "currentPrincipal", status FROM debt_accounts ORDER BY 1$$,
                  $$VALUES ('FAC-10', 1200.00, 1000.00, 'ACTIVE'), ('L-1', 500.00, 500.00, 'ACTIVE'), ('L-2', 80.00, 80.00, 'ACTIVE')$$,
                  'seed 000''s debt_accounts with the documents'' camelCase names');
RESET ROLE;
SELECT pg_temp.as_app(72);
SELECT is((SELECT count(*)::int FROM customers) + (SELECT count(*)::int FROM file_uploads), 0,
          'another business sees none of it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
