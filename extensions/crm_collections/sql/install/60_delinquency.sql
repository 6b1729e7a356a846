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
-- The work of run_dpd for one business (only_business; NULL: every business), at most
-- batch_size debts. With a business, every statement names it: on a Citus cluster each is then
-- planned for that business's shard, on the node that runs it.
CREATE FUNCTION collections._run_dpd(as_of date, batch_size integer, only_business bigint)
    RETURNS TABLE (debts_examined bigint, buckets_changed bigint)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    flagged bigint[];
    -- The tables the statement below reads and writes (on a Citus worker: the business's shards).
    dpd_due text := 'collections.dpd_due';
    debt_account text := 'collections.debt_account';
    product text := 'collections.product';
    dpd_history text := 'collections.dpd_history';
    shards text[];
    manual_changes text;
BEGIN
    -- Businesses whose buckets or grace days changed: every open debt of theirs is due now.
    -- (Two statements: Citus cannot run an INSERT ... SELECT that joins an UPDATE's rows.)
    WITH unflagged AS (
        UPDATE collections.business_settings s SET dpd_full_run_needed = false
         WHERE s.dpd_full_run_needed AND (only_business IS NULL OR s.business_id = only_business)
         RETURNING s.business_id
    )
    SELECT array_agg(u.business_id) INTO flagged FROM unflagged u;
    IF flagged IS NOT NULL THEN
        INSERT INTO collections.dpd_due AS x (business_id, debt_account_id, changes_on)
        SELECT d.business_id, d.id, as_of
          FROM collections.debt_account d
         WHERE d.business_id = ANY (flagged) AND d.status IN ('active', 'paid_off')
           AND (only_business IS NULL OR d.business_id = only_business)
        ON CONFLICT (business_id, debt_account_id) DO UPDATE SET changes_on = least(x.changes_on, excluded.changes_on);
    END IF;
    IF only_business IS NOT NULL AND crm_core._ledger_distributed() THEN
        -- On a Citus worker that holds the business (run_dpd): the statement below runs on the
        -- business's shards here, as one local statement (Citus cannot plan its data-modifying
        -- WITH over distributed tables), after reading the business's buckets into this
        -- backend's cache (_bucket_state could not query them from a statement on shards).
        PERFORM collections._bucket_state(only_business, NULL, as_of, 0);
        EXECUTE 'SELECT pg_catalog.array_agg(pg_catalog.shard_name(u.t,
                            pg_catalog.get_shard_id_for_distribution_column(u.t, $2)) ORDER BY u.n)
                   FROM unnest($1) WITH ORDINALITY AS u(t, n)'
           INTO shards
          USING ARRAY['collections.dpd_due', 'collections.debt_account', 'collections.product',
                      'collections.dpd_history']::regclass[], only_business;
        dpd_due := shards[1];
        debt_account := shards[2];
        product := shards[3];
        dpd_history := shards[4];
        manual_changes := current_setting('citus.enable_manual_changes_to_shards');
        PERFORM set_config('citus.enable_manual_changes_to_shards', 'on', true);
    END IF;
    RETURN QUERY EXECUTE format($q$
    WITH due AS (
        SELECT x.business_id, x.debt_account_id AS id FROM %1$s x
         WHERE x.changes_on <= $1 AND ($3 IS NULL OR x.business_id = $3)
         ORDER BY x.changes_on, x.business_id, x.debt_account_id
         LIMIT $2
    ), locked AS (
        SELECT d.business_id, d.id, d.bucket_id, d.unpaid_since, p.grace_days
          FROM due
          JOIN %2$s d ON d.business_id = due.business_id AND d.id = due.id
          JOIN %3$s p ON p.business_id = d.business_id AND p.id = d.product_id
         WHERE d.status IN ('active', 'paid_off') AND (d.bucket_as_of IS NULL OR d.bucket_as_of <= $1)
         ORDER BY d.business_id, d.id
           FOR NO KEY UPDATE OF d
    ), computed AS (
        SELECT l.business_id, l.id, l.bucket_id AS old_bucket_id, s.days_past_due,
               s.bucket_id AS new_bucket_id, s.changes_on
          FROM locked l
         CROSS JOIN LATERAL collections._bucket_state(l.business_id, l.unpaid_since, $1, l.grace_days) s
    ), moved AS (
        UPDATE %2$s d
           SET bucket_id = c.new_bucket_id, bucket_as_of = $1
          FROM computed c
         WHERE d.business_id = c.business_id AND d.id = c.id
        RETURNING 1
    ), rescheduled AS (
        INSERT INTO %1$s AS x (business_id, debt_account_id, changes_on)
        SELECT c.business_id, c.id, c.changes_on FROM computed c WHERE c.changes_on IS NOT NULL
        ON CONFLICT (business_id, debt_account_id) DO UPDATE SET changes_on = excluded.changes_on
        RETURNING 1
    ), unscheduled AS (
        -- Debts due that are not evaluated (closed meanwhile, or evaluated for a later day) and
        -- those whose bucket never changes by itself leave the list.
        DELETE FROM %1$s x USING due
         WHERE x.business_id = due.business_id AND x.debt_account_id = due.id
           AND NOT EXISTS (SELECT FROM computed c WHERE c.business_id = due.business_id
                                                    AND c.id = due.id AND c.changes_on IS NOT NULL)
        RETURNING 1
    ), history AS (
        -- (The id from the table's identity, named: a shard has no identity of its own.)
        INSERT INTO %4$s (id, business_id, debt_account_id, as_of, days_past_due,
                        old_bucket_id, new_bucket_id, cause) OVERRIDING SYSTEM VALUE
        SELECT pg_catalog.nextval(%5$L), c.business_id, c.id, $1, c.days_past_due, c.old_bucket_id, c.new_bucket_id, 'run_dpd'
          FROM computed c
         WHERE c.new_bucket_id IS DISTINCT FROM c.old_bucket_id
        RETURNING 1
    )
    -- (rescheduled and unscheduled run although unread: data-modifying WITH always does.)
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM history)$q$,
        dpd_due, debt_account, product, dpd_history,
        pg_catalog.pg_get_serial_sequence('collections.dpd_history', 'id'))
        USING as_of, batch_size, only_business;
    IF manual_changes IS NOT NULL THEN
        PERFORM set_config('citus.enable_manual_changes_to_shards', manual_changes, true);
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._run_dpd(date, integer, bigint) FROM PUBLIC;

