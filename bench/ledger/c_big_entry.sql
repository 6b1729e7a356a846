BEGIN;
INSERT INTO crm_core.journal_entry (business_id) VALUES (1) RETURNING id AS entry_id \gset
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
SELECT 1, :entry_id, i % 1000 + 1,
       CASE WHEN i % 2 = 0 THEN 10 END, CASE WHEN i % 2 = 1 THEN 10 END
FROM generate_series(1, 20000) AS i;
-- Run the deferred checks inside a statement, so statement_timeout bounds them.
SET CONSTRAINTS ALL IMMEDIATE;
COMMIT;
