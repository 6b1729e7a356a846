-- Seed 002's validation queries ("Monitoring & Validation"), copied unchanged. Run them
-- against crm_erp's compatibility views: SET search_path = erp_legacy, pg_catalog; \i this file.
-- Validate journal entries balance
SELECT
    je.id,
    je.entry_number,
    je.total_debit,
    je.total_credit,
    CASE WHEN je.total_debit != je.total_credit THEN 'UNBALANCED' ELSE 'OK' END AS status
FROM journal_entry je
WHERE je.status = 'posted'
  AND je.total_debit != je.total_credit;

-- Should return 0 rows

-- Validate ledger immutability (no deleted entries)
SELECT COUNT(*) AS deleted_ledger_entries
FROM ledger
WHERE created_at < NOW() - INTERVAL '1 day'
  AND id NOT IN (
    SELECT MAX(id) FROM ledger GROUP BY account_id, business_id, transaction_date
  );

-- Should show no unexpected deletions

-- Check account balances accuracy
SELECT
    a.account_number,
    a.name,
    a.current_balance AS stored_balance,
    COALESCE(
        (SELECT balance_after
         FROM ledger
         WHERE ledger.account_id = a.id
         ORDER BY transaction_date DESC, id DESC
         LIMIT 1),
        0
    ) AS calculated_balance,
    CASE
        WHEN a.current_balance = COALESCE(
            (SELECT balance_after
             FROM ledger
             WHERE ledger.account_id = a.id
             ORDER BY transaction_date DESC, id DESC
             LIMIT 1),
            0
        ) THEN 'OK'
        ELSE 'MISMATCH'
    END AS status
FROM account a
WHERE a.is_active = TRUE;
