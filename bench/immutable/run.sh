#!/usr/bin/env bash
# Immutable ledger benchmark, one command, a few minutes:
#   1. posting throughput (pgbench: one entry + two lines per transaction, 4 clients) with
#      seal_ledger() running every second beside it, against the same workload without it,
#      in alternating pairs so drift on a shared machine hits both sides;
#   2. time to seal and to verify 1,000,000 journal lines (500,000 entries).
# Starts its own throwaway cluster (synchronous_commit=off) and destroys it at the end.
# Environment: BENCH_SECONDS (per run, default 8), BENCH_PAIRS (default 5), BENCH_CLIENTS (default 4),
#              BENCH_LINES (default 1000000).
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$CRM_ROOT"

seconds=${BENCH_SECONDS:-8}
pairs=${BENCH_PAIRS:-5}
clients=${BENCH_CLIENTS:-4}
lines=${BENCH_LINES:-1000000}
cluster=bench-immutable
work=$(mktemp -d)
chmod 755 "$work"

command -v bc >/dev/null || scripts/install-deps.sh bc >/dev/null
scripts/build.sh >/dev/null
scripts/cluster.sh start "$cluster" >/dev/null
trap 'scripts/cluster.sh destroy "$cluster" >/dev/null; rm -rf "$work"' EXIT
eval "$(scripts/cluster.sh env "$cluster")"
export PGDATABASE=crm_core_bench
dropdb --if-exists "$PGDATABASE"
createdb "$PGDATABASE"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION crm_core;
INSERT INTO crm_core.business (id, name) SELECT b, 'business ' || b FROM generate_series(1, 10) AS b;
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
SELECT b * 2 - 1, b, 'cash', 'Cash', 'asset', 'EUR' FROM generate_series(1, 10) AS b
UNION ALL SELECT b * 2, b, 'fees', 'Fees', 'income', 'EUR' FROM generate_series(1, 10) AS b;
SQL

cat > "$work/post.sql" <<'SQL'
\set b random(1, 10)
BEGIN;
INSERT INTO crm_core.journal_entry (business_id, memo) VALUES (:b, 'bench') RETURNING id AS entry \gset
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (:b, :entry, :b * 2 - 1, 10.25, NULL), (:b, :entry, :b * 2, NULL, 10.25);
END;
SQL

# Posting TPS for one run; with "seal", one session runs seal_ledger() every second beside
# pgbench (what maintenance does, far more often than the every-minute it needs).
post_tps() {
    local sealer=""
    # Both variants start from a fully sealed ledger: otherwise the sealing run would also pay
    # for sealing the backlog the previous plain run left behind.
    psql -qAt -c 'SELECT count(*) FROM crm_core.seal_ledger()' >/dev/null
    psql -qAt -c 'CHECKPOINT' >/dev/null
    if [ "$1" = seal ]; then
        touch "$work/sealing"
        (while [ -e "$work/sealing" ]; do echo 'SELECT count(*) FROM crm_core.seal_ledger();'; \
             sleep 1; done | psql -qAt >/dev/null 2>&1) &
        sealer=$!
    fi
    "$PGBIN/pgbench" -n -c "$clients" -j "$clients" -T "$seconds" -f "$work/post.sql" 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1
    if [ -n "$sealer" ]; then
        rm -f "$work/sealing"
        wait "$sealer" || true
    fi
}

# The machine is shared: runs alternate (plain, seal), (seal, plain) ... and each pair gives
# one ratio, so drift hits both sides; the median ratio is reported.
echo "posting throughput: $clients clients, $pairs pairs of ${seconds}s runs" >&2
plain_total=0; sealed_total=0; ratios=()
for pair in $(seq 1 "$pairs"); do
    if [ $((pair % 2)) -eq 1 ]; then
        plain=$(post_tps plain); sealed=$(post_tps seal)
    else
        sealed=$(post_tps seal); plain=$(post_tps plain)
    fi
    plain_total=$(echo "$plain_total + $plain" | bc -l)
    sealed_total=$(echo "$sealed_total + $sealed" | bc -l)
    ratios+=("$(echo "scale=3; $sealed / $plain" | bc -l)")
done
median_ratio=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
sealed_rows=$(psql -qAt -c 'SELECT coalesce(sum(rows_sealed), 0) FROM crm_core.seal_ledger()')
verify_ok=$(psql -qAt -c 'SELECT bool_and(ok) FROM crm_core.verify_ledger()')

echo "sealing and verifying $lines lines" >&2
entries=$((lines / 2))
psql -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO crm_core.business (id, name) VALUES (100, 'bulk');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
VALUES (1001, 100, 'cash', 'Cash', 'asset', 'EUR'), (1002, 100, 'fees', 'Fees', 'income', 'EUR');
BEGIN;
INSERT INTO crm_core.journal_entry (id, business_id, memo)
SELECT 10000000 + g, 100, 'bulk ' || g FROM generate_series(1, $entries) AS g;
INSERT INTO crm_core.journal_line (id, business_id, entry_id, account_id, debit, credit)
SELECT 10000000 + g * 2 - 1, 100, 10000000 + g, 1001, g % 1000 + 0.5, NULL FROM generate_series(1, $entries) AS g
UNION ALL
SELECT 10000000 + g * 2, 100, 10000000 + g, 1002, NULL, g % 1000 + 0.5 FROM generate_series(1, $entries) AS g;
COMMIT;
VACUUM ANALYZE crm_core.journal_entry, crm_core.journal_line;
SQL
# Elapsed seconds of one SQL statement.
time_sql() {
    local start end
    start=$(date +%s.%N)
    psql -qAt -v ON_ERROR_STOP=1 -c "$1" > "$work/out"
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
seal_s=$(time_sql 'SELECT * FROM crm_core.seal_ledger() WHERE business_id = 100')
bulk_rows=$(cut -d'|' -f3 "$work/out")
verify_s=$(time_sql 'SELECT ok, rows_checked FROM crm_core.verify_ledger(100)')
bulk_verify=$(cat "$work/out")

plain=$(echo "$plain_total / $pairs" | bc -l)
sealed=$(echo "$sealed_total / $pairs" | bc -l)
printf '\n%-52s %12s\n' "measure" "value"
printf '%-52s %12.1f\n' "posting TPS without seal_ledger (mean)" "$plain"
printf '%-52s %12.1f\n' "posting TPS with seal_ledger every second (mean)" "$sealed"
printf '%-52s %12s\n' "ratio of means with / without (target >= 0.9)" "$(ratio "$sealed" "$plain" 3)"
printf '%-52s %12s\n' "median of per-pair ratios" "$median_ratio"
printf '%-52s %s\n' "per-pair ratios" "${ratios[*]}"
printf '%-52s %12s\n' "rows sealed in the final catch-up; all verify ok" "$sealed_rows $verify_ok"
printf '%-52s %12s\n' "rows sealed (${entries} entries + ${lines} lines)" "$bulk_rows"
printf '%-52s %12.1f\n' "seconds to seal them" "$seal_s"
printf '%-52s %12.1f\n' "seconds to verify them (ok|rows)" "$verify_s"
printf '%-52s %12s\n' "verify result" "$bulk_verify"
printf '%-52s %12.0f\n' "lines sealed per second" "$(echo "$lines / $seal_s" | bc -l)"
printf '%-52s %12.0f\n' "lines verified per second" "$(echo "$lines / $verify_s" | bc -l)"
