-- A 2-line posting of one business, plain SQL in a transaction (one shard on the cluster).
\set b random(1, 64)
\set x random(1, 20)
\set y random(1, 20)
\set amount random(1, 100000)
BEGIN;
INSERT INTO crm_core.journal_entry (business_id) VALUES (:b) RETURNING id AS entry \gset
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (:b, :entry, :b * 100 + :x, :amount, NULL), (:b, :entry, :b * 100 + :y, NULL, :amount);
COMMIT;
