#!/usr/bin/env bash
# Incremental bucket refresh vs full REFRESH MATERIALIZED VIEW on a 1,000,000-row payment table
# range-partitioned by month. Each scenario changes 1% of the rows (inserts, updates, deletes)
# in a different time spread, then times, side by side: crm_core's incremental refresh of a
# daily summary, a full REFRESH, and REFRESH CONCURRENTLY of the same aggregate as a matview.
# Prints median milliseconds of ROUNDS rounds and the ratio incremental / full REFRESH, and
# what the invalidation triggers add to writes (the 1% changes, and one bulk INSERT).
# Needs a build (scripts/build.sh); starts and destroys its own cluster.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
rounds=${ROUNDS:-5}
cluster=bench-matviews

"$CRM_ROOT/scripts/cluster.sh" destroy "$cluster" >/dev/null
"$CRM_ROOT/scripts/cluster.sh" start "$cluster" >/dev/null
trap '"$CRM_ROOT/scripts/cluster.sh" destroy "$cluster" >/dev/null' EXIT
eval "$("$CRM_ROOT/scripts/cluster.sh" env "$cluster")"
export PGDATABASE=bench
createdb bench
run() { psql_strict "$@"; }

echo "loading 1,000,000 payments over 365 days (12 monthly partitions) ..." >&2
run <<'SQL'
SET synchronous_commit = off;
CREATE EXTENSION crm_core;
CREATE TABLE payment (id bigint NOT NULL, business_id bigint NOT NULL, amount numeric(12,2) NOT NULL,
                      paid_at timestamptz NOT NULL) PARTITION BY RANGE (paid_at);
-- A twin without triggers, to measure what the invalidation triggers add to writes.
CREATE TABLE payment_twin (LIKE payment) PARTITION BY RANGE (paid_at);
DO $$
DECLARE
    parent text;
BEGIN
    FOR m IN 0..11 LOOP
        FOREACH parent IN ARRAY ARRAY['payment', 'payment_twin'] LOOP
            EXECUTE format('CREATE TABLE %s_m%s PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           parent, m, parent,
                           timestamptz '2025-01-01 00:00+00' + m * interval '1 month',
                           timestamptz '2025-01-01 00:00+00' + (m + 1) * interval '1 month');
        END LOOP;
    END LOOP;
END $$;
CREATE TABLE payment_default PARTITION OF payment DEFAULT;
CREATE TABLE payment_twin_default PARTITION OF payment_twin DEFAULT;
INSERT INTO payment
SELECT g, g % 50, (g::bigint * 7919 % 100000) / 100.0,
       timestamptz '2025-01-01 00:00+00' + (g - 1) * (interval '365 days' / 1000000)
FROM generate_series(1, 1000000) AS g;
CREATE INDEX ON payment (paid_at);
CREATE INDEX ON payment (id);
INSERT INTO payment_twin SELECT * FROM payment;
CREATE INDEX ON payment_twin (paid_at);
CREATE INDEX ON payment_twin (id);
VACUUM ANALYZE payment, payment_twin;

-- The same aggregate twice: a classic matview and a crm_core incremental summary.
CREATE MATERIALIZED VIEW daily_mv AS
    SELECT date_bin('1 day', paid_at, '2000-01-01 00:00+00') AS bucket, business_id,
           count(*) AS payments, sum(amount) AS total, max(amount) AS biggest
    FROM payment GROUP BY 1, 2;
CREATE UNIQUE INDEX ON daily_mv (bucket, business_id);
CREATE TABLE daily (bucket timestamptz, business_id bigint, payments bigint, total numeric,
                    biggest numeric, PRIMARY KEY (bucket, business_id));
SELECT crm_core.register_bucket_summary('daily', 'payment', 'paid_at', '1 day',
    $q$SELECT date_bin('1 day', paid_at, '2000-01-01 00:00+00') AS bucket, business_id,
              count(*), sum(amount), max(amount)
       FROM payment WHERE paid_at >= $1 AND paid_at < $2 GROUP BY 1, 2$q$, '1 hour') \g /dev/null
VACUUM ANALYZE daily;

CREATE FUNCTION elapsed_ms(sql text) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE started timestamptz := clock_timestamp();
BEGIN
    EXECUTE sql;
    RETURN extract(epoch FROM clock_timestamp() - started) * 1000;
END $$;

-- Changes 1% of the table (4,000 inserts, 4,000 updates half of which move a row to another
-- day, 2,000 deletes) with times spread over the last `days` days of the year.
-- The same random choices for both tables of a round (setseed).
CREATE FUNCTION change_one_percent(target regclass, days integer, round integer)
    RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    year_end constant timestamptz := '2026-01-01 00:00+00';
    span constant interval := days * interval '1 day';
    started timestamptz := clock_timestamp();
