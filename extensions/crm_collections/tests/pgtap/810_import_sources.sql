-- The other sources: seed 000's debt accounts (JSON lines, a draft plan), seed 001's
-- recouvrement tables (clients, then invoices, then payments, each finding what the previous
-- file imported), seed 002's ledger (accounts with balanced opening balances, journal entries;
-- an unbalanced source refused whole).
BEGIN;
SELECT plan(28);
\ir lib/fixture.sql
\ir lib/import.sql

-- ---------------------------------------------------------------------------------------
-- debt_accounts_json (seed 000)
SELECT pg_temp.batch(71, 'debt_accounts_json', ARRAY[
    '{"_id": {"$oid": "5f3a00000001"}, "accountNumber": "DA-1", "customer": {"fullName": "Léa Dubois", "phone": "06 11 22 33 44", "nationalId": "1850578006084", "email": "lea@example.fr"},
      "lender": {"name": "Banque Populaire", "reference": "LND-1"}, "originalPrincipal": {"$numberDecimal": "5000.00"}, "currentPrincipal": 3200.5,
      "currency": "EUR", "interestRate": 0.12, "openedAt": {"$date": "2024-01-15T09:00:00Z"}, "status": "DEFAULTED",
      "plan": {"status": "DRAFT", "installments": 6, "frequency": "MONTHLY", "firstDueDate": "2030-01-31"}}',
    '{"accountNumber": "DA-2", "customer": {"fullName": "LEA DUBOIS", "phone": "+33611223344", "nationalId": "1 85 05 78 006 084"},
      "originalPrincipal": 800, "currentPrincipal": 0, "status": "PAID"}',
    '{"accountNumber": "DA-3", "customer": {"fullName": "Léa Dubois", "phone": "0611223344", "nationalId": "1850578006084"},
      "originalPrincipal": 900, "currentPrincipal": 450, "openedAt": "2024-02-01", "status": "ACTIVE"}',
    '{"accountNumber": "DA-4", "customer": {"fullName": "Sans Montant", "phone": "0611223345"}, "originalPrincipal": "beaucoup", "currentPrincipal": 1, "currency": "EURO"}',
    '{"_shape_error": "the line is not a JSON object: an object not closed by } at byte 40", "_line": "{\"accountNumber\": \"DA-5\""}'
]::jsonb[]) AS mongo \gset
SELECT is(pg_temp.imported(:mongo), '2 0 1 2', 'debt accounts: 2 applied, the paid one skipped, 2 invalid');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :mongo AND line_no = 3),
          'status: the account is paid in the source: nothing to collect', 'a paid account is skipped, saying why');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :mongo AND line_no = 5),
          'currency: "EURO" is not an ISO 4217 currency code; originalPrincipal: "beaucoup" is not a number',
          'bad fields of a document are named by their Mongo names');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :mongo AND line_no = 6),
          'the line is not a JSON object: an object not closed by } at byte 40; accountNumber: missing; customer.fullName: missing; originalPrincipal: missing; currentPrincipal: missing',
          'a line that is not JSON is invalid, saying why');
SELECT results_eq($$SELECT external_ref, principal, opening_balance, opened_on, metadata ->> 'lender', metadata -> 'draft_plan' ->> 'status'
                      FROM collections.debt_account WHERE business_id = 71 ORDER BY external_ref$$,
                  $$VALUES ('DA-1', 5000.00, 3200.50, '2024-01-15'::date, 'Banque Populaire', 'DRAFT'),
                           ('DA-3', 900.00, 450.00, '2024-02-01'::date, NULL, NULL)$$,
                  'originalPrincipal is the principal, currentPrincipal what is owed, the plan a draft');
SELECT is((SELECT match_method FROM collections.import_row WHERE batch_id = :mongo AND line_no = 4), 'fingerprint',
          'the same person spelled and written differently is one customer');
SELECT lives_ok($$SELECT collections.activate_draft_plan((SELECT id FROM collections.debt_account WHERE external_ref = 'DA-1'))$$,
                'activate_draft_plan makes the draft the active plan');
SELECT results_eq($$SELECT count(*)::int, min(i.due_on), sum(i.principal_due) FROM collections.installment i
                     JOIN collections.debt_account d ON d.business_id = i.business_id AND d.id = i.debt_account_id
                    WHERE d.external_ref = 'DA-1'$$,
                  $$VALUES (6, '2030-01-31'::date, 3200.50)$$, 'six monthly installments of what it owes');
SELECT throws_ok($$SELECT collections.activate_draft_plan((SELECT id FROM collections.debt_account WHERE external_ref = 'DA-3'))$$,
                 '55000', format('debt account %s has no draft plan', (SELECT id FROM collections.debt_account WHERE external_ref = 'DA-3')),
                 'a debt without a draft plan is refused');

