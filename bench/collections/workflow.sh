#!/usr/bin/env bash
# crm_collections workflow benchmark, in one throwaway cluster:
#  C) run_dunning over DEBTS debts (default 1,000,000) and 10 rules: the first run of the day
#     and a rerun the same day (must queue 0 messages; target at most 0.1x the first run).
#     ROUNDS rounds (default 3), each from an empty outbox; medians.
#  D) CLAIM outbox messages (default 100,000) claimed by 4 concurrent workers (claim_outbox in
#     batches of BATCH, outbox_done for each, a commit per batch): wall time, throughput, and
#     that no message was handed out twice and none was left. ROUNDS rounds; medians.
# The machine may be shared: figures are medians of interleaved rounds; say so with them.
# Usage: bench/collections/workflow.sh     DEBTS=100000 CLAIM=20000 bench/collections/workflow.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib.sh"
debts=${DEBTS:-1000000}
claim=${CLAIM:-100000}
batch=${BATCH:-100}
rounds=${ROUNDS:-3}
cluster=bench-workflow

[ -n "${SKIP_BUILD:-}" ] || "$root/scripts/build.sh" >/dev/null
"$root/scripts/cluster.sh" destroy "$cluster" >/dev/null
"$root/scripts/cluster.sh" start "$cluster" >/dev/null
trap '"$root/scripts/cluster.sh" destroy "$cluster" >/dev/null' EXIT
eval "$("$root/scripts/cluster.sh" env "$cluster")"
value() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
seconds_since() { awk -v s="$1" -v e="$(date +%s%N)" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }

psql_quiet -d postgres -c "CREATE DATABASE workflow"
psql_quiet -d workflow -c "CREATE EXTENSION crm_collections CASCADE"
start=$(date +%s%N)
psql_quiet -d workflow -v debts="$debts" -f "$here/setup_workflow.sql"
echo "fixture: $debts debts, 10 rules, in $(seconds_since "$start") s"

echo "C) run_dunning over $debts debts and 10 rules ($rounds rounds; machine shared with other work)"
first_s=() rerun_s=()
for round in $(seq 1 "$rounds"); do
    psql_quiet -d workflow -c "TRUNCATE collections.outbox"
    start=$(date +%s%N)
    first=$(value -d workflow -c "SELECT messages_queued FROM collections.run_dunning()")
    first_s+=("$(seconds_since "$start")")
    start=$(date +%s%N)
    again=$(value -d workflow -c "SELECT messages_queued FROM collections.run_dunning()")
    rerun_s+=("$(seconds_since "$start")")
    echo "   round $round: first run ${first_s[-1]} s ($first messages), rerun ${rerun_s[-1]} s ($again messages)"
    if [ "$again" != 0 ]; then echo "FAIL: the rerun queued $again messages" >&2; exit 1; fi
done
first_median=$(printf '%s\n' "${first_s[@]}" | median)
rerun_median=$(printf '%s\n' "${rerun_s[@]}" | median)
echo "   median: first run $first_median s, rerun $rerun_median s = $(awk -v a="$rerun_median" -v b="$first_median" 'BEGIN { printf "%.3f", a / b }')x the first (target <= 0.1x)"

echo "D) $claim messages claimed by 4 workers, batches of $batch ($rounds rounds)"
psql_quiet -d workflow <<'SQL'
CREATE TABLE claimed (worker int NOT NULL, id bigint NOT NULL);
CREATE PROCEDURE work(worker int, batch int) LANGUAGE plpgsql AS $$
DECLARE
    got int;
BEGIN
    LOOP
        WITH c AS (SELECT id FROM collections.claim_outbox('sms', batch)),
             done AS (SELECT collections.outbox_done(c.id, 'ok') FROM c)
        INSERT INTO claimed SELECT worker, c.id FROM c WHERE (SELECT count(*) FROM done) >= 0;
        GET DIAGNOSTICS got = ROW_COUNT;
        COMMIT;
        EXIT WHEN got = 0;
    END LOOP;
END $$;
SQL
claim_s=()
for round in $(seq 1 "$rounds"); do
    psql_quiet -d workflow -c "TRUNCATE collections.outbox, claimed" \
        -c "INSERT INTO collections.outbox (business_id, channel, recipient, body, debt_account_id, customer_id, as_of, dedup_key)
            SELECT 1, 'sms', '+33600000000', 'bench ' || i, 1, 1, CURRENT_DATE, 'claim:' || i FROM generate_series(1, $claim) AS i" \
        -c "VACUUM ANALYZE collections.outbox"
    start=$(date +%s%N)
    pids=()
    for worker in 1 2 3 4; do
        psql_quiet -d workflow -c "CALL work($worker, $batch)" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    claim_s+=("$(seconds_since "$start")")
    read -r handed distinct left < <(value -F ' ' -d workflow -c \
        "SELECT (SELECT count(*) FROM claimed), (SELECT count(DISTINCT id) FROM claimed),
                (SELECT count(*) FROM collections.outbox WHERE status <> 'sent')")
    echo "   round $round: ${claim_s[-1]} s, handed out $handed, distinct $distinct, not sent $left"
    if [ "$handed" != "$claim" ] || [ "$distinct" != "$claim" ] || [ "$left" != 0 ]; then
        echo "FAIL: a message was handed out twice or lost" >&2; exit 1
    fi
done
claim_median=$(printf '%s\n' "${claim_s[@]}" | median)
echo "   median: $claim_median s = $(awk -v n="$claim" -v s="$claim_median" 'BEGIN { printf "%.0f", n / s }') messages/s claimed and marked sent, none twice, none lost"
