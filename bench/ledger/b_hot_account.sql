\set credit_account random(2, 1000)
\set amount random(1, 100000)
BEGIN;
INSERT INTO crm_core.journal_entry (business_id) VALUES (1) RETURNING id AS entry_id \gset
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (1, :entry_id, 1, :amount, NULL), (1, :entry_id, :credit_account, NULL, :amount);
END;
