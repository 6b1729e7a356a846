-- The collection workflow's dashboards: materialized views kept fresh by crm_core (refreshed
-- CONCURRENTLY when due), each read through a view showing the current business's rows. Each
-- reads several tables (or payments that arrive after the rows it groups), so none fits a
-- crm_core bucket summary, which recomputes the buckets of one source table.

-- Per agent and month (UTC): actions, contacts (outcomes with is_contact), promises made,
-- kept and broken (by the month they fell due), and the money paid on debts while they were
-- assigned to the agent (reversed payments left out).
CREATE MATERIALIZED VIEW collections.agent_performance_mv AS
WITH events AS (
    SELECT a.business_id, a.agent_id, date_trunc('month', a.acted_at AT TIME ZONE 'UTC')::date AS month,
           1 AS actions, o.is_contact::int AS contacts, 0 AS promises_made, 0 AS promises_kept,
           0 AS promises_broken, 0::numeric AS promised, 0::numeric AS collected
      FROM collections.action a
      JOIN collections.action_outcome o ON o.business_id = a.business_id AND o.code = a.outcome
     WHERE a.agent_id IS NOT NULL
    UNION ALL
    SELECT p.business_id, p.agent_id, date_trunc('month', p.due_on)::date,
           0, 0, 1, (p.status = 'kept')::int, (p.status = 'broken')::int, p.amount, 0
      FROM collections.promise p
     WHERE p.agent_id IS NOT NULL
    UNION ALL
    SELECT s.business_id, s.agent_id, date_trunc('month', pm.paid_at AT TIME ZONE 'UTC')::date,
           0, 0, 0, 0, 0, 0, pm.amount
      FROM collections.assignment s
      JOIN collections.payment pm
        ON pm.business_id = s.business_id AND pm.debt_account_id = s.debt_account_id AND s.valid @> pm.paid_at
     WHERE NOT EXISTS (SELECT FROM collections.payment_reversal r
                        WHERE r.business_id = pm.business_id AND r.payment_id = pm.id)
)
SELECT e.business_id, e.agent_id, e.month,
       sum(e.actions) AS actions,
       sum(e.contacts) AS contacts,
       sum(e.promises_made) AS promises_made,
       sum(e.promises_kept) AS promises_kept,
       sum(e.promises_broken) AS promises_broken,
       round(sum(e.promises_kept)::numeric / nullif(sum(e.promises_kept) + sum(e.promises_broken), 0), 4)
           AS kept_rate,
       sum(e.promised) AS amount_promised,
       sum(e.collected) AS amount_collected
  FROM events e
 GROUP BY e.business_id, e.agent_id, e.month;
CREATE UNIQUE INDEX agent_performance_mv_key ON collections.agent_performance_mv (business_id, agent_id, month);

-- Promises by the ISO week (Monday) they fell due: made, kept, broken, cancelled, still open,
-- the kept rate among those settled, and the amounts.
CREATE MATERIALIZED VIEW collections.promise_kept_rate_mv AS
SELECT p.business_id,
       date_trunc('week', p.due_on)::date AS week,
       count(*) AS promises,
       count(*) FILTER (WHERE p.status = 'kept') AS kept,
       count(*) FILTER (WHERE p.status = 'broken') AS broken,
       count(*) FILTER (WHERE p.status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE p.status = 'open') AS open,
       round(count(*) FILTER (WHERE p.status = 'kept')::numeric
             / nullif(count(*) FILTER (WHERE p.status IN ('kept', 'broken')), 0), 4) AS kept_rate,
       sum(p.amount) AS amount_promised,
       sum(p.amount) FILTER (WHERE p.status = 'kept') AS amount_kept
  FROM collections.promise p
 GROUP BY p.business_id, date_trunc('week', p.due_on)::date;
CREATE UNIQUE INDEX promise_kept_rate_mv_key ON collections.promise_kept_rate_mv (business_id, week);

-- Reminders per day and channel: queued, sent, dead letters, debts reminded, and how many of
-- those debts paid within 7 days after (from the day of the run, UTC; reversed payments left
-- out) and how much.
CREATE MATERIALIZED VIEW collections.dunning_effect_mv AS
WITH reminded AS (
    SELECT o.business_id, o.as_of, o.channel, o.debt_account_id,
           count(*) AS queued,
           count(*) FILTER (WHERE o.status = 'sent') AS sent,
           count(*) FILTER (WHERE o.status = 'dead') AS dead
      FROM collections.outbox o
     GROUP BY o.business_id, o.as_of, o.channel, o.debt_account_id
)
SELECT r.business_id, r.as_of AS day, r.channel,
       sum(r.queued) AS queued,
       sum(r.sent) AS sent,
       sum(r.dead) AS dead,
       count(*) AS debts_reminded,
       count(*) FILTER (WHERE paid.amount > 0) AS debts_paid_within_7_days,
       coalesce(sum(paid.amount), 0) AS paid_within_7_days
  FROM reminded r
  LEFT JOIN LATERAL (
       SELECT sum(pm.amount) AS amount
         FROM collections.payment pm
        WHERE pm.business_id = r.business_id AND pm.debt_account_id = r.debt_account_id
          AND pm.paid_at >= (r.as_of::timestamp AT TIME ZONE 'UTC')
          AND pm.paid_at < ((r.as_of + 7)::timestamp AT TIME ZONE 'UTC')
          AND NOT EXISTS (SELECT FROM collections.payment_reversal x
                           WHERE x.business_id = pm.business_id AND x.payment_id = pm.id)) paid ON true
 GROUP BY r.business_id, r.as_of, r.channel;
CREATE UNIQUE INDEX dunning_effect_mv_key ON collections.dunning_effect_mv (business_id, day, channel);

SELECT crm_core.register_matview('collections.agent_performance_mv', interval '15 minutes');
SELECT crm_core.register_matview('collections.promise_kept_rate_mv', interval '1 hour');
SELECT crm_core.register_matview('collections.dunning_effect_mv', interval '1 hour');
UPDATE crm_core.matview SET by_extension = true
 WHERE view IN ('collections.agent_performance_mv'::regclass, 'collections.promise_kept_rate_mv'::regclass,
                'collections.dunning_effect_mv'::regclass);

CREATE VIEW collections.agent_performance WITH (security_barrier) AS
SELECT * FROM collections.agent_performance_mv WHERE business_id = crm_core.current_business();
CREATE VIEW collections.promise_kept_rate WITH (security_barrier) AS
SELECT * FROM collections.promise_kept_rate_mv WHERE business_id = crm_core.current_business();
CREATE VIEW collections.dunning_effect WITH (security_barrier) AS
SELECT * FROM collections.dunning_effect_mv WHERE business_id = crm_core.current_business();
COMMENT ON VIEW collections.agent_performance IS
    'Per agent and month: actions, contacts, promises made/kept/broken, kept rate, amount collected on assigned debts (current business).';
COMMENT ON VIEW collections.promise_kept_rate IS 'Promises by week due: kept, broken, open, kept rate (current business).';
COMMENT ON VIEW collections.dunning_effect IS
    'Reminders per day and channel, and the debts that paid within 7 days after (current business).';
GRANT SELECT ON collections.agent_performance, collections.promise_kept_rate, collections.dunning_effect
    TO crm_core_app, crm_core_readonly;
