-- The collection workflow, part 5: the daily dunning run, which fills the outbox.

-- The daily job: for every active rule and every active debt it matches on as_of (days past
-- due in range, bucket of those days, at least min_amount owed, no block, no open promise
-- falling due on or after as_of when the rule says so: it does not wait for run_dpd or
-- run_promises) that got no message from that rule within its cooldown, one rendered message in
-- the outbox. Set-based; the cooldown is read before any position is computed, so a rerun
-- the same day reads the debts once and writes nothing (and the dedup key would refuse a
-- second message anyway). Returns how many messages it queued and how many eligible debts had
-- no address for the channel.
CREATE FUNCTION collections.run_dunning(as_of date DEFAULT CURRENT_DATE)
    RETURNS TABLE (messages_queued bigint, skipped_without_recipient bigint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN QUERY
    WITH rules AS MATERIALIZED (
        SELECT r.business_id, r.id, r.template_id, r.min_dpd, r.max_dpd, r.min_amount,
               (as_of - r.cooldown)::date AS quiet_after, r.stop_on_open_promise, r.bucket,
               b.min_days AS bucket_min_days, b.max_days AS bucket_max_days, t.channel, t.subject, t.body
          FROM collections.dunning_rule r
          JOIN collections.dunning_template t
            ON t.business_id = r.business_id AND t.id = r.template_id AND t.active
          LEFT JOIN collections.bucket b ON b.business_id = r.business_id AND b.code = r.bucket
         WHERE r.active
    ), debts AS MATERIALIZED (
        -- Active debts of businesses with rules, with their days past due on as_of.
        SELECT d.business_id, d.id, d.customer_id, d.unpaid_since, d.active_plan_id,
               d.due_on, d.currency, d.external_ref,
               collections.days_past_due(d.unpaid_since, as_of, p.grace_days) AS days
          FROM collections.debt_account d
          JOIN collections.product p ON p.business_id = d.business_id AND p.id = d.product_id
         WHERE d.status = 'active'
           AND d.business_id IN (SELECT r.business_id FROM rules r)
    ), eligible AS MATERIALIZED (
        SELECT r.business_id, r.id AS rule_id, r.template_id, r.channel, r.subject, r.body,
               r.min_amount, d.id, d.customer_id, d.active_plan_id, d.due_on, d.currency,
               d.external_ref, d.days
          FROM rules r
          JOIN debts d
            ON d.business_id = r.business_id AND d.days >= r.min_dpd
           AND (r.max_dpd IS NULL OR d.days <= r.max_dpd)
           AND (r.bucket IS NULL OR (d.days >= r.bucket_min_days
                                     AND (r.bucket_max_days IS NULL OR d.days <= r.bucket_max_days)))
         WHERE NOT EXISTS (SELECT FROM collections.outbox o
                            WHERE o.business_id = d.business_id AND o.debt_account_id = d.id
                              AND o.rule_id = r.id AND o.as_of > r.quiet_after AND o.as_of <= as_of)
           AND NOT EXISTS (SELECT FROM collections.dunning_block k
                            WHERE k.business_id = d.business_id AND k.debt_account_id = d.id AND k.lifted_at IS NULL
                              AND k.blocked_from <= as_of AND (k.blocked_until IS NULL OR as_of < k.blocked_until))
           AND NOT EXISTS (SELECT FROM collections.dunning_block k
                            WHERE k.business_id = d.business_id AND k.customer_id = d.customer_id AND k.lifted_at IS NULL
                              AND k.blocked_from <= as_of AND (k.blocked_until IS NULL OR as_of < k.blocked_until))
           AND NOT (r.stop_on_open_promise AND EXISTS (
                        SELECT FROM collections.promise pr
                         WHERE pr.business_id = d.business_id AND pr.debt_account_id = d.id
                           AND pr.status = 'open' AND pr.due_on >= as_of))
    ), owed AS MATERIALIZED (
        -- What each eligible debt owes, once per debt (a debt may match several rules): the
        -- ledger's posted lines of its subledger, read in one pass (_ledger_position, as
        -- check_positions reads them) rather than four balance lookups per debt.
        SELECT e.business_id, e.id, lp.principal + lp.interest + lp.fee + lp.penalty AS outstanding
          FROM (SELECT DISTINCT x.business_id, x.id FROM eligible x) e
          JOIN collections._ledger_position lp ON lp.business_id = e.business_id AND lp.debt_account_id = e.id
         WHERE EXISTS (SELECT FROM eligible)   -- a rerun the same day reads no ledger line
    ), positioned AS MATERIALIZED (
        SELECT e.*, c.full_name,
               CASE e.channel WHEN 'email' THEN c.email WHEN 'letter' THEN c.metadata->>'postal_address'
                              ELSE c.phone END AS recipient,
               o.outstanding, due.overdue, due.next_due_on, due.next_due_amount,
               collections.currency_decimals(e.currency) AS decimals,
               (SELECT b.code FROM collections.bucket b
                 WHERE b.business_id = e.business_id AND b.min_days <= e.days
                   AND (b.max_days IS NULL OR e.days <= b.max_days)) AS bucket_code
          FROM eligible e
          JOIN owed o ON o.business_id = e.business_id AND o.id = e.id
          JOIN collections.customer c ON c.business_id = e.business_id AND c.id = e.customer_id
          LEFT JOIN LATERAL (
               SELECT coalesce(sum(i.remaining) FILTER (WHERE i.due_on < as_of), 0) AS overdue,
                      min(i.due_on) FILTER (WHERE i.due_on >= as_of) AS next_due_on,
                      (array_agg(i.remaining ORDER BY i.due_on, i.seq) FILTER (WHERE i.due_on >= as_of))[1]
                          AS next_due_amount
                 FROM collections.installment i
                WHERE e.active_plan_id IS NOT NULL
                  AND i.business_id = e.business_id AND i.plan_id = e.active_plan_id AND i.remaining > 0) plan ON true
         CROSS JOIN LATERAL (
               SELECT CASE WHEN e.active_plan_id IS NULL
                           THEN CASE WHEN e.due_on < as_of THEN o.outstanding ELSE 0 END
                           ELSE plan.overdue END AS overdue,
                      CASE WHEN e.active_plan_id IS NULL
                           THEN CASE WHEN e.due_on >= as_of THEN e.due_on END
                           ELSE plan.next_due_on END AS next_due_on,
                      CASE WHEN e.active_plan_id IS NULL
                           THEN CASE WHEN e.due_on >= as_of THEN o.outstanding END
                           ELSE plan.next_due_amount END AS next_due_amount) due
         WHERE o.outstanding > 0 AND (e.min_amount IS NULL OR o.outstanding >= e.min_amount)
    ), queued AS (
        INSERT INTO collections.outbox (business_id, channel, recipient, subject, body, debt_account_id,
                                        customer_id, rule_id, template_id, as_of, dedup_key)
        SELECT x.business_id, x.channel, x.recipient,
               collections._render_template(x.subject, x.vals), collections._render_template(x.body, x.vals),
               x.id, x.customer_id, x.rule_id, x.template_id, as_of,
               x.rule_id || ':' || x.id || ':' || to_char(as_of, 'YYYY-MM-DD')
          FROM (SELECT p.*, ARRAY[p.full_name, p.external_ref,
                                  round(p.outstanding, p.decimals)::text, round(p.overdue, p.decimals)::text,
                                  p.days::text, to_char(p.next_due_on, 'YYYY-MM-DD'),
                                  round(p.next_due_amount, p.decimals)::text, p.currency, p.bucket_code] AS vals
                  FROM positioned p WHERE p.recipient IS NOT NULL AND p.recipient <> '') x
        ON CONFLICT ON CONSTRAINT outbox_dedup_key_unique DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM queued),
           (SELECT count(*) FROM positioned p WHERE p.recipient IS NULL OR p.recipient = '');
END;
$$;
REVOKE EXECUTE ON FUNCTION collections.run_dunning(date) FROM PUBLIC;
COMMENT ON FUNCTION collections.run_dunning(date) IS
    'Daily job: queues one rendered reminder per eligible (rule, debt) not sent within the rule''s cooldown; idempotent per day.';
