#!/usr/bin/env bash
# Scale-out benchmark: the same ledger (64 businesses x 20 accounts) on one PostgreSQL node
# and on a Citus coordinator with two workers (crm_core.distribute(), 32 shards), all on this
# machine. Workloads (pgbench, 4 clients, synchronous_commit=off on every node):
#   a) a 2-line posting of one business, plain SQL in a transaction  (one shard)
#   b) the same through crm_core.post_entry()                        (one shard, via COPY)
#   c) one transaction posting for two businesses                    (two shards: 2PC)
#   d) a balance read with the tenant in the query (account_balances) (one shard)
#   e) a balance read by account id alone (account_balance(id))      (every shard)
# Prints tps and average latency for each, and the cluster's ratio to the single node.
# Usage: bench/citus/run.sh [seconds per pgbench slice, default 5] [rounds, default 3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib.sh"
seconds=${1:-5}
rounds=${2:-3}
single=bench-citus-single
cluster=bench-citus

"$root/scripts/build.sh" >/dev/null
"$root/scripts/build-citus.sh"
cleanup() {
    "$root/scripts/cluster.sh" destroy "$single" >/dev/null
    "$root/scripts/citus.sh" destroy "$cluster" >/dev/null
}
cleanup
trap cleanup EXIT
"$root/scripts/cluster.sh" start "$single" >/dev/null
"$root/scripts/citus.sh" start "$cluster" >/dev/null
PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench
work=$(mktemp -d)
trap 'rm -rf "$work"; cleanup' EXIT

# Connection settings of each variant, as PG* variables.
single_env=$("$root/scripts/cluster.sh" env "$single" | sed 's/PGDATABASE=.*/PGDATABASE=crm_core_bench/')
cluster_env=$("$root/scripts/citus.sh" env "$cluster")
in_variant() {  # variant command...
    local variant=$1
    shift
    if [ "$variant" = single ]; then eval "$single_env"; else eval "$cluster_env"; fi
    "$@"
}
sql() { in_variant "$1" psql -X -q -v ON_ERROR_STOP=1 "${@:2}" >/dev/null; }

in_variant single bash -c 'createdb crm_core_bench'
sql single -c 'CREATE EXTENSION crm_core'
sql cluster -c 'SELECT crm_core.distribute()'
for variant in single cluster; do
    sql "$variant" -f "$here/setup.sql"
done

run() {  # variant script -> "tps latency_ms failed"
    local out
    out=$(in_variant "$1" "$PGBENCH" -n -M prepared -c 4 -j 2 -T "$seconds" -f "$here/$2" 2>&1) || true
    printf '%s\n' "$out" > "$work/$1_$2.log"
    printf '%s %s %s\n' \
        "$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)" \
        "$(printf '%s\n' "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')" \
        "$(printf '%s\n' "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

workloads=(a_one_business.sql b_post_entry.sql c_two_businesses.sql d_balance.sql e_balance_by_id.sql)
declare -A tps latency
# The machine is shared: interleave the variants in short slices, keep each one's median.
for workload in "${workloads[@]}"; do
    for round in $(seq 1 "$rounds"); do
        for variant in single cluster; do
            read -r t l failed < <(run "$variant" "$workload")
            if [ "${failed:-0}" != 0 ] || [ -z "$t" ] || grep -q 'aborted' "$work/${variant}_$workload.log"; then
                echo "$variant $workload: failed transactions (see below)" >&2
                cat "$work/${variant}_$workload.log" >&2
                exit 1
            fi
            tps[$variant,$workload]="${tps[$variant,$workload]:-} $t"
            latency[$variant,$workload]="${latency[$variant,$workload]:-} $l"
            echo "  $workload round $round $variant: $t tps, $l ms" >&2
        done
    done
done

for variant in single cluster; do
    problems=$(in_variant "$variant" psql -X -At -c 'SELECT count(*) FROM crm_core.check_balances()')
    echo "  $variant: crm_core.check_balances() rows = $problems (must be 0)" >&2
    [ "$problems" = 0 ] || exit 1
done

echo
echo "Scale-out benchmark: one node vs a coordinator and two workers on the same machine"
echo "(4 clients, synchronous_commit=off; median of $rounds interleaved ${seconds}s slices)"
printf '%-22s %10s %10s %8s %12s %12s %8s\n' workload "single tps" "cluster tps" ratio \
    "single ms" "cluster ms" ratio
for workload in "${workloads[@]}"; do
    st=$(median ${tps[single,$workload]}); ct=$(median ${tps[cluster,$workload]})
    sl=$(median ${latency[single,$workload]}); cl=$(median ${latency[cluster,$workload]})
    printf '%-22s %10s %10s %7sx %12s %12s %7sx\n' "${workload%.sql}" "$st" "$ct" \
        "$(awk -v a="$ct" -v b="$st" 'BEGIN { printf "%.2f", a / b }')" "$sl" "$cl" \
        "$(awk -v a="$cl" -v b="$sl" 'BEGIN { printf "%.2f", a / b }')"
done