-- ---------------------------------------------------------------------------------------
-- recouvrement (seed 001): clients, invoices, payments
SELECT pg_temp.batch(71, 'recouvrement', ARRAY[
    '{"id": "1", "name": "SARL Dupont Plomberie", "email": "contact@dupont.example", "phone": "01 23 45 67 89", "siren": "732829320", "city": "Lyon"}',
    '{"id": "2", "name": "Boulangerie Roux", "email": "roux at example", "phone": "04 11 22 33 44", "siren": "552100554"}',
    '{"id": "3", "name": "Transports Morel", "phone": "05 55 66 77 88", "siren": "403052111"}'
]::jsonb[], 'clients') AS clients \gset
SELECT is(pg_temp.imported(:clients), '2 0 0 1', 'clients: 2 applied, 1 invalid (its email)');
SELECT is((SELECT source_ref || ' ' || national_id || ' ' || (metadata ->> 'city') FROM collections.customer WHERE full_name = 'SARL Dupont Plomberie'),
          '1 732829320 Lyon', 'a client is a customer: its SQLite id, SIREN as national id, address in metadata');
SELECT pg_temp.batch(71, 'recouvrement', ARRAY[
    '{"id": "10", "client_id": "1", "invoice_number": "FAC-10", "amount": "1200.00", "issue_date": "2025-01-10", "due_date": "2025-02-09", "status": "partial"}',
    '{"id": "11", "client_id": "1", "invoice_number": "FAC-11", "amount": "80", "issue_date": "2025-01-10", "due_date": "2025-02-09", "status": "cancelled"}',
    '{"id": "12", "client_id": "2", "invoice_number": "FAC-12", "amount": "80", "issue_date": "2025-01-10", "due_date": "2025-02-09"}',
    '{"id": "13", "client_id": "3", "invoice_number": "FAC-13", "amount": "300", "issue_date": "2025-03-01", "due_date": "2025-02-01"}',
    '{"id": "14", "client_id": "3", "invoice_number": "FAC-14", "amount": "300", "issue_date": "2025-03-01", "due_date": "2025-03-31", "status": "payee"}'
]::jsonb[], 'invoices') AS invoices \gset
SELECT is(pg_temp.imported(:invoices), '2 0 2 1', 'invoices: 2 applied, a cancelled one and one of an invalid client skipped, 1 invalid');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :invoices AND line_no = 4),
          'client_id: no client 2 was imported (import clients.csv first; was its line invalid?)',
          'an invoice of a client that was not imported is skipped, saying why');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :invoices AND line_no = 5),
          'due_date: 2025-02-01 is before issue_date 2025-03-01', 'an invoice due before it was issued is invalid');
SELECT results_eq($$SELECT external_ref, kind, outstanding FROM collections.debt_position WHERE business_id = 71 AND kind = 'invoice' ORDER BY 1$$,
                  $$VALUES ('FAC-10', 'invoice', 1200.00), ('FAC-14', 'invoice', 300.00)$$, 'invoices are debts of kind invoice');
SELECT pg_temp.batch(71, 'recouvrement', ARRAY[
    '{"id": "100", "invoice_id": "10", "amount": "480.00", "payment_date": "' || to_char(CURRENT_DATE - 1, 'DD/MM/YYYY') || '", "method": "virement", "reference": "VIR-1"}',
    '{"id": "101", "invoice_id": "14", "amount": "300", "payment_date": "' || (CURRENT_DATE - 2) || '", "method": "cheque"}',
    '{"id": "102", "invoice_id": "12", "amount": "80", "payment_date": "' || (CURRENT_DATE - 2) || '"}',
    '{"id": "103", "invoice_id": "10", "amount": "0", "payment_date": "' || (CURRENT_DATE - 2) || '", "method": "bitcoin"}'
]::jsonb[], 'payments') AS payments \gset
SELECT is(pg_temp.imported(:payments), '2 0 1 1', 'payments: 2 applied, 1 of a skipped invoice skipped, 1 invalid');
SELECT is((SELECT error FROM collections.import_row WHERE batch_id = :payments AND line_no = 5),
          'amount: must be more than 0; method: "bitcoin" is not one of virement, transfer, cheque, carte, card, especes, cash, prelevement',
          'a zero payment in an unknown method is invalid, naming both');
SELECT results_eq($$SELECT reference, amount, channel, paid_at::date, metadata ->> 'source_reference' FROM collections.payment WHERE business_id = 71 ORDER BY reference$$,
                  $$VALUES ('recouvrement-100', 480.00, 'bank_transfer', CURRENT_DATE - 1, 'VIR-1'),
                           ('recouvrement-101', 300.00, 'cheque', CURRENT_DATE - 2, NULL)$$,
                  'payments are collections payments, on their day, through the allocation');
SELECT results_eq($$SELECT external_ref, outstanding, status FROM collections.debt_position WHERE business_id = 71 AND kind = 'invoice' ORDER BY 1$$,
                  $$VALUES ('FAC-10', 720.00, 'active'), ('FAC-14', 0.00, 'paid_off')$$, 'and the invoices owe what is left');