CREATE FUNCTION collections.run_dpd(as_of date DEFAULT CURRENT_DATE, batch_size integer DEFAULT NULL)
    RETURNS TABLE (debts_examined bigint, buckets_changed bigint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    business bigint;
    batch record;
    node record;
    is_coordinator boolean;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be positive, not %', batch_size USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('collections.run_dpd'));
    IF NOT crm_core._ledger_distributed() THEN
        RETURN QUERY SELECT * FROM collections._run_dpd(as_of, batch_size, NULL);
        RETURN;
    END IF;
    -- On a Citus cluster (docs/scale-out.md): each node moves the debts of the businesses it
    -- holds, one business at a time (_bucket_state reads the business's buckets on that node),
    -- at most batch_size debts per node; the coordinator asks every worker and adds up.
    debts_examined := 0;
    buckets_changed := 0;
    FOR business IN SELECT * FROM crm_core._ledger_businesses_here() LOOP
        EXIT WHEN debts_examined >= batch_size;
        SELECT * INTO batch FROM collections._run_dpd(as_of, (batch_size - debts_examined)::integer, business);
        debts_examined := debts_examined + batch.debts_examined;
        buckets_changed := buckets_changed + batch.buckets_changed;
    END LOOP;
    EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO is_coordinator;
    IF is_coordinator THEN
        FOR node IN EXECUTE
            'SELECT nodename, nodeport, success, result FROM pg_catalog.run_command_on_workers($1)'
            USING format('SELECT pg_catalog.row_to_json(r) FROM collections.run_dpd(%L, %s) AS r',
                         as_of, coalesce(batch_size::text, 'NULL'))
        LOOP
            IF NOT node.success THEN
                RAISE EXCEPTION 'run_dpd on worker %:% failed: %', node.nodename, node.nodeport, node.result
                    USING ERRCODE = 'external_routine_exception',
                          HINT = 'Run SELECT * FROM collections.run_dpd() on that worker to see the error.';
            END IF;
            debts_examined := debts_examined + (node.result::json ->> 'debts_examined')::bigint;
            buckets_changed := buckets_changed + (node.result::json ->> 'buckets_changed')::bigint;
        END LOOP;
    END IF;
    RETURN NEXT;
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
