-- Where each debt stands, read from the ledger (never stored, so it cannot drift), and the
-- audit that proves installments, allocations, adjustments and the ledger agree.

-- Days past due on as_of of a debt unpaid since unpaid_since, after grace_days.
CREATE FUNCTION collections.days_past_due(unpaid_since date, as_of date, grace_days integer DEFAULT 0)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_collections_days_past_due' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION collections.days_past_due(date, date, integer) IS
    'Days past due on as_of: 0 until unpaid_since + grace_days, then one more each day; 0 when unpaid_since is NULL.';

CREATE VIEW collections.debt_position WITH (security_invoker = true) AS
SELECT d.business_id,
       d.id AS debt_account_id,
       d.customer_id,
       d.external_ref,
       d.kind,
       d.currency,
       d.status,
       o.principal,
       o.interest,
       o.fee,
       o.penalty,
       o.principal + o.interest + o.fee + o.penalty AS outstanding,
       o.credit_balance,
       dpd.days AS days_past_due,
       b.code AS bucket,
       d.unpaid_since,
       CASE WHEN d.active_plan_id IS NULL
            THEN CASE WHEN d.due_on < CURRENT_DATE THEN o.principal + o.interest + o.fee + o.penalty ELSE 0 END
            ELSE coalesce(due.overdue, 0) END AS amount_overdue,
       CASE WHEN d.active_plan_id IS NULL
            THEN CASE WHEN d.due_on >= CURRENT_DATE AND o.principal + o.interest + o.fee + o.penalty > 0 THEN d.due_on END
            ELSE due.next_due_on END AS next_due_on,
       CASE WHEN d.active_plan_id IS NULL
            THEN CASE WHEN d.due_on >= CURRENT_DATE THEN o.principal + o.interest + o.fee + o.penalty END
            ELSE due.next_due_amount END AS next_due_amount,
       last_payment.paid_at AS last_paid_at,
       last_payment.amount AS last_paid_amount,
       d.active_plan_id,
       d.product_id
  FROM collections.debt_account d
  JOIN collections.product p ON p.business_id = d.business_id AND p.id = d.product_id
 CROSS JOIN LATERAL (
       SELECT crm_core.subledger_balance(p.principal_account_id, d.id) AS principal,
              crm_core.subledger_balance(p.interest_account_id, d.id) AS interest,
              crm_core.subledger_balance(p.fee_account_id, d.id) AS fee,
              crm_core.subledger_balance(p.penalty_account_id, d.id) AS penalty,
              crm_core.subledger_balance(p.credit_balance_account_id, d.id) AS credit_balance) o
 CROSS JOIN LATERAL (SELECT collections.days_past_due(d.unpaid_since, CURRENT_DATE, p.grace_days) AS days) dpd
  LEFT JOIN collections.bucket b
         ON b.business_id = d.business_id AND b.min_days <= dpd.days
        AND (b.max_days IS NULL OR dpd.days <= b.max_days)
  LEFT JOIN LATERAL (
       SELECT sum(i.remaining) FILTER (WHERE i.due_on < CURRENT_DATE) AS overdue,
              min(i.due_on) FILTER (WHERE i.due_on >= CURRENT_DATE) AS next_due_on,
              (array_agg(i.remaining ORDER BY i.due_on, i.seq) FILTER (WHERE i.due_on >= CURRENT_DATE))[1]
                  AS next_due_amount
         FROM collections.installment i
        WHERE i.business_id = d.business_id AND i.plan_id = d.active_plan_id AND i.remaining > 0) due
         ON true
  LEFT JOIN LATERAL (
       SELECT pm.paid_at, pm.amount
         FROM collections.payment pm
        WHERE pm.business_id = d.business_id AND pm.debt_account_id = d.id
          AND NOT EXISTS (SELECT FROM collections.payment_reversal r
                           WHERE r.business_id = pm.business_id AND r.payment_id = pm.id)
        ORDER BY pm.paid_at DESC, pm.id DESC
        LIMIT 1) last_payment ON true;
COMMENT ON VIEW collections.debt_position IS
    'Per debt: outstanding per component and total (crm_core subledger balances), credit balance, days '
    'past due and bucket today, amount overdue, next due date and amount, last payment, status.';