BEGIN
    PERFORM setseed(round / 100.0 + days / 1000.0);
    EXECUTE format('INSERT INTO %s SELECT 2000000 + $1 * 10000 + g, g %% 50, g / 10.0, $2 - $3 * random()
                    FROM generate_series(1, 4000) AS g', target) USING round, year_end, span;
    EXECUTE format('UPDATE %1$s p SET amount = p.amount + 1,
                           paid_at = CASE WHEN p.id %% 2 = 0 THEN $1 - $2 * random() ELSE p.paid_at END
                    WHERE p.id IN (SELECT id FROM %1$s WHERE paid_at >= $1 - $2 ORDER BY id %% 7919, id LIMIT 4000)',
                   target) USING year_end, span;
    EXECUTE format('DELETE FROM %1$s WHERE id IN (SELECT id FROM %1$s WHERE paid_at >= $1 - $2
                                                 ORDER BY id %% 6007, id LIMIT 2000)', target)
        USING year_end, span;
    RETURN extract(epoch FROM clock_timestamp() - started) * 1000;
END $$;

CREATE TABLE result (scenario text, days integer, round integer, days_recomputed numeric,
                     write_ms double precision, twin_write_ms double precision,
                     incremental_ms double precision, full_ms double precision,
                     concurrently_ms double precision, equal boolean);
SQL

for scenario in "last 7 days:7" "last 30 days:30" "whole year:365"; do
    name=${scenario%%:*}
    days=${scenario##*:}
    echo "scenario: 1% of rows changed across the $name ..." >&2
    for round in $(seq 1 "$rounds"); do
        run -v name="$name" -v days="$days" -v round="$round" <<'SQL'
SELECT change_one_percent('payment', :days, :round) AS write_ms \gset
SELECT change_one_percent('payment_twin', :days, :round) AS twin_write_ms \gset
SELECT coalesce(sum(upper(r) - lower(r)) / 86400000000.0, 0) AS days_recomputed
FROM unnest((SELECT range_agg(int8range(lower_us, upper_us)) FROM crm_core.bucket_invalidation)) AS r \gset
SELECT elapsed_ms($$SELECT crm_core.refresh_now('daily')$$) AS incremental \gset
SELECT elapsed_ms('REFRESH MATERIALIZED VIEW daily_mv') AS full_refresh \gset
SELECT elapsed_ms('REFRESH MATERIALIZED VIEW CONCURRENTLY daily_mv') AS concurrent_refresh \gset
INSERT INTO result
SELECT :'name', :days, :round, :days_recomputed, :write_ms, :twin_write_ms,
       :incremental, :full_refresh, :concurrent_refresh,
       NOT EXISTS (SELECT * FROM daily EXCEPT SELECT * FROM daily_mv)
       AND NOT EXISTS (SELECT * FROM daily_mv EXCEPT SELECT * FROM daily);
SQL
    done
done

echo "bulk load: 200,000-row INSERTs into each table, alternating ..." >&2
bulk=$(run -At <<'SQL'
CREATE FUNCTION bulk_insert_ms(target regclass, round integer) RETURNS double precision
    LANGUAGE sql AS $$
    SELECT elapsed_ms(format('INSERT INTO %s SELECT %s + g, g %% 50, 1,
                                     timestamptz %L + g * interval %L FROM generate_series(1, 200000) AS g',
                             target, 3000000 + round * 200000, '2025-06-01 00:00+00', '1 second'))
$$;
WITH rounds AS (
    SELECT CASE WHEN r % 2 = 0 THEN bulk_insert_ms('payment', r) END AS with_triggers,
           bulk_insert_ms('payment_twin', r) AS twin,
           CASE WHEN r % 2 = 1 THEN bulk_insert_ms('payment', r) END AS with_triggers_after
    FROM generate_series(1, 6) AS r)
SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(with_triggers, with_triggers_after))
              / percentile_cont(0.5) WITHIN GROUP (ORDER BY twin))::numeric, 2)
FROM rounds;
SQL
)

echo
run -P footer=off <<'SQL'
SELECT scenario AS "1% changed across",
       round(max(days_recomputed)) AS "days recomputed",
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY write_ms)
              / percentile_cont(0.5) WITHIN GROUP (ORDER BY twin_write_ms))::numeric, 2) AS "write cost vs no trigger",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY incremental_ms)::numeric, 1) AS "incremental ms",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY full_ms)::numeric, 1) AS "REFRESH ms",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY concurrently_ms)::numeric, 1) AS "CONCURRENTLY ms",
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY incremental_ms)
              / percentile_cont(0.5) WITHIN GROUP (ORDER BY full_ms))::numeric, 3) AS "incremental / REFRESH",
       bool_and(equal) AS "summary = matview"
FROM result GROUP BY scenario, days ORDER BY days;
SQL
echo "bulk INSERT of 200,000 rows (median of 6, alternating order), cost vs the twin without triggers: ${bulk}x"
