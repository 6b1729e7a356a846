-- A bare 2-line crm_core posting: cash against one of 1,000 accounts (business 2).
\set other random(0, 999)
WITH e AS (INSERT INTO crm_core.journal_entry (business_id) VALUES (2) RETURNING id)
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
SELECT 2, e.id, b.cash, 640, NULL FROM e, bench.bare b
UNION ALL SELECT 2, e.id, b.first + :other, NULL, 640 FROM e, bench.bare b;
