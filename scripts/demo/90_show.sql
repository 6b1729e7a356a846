-- What the demo shows after scripts/setup.sh (and every time it runs again).
\pset footer off
SET crm_core.business_id = '1';
\echo
\echo 'Portfolio (collections.debt_position, from the ledger):'
SELECT status, count(*) AS debts, sum(outstanding) AS outstanding, sum(credit_balance) AS credit_balances
  FROM collections.debt_position WHERE business_id = 1 GROUP BY status ORDER BY status;
\echo 'Aging by bucket today:'
SELECT coalesce(bucket, 'none') AS bucket, count(*) AS debts, sum(outstanding) AS outstanding
  FROM collections.debt_position WHERE business_id = 1 AND status = 'active'
 GROUP BY bucket ORDER BY min(days_past_due);
\echo 'Collections of the last 7 days (dashboard collections.collections_per_day):'
SELECT day, payments, collected, reversed_payments, net_collected FROM collections.collections_per_day
 WHERE day > CURRENT_DATE - 7 ORDER BY day;
\echo 'Five debts most past due:'
SELECT external_ref, outstanding, days_past_due, bucket, amount_overdue, next_due_on, last_paid_at::date
  FROM collections.debt_position WHERE business_id = 1 AND status = 'active'
 ORDER BY days_past_due DESC, debt_account_id LIMIT 5;
\echo 'Checks (normally 0): positions against allocations and ledger, kept balances against lines:'
SELECT (SELECT count(*) FROM collections.check_positions()) AS check_positions,
       (SELECT count(*) FROM crm_core.check_balances()) AS check_balances;
\echo 'Managed partitions and dashboards:'
SELECT parent, partitions, partitions_ahead, default_rows FROM crm_core.partitioned_tables ORDER BY parent::text;
SELECT view, last_status, staleness FROM crm_core.matview_status ORDER BY view::text;
