#!/usr/bin/env bash
# Where a crm_core posting's time goes: perf samples (cpu-clock, every CPU) of the backends
# while pgbench runs workload (a), 2-line postings over 1,000 accounts, 4 clients,
# synchronous_commit=off. Prints the top functions by self time (postgres processes only) and
# the share of the ledger's own library. perf's hardware counters are not available in every
# VM: cpu-clock samples are. Only pgbench's backends are sampled (perf record -p), so other
# work on a shared machine is left out, though contention still shows as lock and scheduler
# time.
# Usage: bench/ledger/profile.sh [seconds, default 10] [rows, default 30]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib.sh"
seconds=${1:-10}
rows=${2:-30}
cluster=bench-ledger-profile

bench_cluster "$cluster"
PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE crm_core" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d crm_core -c "CREATE EXTENSION crm_core" -f "$here/setup.sql" >/dev/null
# Warm-up: every backend's caches and balance slots, as in a ledger in use.
"$PGBENCH" -n -M prepared -c 4 -j 2 -T 3 -f "$here/a_postings.sql" crm_core >/dev/null 2>&1
"$PGBENCH" -n -M prepared -c 4 -j 2 -T "$((seconds + 4))" -f "$here/a_postings.sql" crm_core \
    > "$work/pgbench.out" 2>&1 &
bench=$!
sleep 2
backends=$(psql -X -A -t -d postgres -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
                                          WHERE datname = 'crm_core' AND backend_type = 'client backend'")
perf record -q -F 999 -e cpu-clock -p "$backends" -o "$work/perf.data" -- sleep "$seconds" \
    >/dev/null 2>&1
wait "$bench"
echo "pgbench: $(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench.out" | head -1) tps"
echo "Top functions by self time, pgbench's backends ($seconds s of cpu-clock samples):"
perf report -q -i "$work/perf.data" --no-children --sort dso,symbol \
    --percent-limit 0.5 2>/dev/null | head -n "$rows"
echo "Share of the samples by library:"
perf report -q -i "$work/perf.data" --no-children --sort dso 2>/dev/null | head -n 8