-- What the ledger holds per debt and component: the posted lines of the debt's subledger on
-- its product's receivable and credit-balance accounts (summed once per account and subledger).
CREATE VIEW collections._ledger_position WITH (security_invoker = true) AS
WITH lines AS (
    SELECT l.business_id, l.subledger, l.account_id,
           sum(coalesce(l.debit, 0) - coalesce(l.credit, 0)) AS net
      FROM crm_core.journal_line l
      JOIN crm_core.journal_entry e
        ON e.business_id = l.business_id AND e.id = l.entry_id AND e.status = 'posted'
     WHERE l.subledger IS NOT NULL
     GROUP BY l.business_id, l.subledger, l.account_id
)
SELECT d.business_id, d.id AS debt_account_id,
       coalesce(sum(l.net) FILTER (WHERE l.account_id = p.principal_account_id), 0) AS principal,
       coalesce(sum(l.net) FILTER (WHERE l.account_id = p.interest_account_id), 0) AS interest,
       coalesce(sum(l.net) FILTER (WHERE l.account_id = p.fee_account_id), 0) AS fee,
       coalesce(sum(l.net) FILTER (WHERE l.account_id = p.penalty_account_id), 0) AS penalty,
       coalesce(-sum(l.net) FILTER (WHERE l.account_id = p.credit_balance_account_id), 0) AS credit
  FROM collections.debt_account d
  JOIN collections.product p ON p.business_id = d.business_id AND p.id = d.product_id
  LEFT JOIN lines l ON l.business_id = d.business_id AND l.subledger = d.id
 GROUP BY d.business_id, d.id;

