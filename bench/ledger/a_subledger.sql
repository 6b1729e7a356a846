\set debit_account random(1, 1000)
\set credit_account random(1, 1000)
\set amount random(1, 100000)
\set loan random(1, 1000000)
BEGIN;
INSERT INTO crm_core.journal_entry (business_id) VALUES (1) RETURNING id AS entry_id \gset
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger)
VALUES (1, :entry_id, :debit_account, :amount, NULL, :loan), (1, :entry_id, :credit_account, NULL, :amount, NULL);
END;
