\set debit_account random(1, 1000)
\set credit_account random(1, 1000)
\set amount random(1, 100000)
BEGIN;
INSERT INTO bench.entry DEFAULT VALUES RETURNING id AS entry_id \gset
INSERT INTO bench.line (entry_id, account_id, debit, credit)
VALUES (:entry_id, :debit_account, :amount, NULL), (:entry_id, :credit_account, NULL, :amount);
END;
