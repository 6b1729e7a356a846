-- Dashboards: materialized views kept fresh by crm_core (refresh_due, concurrently), each read
-- through a view that shows the current business's rows only (a materialized view has no
-- row-level security of its own).

-- Portfolio aging: debts and what they owe per bucket (the bucket as of the last run_dpd or
-- money event; outstanding from the ledger).
CREATE MATERIALIZED VIEW collections.portfolio_aging_mv AS
SELECT d.business_id,
       d.currency,
       coalesce(b.code, 'none') AS bucket,
       min(b.min_days) AS min_days,
       count(*) AS debts,
       sum(l.principal + l.interest + l.fee + l.penalty) AS outstanding,
       sum(l.principal) AS principal,
       sum(l.interest) AS interest,
       sum(l.fee) AS fee,
       sum(l.penalty) AS penalty
  FROM collections.debt_account d
  JOIN collections._ledger_position l ON l.business_id = d.business_id AND l.debt_account_id = d.id
  LEFT JOIN collections.bucket b ON b.business_id = d.business_id AND b.id = d.bucket_id
 WHERE d.status = 'active'
 GROUP BY d.business_id, d.currency, coalesce(b.code, 'none');
CREATE UNIQUE INDEX portfolio_aging_mv_key ON collections.portfolio_aging_mv (business_id, currency, bucket);

-- Collections per day (UTC days): payments, amounts, reversals.
CREATE MATERIALIZED VIEW collections.collections_per_day_mv AS
SELECT p.business_id,
       coalesce(p.currency, '') AS currency,
       (p.paid_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS payments,
       sum(p.amount) AS collected,
       count(r.payment_id) AS reversed_payments,
       coalesce(sum(p.amount) FILTER (WHERE r.payment_id IS NOT NULL), 0) AS reversed_amount,
       sum(p.amount) - coalesce(sum(p.amount) FILTER (WHERE r.payment_id IS NOT NULL), 0) AS net_collected
  FROM collections.payment p
  LEFT JOIN collections.payment_reversal r ON r.business_id = p.business_id AND r.payment_id = p.id
 GROUP BY p.business_id, coalesce(p.currency, ''), (p.paid_at AT TIME ZONE 'UTC')::date;
CREATE UNIQUE INDEX collections_per_day_mv_key ON collections.collections_per_day_mv (business_id, currency, day);

-- Roll rates: for each of the last twelve months, how many debts moved from each bucket at the
-- start of the month to each bucket at the start of the next (from dpd_history).
CREATE MATERIALIZED VIEW collections.roll_rate_mv AS
WITH months AS (
    SELECT m::date AS month
      FROM generate_series(date_trunc('month', CURRENT_DATE) - interval '12 months',
                           date_trunc('month', CURRENT_DATE), interval '1 month') AS m
), state_at AS (
    SELECT m.month, h.business_id, h.debt_account_id, h.new_bucket_id
      FROM months m
     CROSS JOIN LATERAL (
           SELECT DISTINCT ON (x.business_id, x.debt_account_id) x.business_id, x.debt_account_id, x.new_bucket_id
             FROM collections.dpd_history x
            WHERE x.as_of < m.month
            ORDER BY x.business_id, x.debt_account_id, x.as_of DESC, x.id DESC) h
)
SELECT s.business_id,
       s.month,
       coalesce(fb.code, 'none') AS from_bucket,
       coalesce(tb.code, 'none') AS to_bucket,
       count(*) AS debts
  FROM state_at s
  JOIN state_at e
    ON e.business_id = s.business_id AND e.debt_account_id = s.debt_account_id
   AND e.month = (s.month + interval '1 month')::date
  LEFT JOIN collections.bucket fb ON fb.business_id = s.business_id AND fb.id = s.new_bucket_id
  LEFT JOIN collections.bucket tb ON tb.business_id = e.business_id AND tb.id = e.new_bucket_id
 GROUP BY s.business_id, s.month, coalesce(fb.code, 'none'), coalesce(tb.code, 'none');
CREATE UNIQUE INDEX roll_rate_mv_key ON collections.roll_rate_mv (business_id, month, from_bucket, to_bucket);

SELECT crm_core.register_matview('collections.portfolio_aging_mv', interval '15 minutes');
SELECT crm_core.register_matview('collections.collections_per_day_mv', interval '15 minutes');
SELECT crm_core.register_matview('collections.roll_rate_mv', interval '1 day');
