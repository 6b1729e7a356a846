-- Days past due and buckets over time. A debt keeps the date its days past due count from
-- (unpaid_since, moved by every payment, reversal, charge, write-off and plan) and its bucket
-- with the day that bucket changes if nothing is paid (in dpd_due). run_dpd, the daily
-- close-of-business job, visits only the debts whose day has come (an index range), so a second
-- run for the same day, or a day when nothing moves, reads and writes nothing.

-- One row per change of a debt's bucket (and the first one, when it opens).
CREATE TABLE collections.dpd_history (
    business_id     bigint NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    debt_account_id bigint NOT NULL,
    as_of           date NOT NULL,
    days_past_due   integer NOT NULL,
    old_bucket_id   bigint,
    new_bucket_id   bigint,
    cause           text NOT NULL CONSTRAINT dpd_history_cause_known
                    CHECK (cause IN ('opened', 'payment', 'reversal', 'charge', 'write_off', 'plan', 'run_dpd')),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id, as_of)
) PARTITION BY RANGE (as_of);
CREATE INDEX dpd_history_debt_idx ON collections.dpd_history (business_id, debt_account_id, as_of);
CREATE TABLE collections.dpd_history_default PARTITION OF collections.dpd_history DEFAULT;
COMMENT ON TABLE collections.dpd_history IS
    'Every change of a debt''s delinquency bucket: when, days past due, from and to which bucket, why. Append-only.';

-- Where a debt unpaid since unpaid_since stands on as_of in its business's buckets, and the
-- day that changes if nothing is paid (NULL: never).
CREATE FUNCTION collections._bucket_state(business_id bigint, unpaid_since date, as_of date,
                                          grace_days integer,
                                          OUT days_past_due integer, OUT bucket_id bigint,
                                          OUT changes_on date)
    AS 'MODULE_PATHNAME', 'crm_collections_bucket_state' LANGUAGE C STABLE;
REVOKE EXECUTE ON FUNCTION collections._bucket_state(bigint, date, date, integer) FROM PUBLIC;

-- The close-of-business job: moves every debt whose bucket changes by as_of into its bucket,
-- one dpd_history row per change. Set-based; never goes back in time (a debt already evaluated
-- after as_of is left alone); one run at a time. With batch_size, at most that many debts (the
-- earliest due first): run_dpd_in_batches commits between batches so that payments on the debts
-- a long first run visits wait for a batch, not for the whole run. Returns how many debts it
-- examined and how many changed bucket.
CREATE FUNCTION collections.run_dpd(as_of date DEFAULT CURRENT_DATE, batch_size integer DEFAULT NULL)
    RETURNS TABLE (debts_examined bigint, buckets_changed bigint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be positive, not %', batch_size USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('collections.run_dpd'));
    -- Businesses whose buckets or grace days changed: every open debt of theirs is due now.
    WITH flagged AS (
        UPDATE collections.business_settings s SET dpd_full_run_needed = false
         WHERE s.dpd_full_run_needed RETURNING s.business_id
    )
    INSERT INTO collections.dpd_due AS x (business_id, debt_account_id, changes_on)
    SELECT d.business_id, d.id, as_of
      FROM collections.debt_account d JOIN flagged f ON f.business_id = d.business_id
     WHERE d.status IN ('active', 'paid_off')
    ON CONFLICT (business_id, debt_account_id) DO UPDATE SET changes_on = least(x.changes_on, excluded.changes_on);
    RETURN QUERY
    WITH due AS (
        SELECT x.business_id, x.debt_account_id AS id FROM collections.dpd_due x
         WHERE x.changes_on <= as_of
         ORDER BY x.changes_on, x.business_id, x.debt_account_id
         LIMIT batch_size
    ), locked AS (
        SELECT d.business_id, d.id, d.bucket_id, d.unpaid_since, p.grace_days
          FROM due
          JOIN collections.debt_account d ON d.business_id = due.business_id AND d.id = due.id
          JOIN collections.product p ON p.business_id = d.business_id AND p.id = d.product_id
         WHERE d.status IN ('active', 'paid_off') AND (d.bucket_as_of IS NULL OR d.bucket_as_of <= as_of)
         ORDER BY d.business_id, d.id
           FOR NO KEY UPDATE OF d
    ), computed AS (
        SELECT l.business_id, l.id, l.bucket_id AS old_bucket_id, s.days_past_due,
               s.bucket_id AS new_bucket_id, s.changes_on
          FROM locked l
         CROSS JOIN LATERAL collections._bucket_state(l.business_id, l.unpaid_since, as_of, l.grace_days) s
    ), moved AS (
        UPDATE collections.debt_account d
           SET bucket_id = c.new_bucket_id, bucket_as_of = as_of
          FROM computed c
         WHERE d.business_id = c.business_id AND d.id = c.id
        RETURNING 1
    ), rescheduled AS (
        INSERT INTO collections.dpd_due AS x (business_id, debt_account_id, changes_on)
        SELECT c.business_id, c.id, c.changes_on FROM computed c WHERE c.changes_on IS NOT NULL
        ON CONFLICT (business_id, debt_account_id) DO UPDATE SET changes_on = excluded.changes_on
        RETURNING 1
    ), unscheduled AS (
        -- Debts due that are not evaluated (closed meanwhile, or evaluated for a later day) and
        -- those whose bucket never changes by itself leave the list.
        DELETE FROM collections.dpd_due x USING due
         WHERE x.business_id = due.business_id AND x.debt_account_id = due.id
           AND NOT EXISTS (SELECT FROM computed c WHERE c.business_id = due.business_id
                                                    AND c.id = due.id AND c.changes_on IS NOT NULL)
        RETURNING 1
    ), history AS (
        INSERT INTO collections.dpd_history (business_id, debt_account_id, as_of, days_past_due,
                                             old_bucket_id, new_bucket_id, cause)
        SELECT c.business_id, c.id, as_of, c.days_past_due, c.old_bucket_id, c.new_bucket_id, 'run_dpd'
          FROM computed c
         WHERE c.new_bucket_id IS DISTINCT FROM c.old_bucket_id
        RETURNING 1
    )
    -- (rescheduled and unscheduled run although unread: data-modifying WITH always does.)
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM history);
END;
$$;
REVOKE EXECUTE ON FUNCTION collections.run_dpd(date, integer) FROM PUBLIC;
COMMENT ON FUNCTION collections.run_dpd(date, integer) IS
    'Close of business: moves debts into the bucket their days past due reach by as_of, writing dpd_history; idempotent per day.';

