-- One transaction posting for two businesses (usually on two shards, often two workers:
-- two-phase commit on the cluster).
\set b random(1, 64)
\set c random(1, 63)
\set x random(1, 20)
\set y random(1, 20)
\set amount random(1, 100000)
\set other (:b + :c - 1) % 64 + 1
BEGIN;
INSERT INTO crm_core.journal_entry (business_id) VALUES (:b) RETURNING id AS first \gset
INSERT INTO crm_core.journal_entry (business_id) VALUES (:other) RETURNING id AS second \gset
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (:b, :first, :b * 100 + :x, :amount, NULL), (:b, :first, :b * 100 + :y, NULL, :amount);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (:other, :second, :other * 100 + :x, :amount, NULL),
       (:other, :second, :other * 100 + :y, NULL, :amount);
COMMIT;
