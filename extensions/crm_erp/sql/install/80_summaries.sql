-- Daily summaries, one per module, as materialized views kept fresh by crm_core's matview
-- registry (erp.schedule_maintenance() registers them). Days are local to each business's time
-- zone; reversed events are left out. Materialized views have no row-level security: the
-- *_mv views are for the extension owner and the service, applications read the views without
-- the suffix, which show the current business only.

-- A moment as a day in the business's time zone.
CREATE FUNCTION erp.local_day(business_id bigint, at timestamptz) RETURNS date
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (at AT TIME ZONE coalesce((SELECT s.time_zone FROM erp.business_settings s
                                       WHERE s.business_id = local_day.business_id), 'UTC'))::date
$$;

-- Whether an event was reversed.
CREATE FUNCTION erp.is_reversed(relation regclass, business_id bigint, event_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM erp.event_reversal r
                   WHERE r.business_id = is_reversed.business_id AND r.relid = relation
                     AND r.event_id = is_reversed.event_id)
$$;

CREATE MATERIALIZED VIEW water.daily_summary_mv AS
SELECT business_id, day, product_size_id,
       sum(produced)::bigint AS bottles_produced, sum(sold)::bigint AS bottles_sold,
       sum(sales)::bigint AS sales, sum(revenue) AS revenue
  FROM (SELECT s.business_id, erp.local_day(s.business_id, s.sold_at) AS day, s.product_size_id,
               0 AS produced, s.quantity AS sold, 1 AS sales, s.total_amount AS revenue
          FROM water.sale s
         WHERE NOT erp.is_reversed('water.sale', s.business_id, s.id)
        UNION ALL
        SELECT p.business_id, erp.local_day(p.business_id, p.produced_at), p.product_size_id,
               p.quantity, 0, 0, 0
          FROM water.production p
         WHERE NOT erp.is_reversed('water.production', p.business_id, p.id)) AS events
 GROUP BY business_id, day, product_size_id;
CREATE UNIQUE INDEX daily_summary_mv_key ON water.daily_summary_mv (business_id, day, product_size_id);

CREATE MATERIALIZED VIEW laundry.daily_summary_mv AS
SELECT business_id, day, sum(received)::bigint AS jobs_received, sum(charged) AS amount_charged,
       sum(delivered)::bigint AS jobs_delivered, sum(payments)::bigint AS payments,
       sum(paid) AS amount_paid
  FROM (SELECT j.business_id, erp.local_day(j.business_id, j.received_at) AS day, 1 AS received,
               j.total_amount AS charged, 0 AS delivered, 0 AS payments, 0 AS paid
          FROM laundry.job j
         WHERE NOT erp.is_reversed('laundry.job', j.business_id, j.id)
        UNION ALL
        SELECT j.business_id, erp.local_day(j.business_id, j.delivered_at), 0, 0, 1, 0, 0
          FROM laundry.job j WHERE j.delivered_at IS NOT NULL
        UNION ALL
        SELECT p.business_id, erp.local_day(p.business_id, p.paid_at), 0, 0, 0, 1, p.amount
          FROM laundry.payment p
         WHERE NOT erp.is_reversed('laundry.payment', p.business_id, p.id)) AS events
 GROUP BY business_id, day;
CREATE UNIQUE INDEX daily_summary_mv_key ON laundry.daily_summary_mv (business_id, day);

CREATE MATERIALIZED VIEW retail.daily_summary_mv AS
SELECT business_id, day, sum(sales)::bigint AS sales, sum(revenue) AS revenue,
       sum(items) AS items_sold, sum(exchanges)::bigint AS lpg_exchanges,
       sum(refills) AS lpg_refill_revenue, sum(deposits) AS deposits_taken
  FROM (SELECT s.business_id, erp.local_day(s.business_id, s.sold_at) AS day, 1 AS sales,
               s.total_amount AS revenue,
               (SELECT coalesce(sum(i.quantity), 0) FROM retail.sale_item i
                 WHERE i.business_id = s.business_id AND i.sale_id = s.id) AS items,
               0 AS exchanges, 0 AS refills, 0 AS deposits
          FROM retail.sale s
         WHERE NOT erp.is_reversed('retail.sale', s.business_id, s.id)
        UNION ALL
        SELECT x.business_id, erp.local_day(x.business_id, x.exchanged_at), 0, 0, 0, 1,
               x.refill_amount, x.deposit_amount
          FROM retail.lpg_exchange x
         WHERE NOT erp.is_reversed('retail.lpg_exchange', x.business_id, x.id)) AS events
 GROUP BY business_id, day;
CREATE UNIQUE INDEX daily_summary_mv_key ON retail.daily_summary_mv (business_id, day);

-- What applications read: the current business's rows (security barrier: the filter applies
-- before any function of the caller's query sees a row).
CREATE VIEW water.daily_summary WITH (security_barrier = true) AS
SELECT * FROM water.daily_summary_mv WHERE business_id = (SELECT crm_core.current_business());
CREATE VIEW laundry.daily_summary WITH (security_barrier = true) AS
SELECT * FROM laundry.daily_summary_mv WHERE business_id = (SELECT crm_core.current_business());
CREATE VIEW retail.daily_summary WITH (security_barrier = true) AS
SELECT * FROM retail.daily_summary_mv WHERE business_id = (SELECT crm_core.current_business());
COMMENT ON VIEW water.daily_summary IS 'Per day and bottle size: produced, sold, sales, revenue (current business).';
COMMENT ON VIEW laundry.daily_summary IS 'Per day: jobs received and delivered, amount charged, payments (current business).';
COMMENT ON VIEW retail.daily_summary IS 'Per day: sales, revenue, items sold, LPG exchanges, refills, deposits (current business).';

-- Registers the summaries with crm_core's matview registry (refreshed concurrently every
-- summaries_every by crm_core.refresh_due() or crm-core-service) and the hourly statement
-- matching job with crm_core's job registry. Run once after CREATE EXTENSION (the
-- registrations are data: pg_dump keeps them). Idempotent.
CREATE FUNCTION erp.schedule_maintenance(summaries_every interval DEFAULT interval '15 minutes',
                                         matching_every interval DEFAULT interval '1 hour')
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    summary regclass;
BEGIN
    FOREACH summary IN ARRAY ARRAY['water.daily_summary_mv', 'laundry.daily_summary_mv',
                                   'retail.daily_summary_mv']::regclass[] LOOP
        IF NOT EXISTS (SELECT FROM crm_core.matview m WHERE m.view = summary) THEN
            PERFORM crm_core.register_matview(summary, summaries_every);
        END IF;
    END LOOP;
    PERFORM crm_core.schedule_job('erp_match_statements', 'erp.match_all_statements()'::regprocedure,
                                  matching_every);
END;
$$;
REVOKE EXECUTE ON FUNCTION erp.schedule_maintenance(interval, interval) FROM PUBLIC;
COMMENT ON FUNCTION erp.schedule_maintenance(interval, interval) IS
    'Registers the daily summaries (crm_core.register_matview) and statement matching (crm_core.schedule_job). Idempotent.';