-- run_dpd in batches of batch_size debts, committing after each (CALL it outside a transaction
-- block; for the first run over a large portfolio, or after its buckets changed). A procedure
-- that commits cannot pin search_path: every name and operator here is schema-qualified.
CREATE PROCEDURE collections.run_dpd_in_batches(as_of date DEFAULT CURRENT_DATE,
                                                batch_size integer DEFAULT 10000,
                                                INOUT debts_examined bigint DEFAULT 0,
                                                INOUT buckets_changed bigint DEFAULT 0)
    LANGUAGE plpgsql AS $$
DECLARE
    batch record;
BEGIN
    IF batch_size IS NULL OR batch_size OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'batch_size must be positive, not %', pg_catalog.coalesce(batch_size::pg_catalog.text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    debts_examined := 0;
    buckets_changed := 0;
    LOOP
        SELECT * INTO batch FROM collections.run_dpd(as_of, batch_size);
        debts_examined := debts_examined OPERATOR(pg_catalog.+) batch.debts_examined;
        buckets_changed := buckets_changed OPERATOR(pg_catalog.+) batch.buckets_changed;
        COMMIT;
        EXIT WHEN batch.debts_examined OPERATOR(pg_catalog.<) batch_size;
    END LOOP;
END;
$$;
REVOKE EXECUTE ON PROCEDURE collections.run_dpd_in_batches(date, integer, bigint, bigint) FROM PUBLIC;
COMMENT ON PROCEDURE collections.run_dpd_in_batches(date, integer, bigint, bigint) IS
    'run_dpd in committed batches: payments wait for one batch at most, not for a whole first run.';

-- The close of business as a crm_core job (jobs are functions without arguments): run_dpd for
-- today, daily, as the role that installed the extension.
CREATE FUNCTION collections.run_dpd_job() RETURNS bigint
    LANGUAGE sql SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT r.buckets_changed FROM collections.run_dpd(CURRENT_DATE) AS r;
END;
REVOKE EXECUTE ON FUNCTION collections.run_dpd_job() FROM PUBLIC;
COMMENT ON FUNCTION collections.run_dpd_job() IS
    'run_dpd(CURRENT_DATE) for crm_core''s job registry; returns how many debts changed bucket.';
SELECT crm_core.schedule_job('collections.run_dpd', 'collections.run_dpd_job()', interval '1 day',
                             statement_timeout => interval '1 hour');