SELECT is((SELECT count(*)::int FROM collections.check_positions()) + (SELECT count(*)::int FROM crm_core.check_balances()), 0,
          'positions and balances agree after the recouvrement import');

-- ---------------------------------------------------------------------------------------
-- erp_ledger (seed 002): a business with crm_core alone
INSERT INTO crm_core.business (id, name) VALUES (74, 'Tomtin Water');
SELECT pg_temp.batch(74, 'erp_ledger', ARRAY[
    '{"account_number": "1000", "name": "Assets", "account_type": "Asset", "opening_balance": "0"}',
    '{"account_number": "1170", "name": "Cash on hand", "account_type": "1", "parent_account_number": "1000", "opening_balance": "25 000,00"}',
    '{"account_number": "2100", "name": "Accounts payable", "account_type": "Liability", "opening_balance": "5000"}',
    '{"account_number": "3000", "name": "Owner''s capital", "account_type": "Equity", "opening_balance": "20000"}',
    '{"account_number": "4000", "name": "Sales", "account_type": "Revenue"}'
]::jsonb[], 'accounts', 'KES') AS accounts \gset
SELECT is(pg_temp.imported(:accounts), '5 0 0 0', 'the chart of accounts is applied');
SELECT results_eq($$SELECT a.code, a.kind, a.currency, crm_core.account_balance(a.id), p.code
                      FROM crm_core.account a LEFT JOIN crm_core.account p ON p.id = a.parent_id
                     WHERE a.business_id = 74 ORDER BY a.code$$,
                  $$VALUES ('1000', 'asset', 'KES', 0::numeric, NULL), ('1170', 'asset', 'KES', 25000.00, '1000'),
                           ('2100', 'liability', 'KES', 5000.00, NULL), ('3000', 'equity', 'KES', 20000.00, NULL),
                           ('4000', 'income', 'KES', 0, NULL)$$,
                  'accounts with their parents, and one balanced opening entry');
SELECT pg_temp.batch(74, 'erp_ledger', ARRAY[
    '{"entry_number": "JE-1", "transaction_date": "2026-01-05", "account_number": "1170", "is_debit": "true", "amount": "100"}',
    '{"entry_number": "JE-2", "transaction_date": "2026-01-06", "account_number": "1170", "is_debit": "true", "amount": "50"}',
    '{"entry_number": "JE-1", "transaction_date": "2026-01-05", "account_number": "4000", "is_debit": "false", "amount": "100"}',
    '{"entry_number": "JE-2", "transaction_date": "2026-01-06", "account_number": "4000", "is_debit": "false", "amount": "49.99"}'
]::jsonb[], 'journal_lines', 'KES') AS unbalanced \gset
SELECT is(pg_temp.validated(:unbalanced), 'refused', 'a journal with an unbalanced entry is refused');
SELECT is((SELECT refusal FROM collections.import_batch WHERE id = :unbalanced),
          '1 of its entries cannot be posted as they are (entry JE-2 does not balance: debits 50.00, credits 49.99); nothing of it is imported',
          'the refusal names the entry and its totals');
SELECT throws_ok(format('SELECT collections.apply_import_step(%s)', :unbalanced), '55000',
                 format('import batch %s is refused: 1 of its entries cannot be posted as they are (entry JE-2 does not balance: debits 50.00, credits 49.99); nothing of it is imported', :unbalanced),
                 'a refused batch is never applied');
SELECT pg_temp.batch(74, 'erp_ledger', ARRAY[
    '{"entry_number": "JE-1", "transaction_date": "2026-01-05", "description": "Water sale", "account_number": "1170", "is_debit": "true", "amount": "100"}',
    '{"entry_number": "JE-2", "transaction_date": "2026-01-06", "account_number": "1170", "is_debit": "true", "amount": "50"}',
    '{"entry_number": "JE-1", "transaction_date": "2026-01-05", "description": "Water sale", "account_number": "4000", "is_debit": "false", "amount": "100"}',
    '{"entry_number": "JE-2", "transaction_date": "2026-01-06", "account_number": "4000", "is_debit": "false", "amount": "50"}'
]::jsonb[], 'journal_lines', 'KES') AS journal \gset
SELECT is(pg_temp.imported(:journal, 1), '4 0 0 0', 'a balanced journal is applied, one entry per entry number');
SELECT results_eq($$SELECT source_ref, effective_date, memo, (SELECT count(*)::int FROM crm_core.journal_line l WHERE l.entry_id = e.id)
                      FROM crm_core.journal_entry e WHERE business_id = 74 AND source_ref LIKE 'JE-%' ORDER BY 1$$,
                  $$VALUES ('JE-1', '2026-01-05'::date, 'Water sale', 2), ('JE-2', '2026-01-06'::date, NULL, 2)$$,
                  'entries keep their number, date and description');
SELECT is((SELECT count(*)::int FROM crm_core.check_balances()), 0, 'crm_core.check_balances is empty after the ledger import');

SELECT * FROM finish();
ROLLBACK;
