-- Seed 002 (Django ERP): its account, journal_entry and ledger tables as read-only views over
-- crm_core's ledger, so the ERP's published validation queries (docs/migration.md) run unchanged
-- with `SET search_path = collections_compat`. ledger.balance_after is the account's running
-- balance in its normal side (debits minus credits for assets and expenses, the reverse
-- otherwise), in the order the ERP read it: transaction date, then line (the opening balances an
-- erp_ledger import posts are dated the day of the import). Only posted entries. is_active is
-- the ERP's own flag, kept by the import (legacy_active); crm_core has no inactive accounts.
-- The views read as the caller (security_invoker), so tenant isolation applies.

CREATE VIEW collections_compat.account WITH (security_invoker = true) AS
SELECT a.id, a.business_id, a.code AS account_number, a.name, a.kind AS account_type, a.currency,
       p.code AS parent_account_number, crm_core.account_balance(a.id) AS current_balance,
       (a.metadata ->> 'legacy_active') IS DISTINCT FROM 'false' AS is_active
  FROM crm_core.account a
  LEFT JOIN crm_core.account p ON p.business_id = a.business_id AND p.id = a.parent_id;
COMMENT ON VIEW collections_compat.account IS
    'Seed 002''s account: account_number (code), account_type (kind), current_balance from the ledger.';

CREATE VIEW collections_compat.journal_entry WITH (security_invoker = true) AS
SELECT e.id, e.business_id, coalesce(e.source_ref, e.id::text) AS entry_number,
       e.effective_date AS transaction_date, e.memo AS description, e.status,
       t.total_debit, t.total_credit, e.created_at
  FROM crm_core.journal_entry e
  CROSS JOIN LATERAL (SELECT coalesce(sum(l.debit), 0) AS total_debit, coalesce(sum(l.credit), 0) AS total_credit
                        FROM crm_core.journal_line l
                       WHERE l.business_id = e.business_id AND l.entry_id = e.id) AS t;
COMMENT ON VIEW collections_compat.journal_entry IS
    'Seed 002''s journal_entry: entry_number (the source''s, else the id), totals from the lines.';

CREATE VIEW collections_compat.ledger WITH (security_invoker = true) AS
SELECT l.id, l.business_id, l.account_id, l.entry_id AS journal_entry_id,
       e.effective_date AS transaction_date, coalesce(l.debit, 0) AS debit,
       coalesce(l.credit, 0) AS credit, coalesce(l.memo, e.memo) AS description,
       sum(CASE a.normal_side WHEN 'debit' THEN coalesce(l.debit, 0) - coalesce(l.credit, 0)
                              ELSE coalesce(l.credit, 0) - coalesce(l.debit, 0) END)
           OVER (PARTITION BY l.business_id, l.account_id ORDER BY e.effective_date, l.id) AS balance_after,
       l.created_at
  FROM crm_core.journal_line l
  JOIN crm_core.journal_entry e ON e.business_id = l.business_id AND e.id = l.entry_id
  JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
 WHERE e.status = 'posted';
COMMENT ON VIEW collections_compat.ledger IS
    'Seed 002''s ledger: one row per posted line with the account''s running balance_after.';

GRANT SELECT ON collections_compat.account, collections_compat.journal_entry, collections_compat.ledger
    TO crm_core_app, crm_core_readonly;
