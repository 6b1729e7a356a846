BEGIN;
INSERT INTO bench.entry DEFAULT VALUES RETURNING id AS entry_id \gset
INSERT INTO bench.line (entry_id, account_id, debit, credit)
SELECT :entry_id, i % 1000 + 1,
       CASE WHEN i % 2 = 0 THEN 10 END, CASE WHEN i % 2 = 1 THEN 10 END
FROM generate_series(1, 20000) AS i;
SET CONSTRAINTS ALL IMMEDIATE;
COMMIT;