-- Every way a debt's position can disagree with its allocations or with the ledger; no rows
-- when all is well. check says which rule:
--   installment_paid      an installment's paid amount is not the sum of its allocations
--   ledger                the ledger's balance is not opening + charges - allocations - write-offs
--   plan                  the active plan's unpaid installments do not add up to the ledger
--   unpaid_since          the date days past due count from is not the oldest unpaid due date
--   status                paid_off with something owed, or active with nothing owed
-- Each side is aggregated once and joined by hash: one pass over allocations, adjustments,
-- installments and the debts' ledger lines.
CREATE FUNCTION collections.check_positions()
    RETURNS TABLE (business_id bigint, debt_account_id bigint, "check" text, component text,
                   expected text, found text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH installment_components AS (
        SELECT i.business_id, i.debt_account_id, i.id AS installment_id, i.plan_id, i.due_on, c.component,
               c.due, c.paid, c.written_off
          FROM collections.installment i
         CROSS JOIN LATERAL (VALUES
               ('principal', i.principal_due, i.principal_paid, i.principal_written_off),
               ('interest', i.interest_due, i.interest_paid, i.interest_written_off),
               ('fee', i.fee_due, i.fee_paid, i.fee_written_off),
               ('penalty', i.penalty_due, i.penalty_paid, i.penalty_written_off)) AS c(component, due, paid, written_off)
    ), allocated AS (
        SELECT a.business_id, a.installment_id, c.component, sum(c.amount) AS amount
          FROM collections.payment_allocation a
         CROSS JOIN LATERAL (VALUES ('principal', a.principal), ('interest', a.interest), ('fee', a.fee),
                                    ('penalty', a.penalty)) AS c(component, amount)
         WHERE a.installment_id IS NOT NULL
         GROUP BY a.business_id, a.installment_id, c.component
    ), movements AS (
        SELECT d.business_id, d.id AS debt_account_id, 'principal' AS component,
               coalesce(d.opening_balance, d.principal) AS amount
          FROM collections.debt_account d
        UNION ALL
        SELECT x.business_id, x.debt_account_id, x.kind, x.amount
          FROM collections.adjustment x WHERE x.kind <> 'write_off'
        UNION ALL
        SELECT x.business_id, x.debt_account_id, c.component, -c.amount
          FROM collections.adjustment x
         CROSS JOIN LATERAL (VALUES ('principal', x.principal), ('interest', x.interest), ('fee', x.fee),
                                    ('penalty', x.penalty)) AS c(component, amount)
         WHERE x.kind = 'write_off'
        UNION ALL
        SELECT a.business_id, a.debt_account_id, c.component, c.amount
          FROM collections.payment_allocation a
         CROSS JOIN LATERAL (VALUES ('principal', -a.principal), ('interest', -a.interest), ('fee', -a.fee),
                                    ('penalty', -a.penalty), ('credit', a.credit)) AS c(component, amount)
    ), expected_ledger AS (
        SELECT m.business_id, m.debt_account_id, m.component, sum(m.amount) AS amount
          FROM movements m
         GROUP BY m.business_id, m.debt_account_id, m.component
    ), ledger AS (
        SELECT l.business_id, l.debt_account_id, c.component, c.amount
          FROM collections._ledger_position l
         CROSS JOIN LATERAL (VALUES ('principal', l.principal), ('interest', l.interest), ('fee', l.fee),
                                    ('penalty', l.penalty), ('credit', l.credit)) AS c(component, amount)
    ), planned AS (
        SELECT ic.business_id, ic.debt_account_id, ic.component,
               sum(ic.due - ic.paid - ic.written_off) AS amount,
               min(ic.due_on) FILTER (WHERE ic.due - ic.paid - ic.written_off > 0) AS oldest_unpaid
          FROM installment_components ic
          JOIN collections.debt_account d
            ON d.business_id = ic.business_id AND d.id = ic.debt_account_id AND d.active_plan_id = ic.plan_id
         GROUP BY ic.business_id, ic.debt_account_id, ic.component
    ), owed AS (
        SELECT l.business_id, l.debt_account_id, sum(l.amount) AS amount
          FROM ledger l WHERE l.component <> 'credit'
         GROUP BY l.business_id, l.debt_account_id
    ), oldest AS (
        SELECT p.business_id, p.debt_account_id, min(p.oldest_unpaid) AS due_on
          FROM planned p GROUP BY p.business_id, p.debt_account_id
    )
    SELECT ic.business_id, ic.debt_account_id, 'installment_paid', ic.component,
           coalesce(a.amount, 0)::text, ic.paid::text
      FROM installment_components ic
      LEFT JOIN allocated a
        ON a.business_id = ic.business_id AND a.installment_id = ic.installment_id
       AND a.component = ic.component
     WHERE ic.paid <> coalesce(a.amount, 0)
    UNION ALL
    SELECT l.business_id, l.debt_account_id, 'ledger', l.component, coalesce(e.amount, 0)::text, l.amount::text
      FROM ledger l
      LEFT JOIN expected_ledger e
        ON e.business_id = l.business_id AND e.debt_account_id = l.debt_account_id AND e.component = l.component
     WHERE coalesce(e.amount, 0) <> l.amount
    UNION ALL
    SELECT l.business_id, l.debt_account_id, 'plan', l.component, p.amount::text, l.amount::text
      FROM ledger l
      JOIN planned p
        ON p.business_id = l.business_id AND p.debt_account_id = l.debt_account_id AND p.component = l.component
     WHERE p.amount <> l.amount
    UNION ALL
    SELECT d.business_id, d.id, 'unpaid_since', NULL, u.expected::text, d.unpaid_since::text
      FROM collections.debt_account d
      JOIN owed o ON o.business_id = d.business_id AND o.debt_account_id = d.id
      LEFT JOIN oldest x ON x.business_id = d.business_id AND x.debt_account_id = d.id
     CROSS JOIN LATERAL (
           SELECT CASE WHEN d.active_plan_id IS NULL THEN CASE WHEN o.amount > 0 THEN d.due_on END
                       ELSE x.due_on END AS expected) u
     WHERE d.status IN ('active', 'paid_off') AND u.expected IS DISTINCT FROM d.unpaid_since
    UNION ALL
    SELECT d.business_id, d.id, 'status', NULL,
           CASE WHEN o.amount = 0 THEN 'paid_off' ELSE 'active' END, d.status
      FROM collections.debt_account d
      JOIN owed o ON o.business_id = d.business_id AND o.debt_account_id = d.id
     WHERE (d.status = 'paid_off' AND o.amount <> 0) OR (d.status = 'active' AND o.amount = 0)
     ORDER BY 1, 2, 3, 4;
END;
COMMENT ON FUNCTION collections.check_positions() IS
    'Debts whose installments, allocations, adjustments and ledger balances disagree (normally no rows).';
