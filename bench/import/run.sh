#!/usr/bin/env bash
# Import benchmark (seed 003's daily loan file, voice_csv), in one throwaway cluster:
#  1. generate the file (crm-core demo-data --voice-only; CUSTOMERS=760000 gives about 1M rows);
#  2. the baseline: a plain \copy of the file into a bare table of text columns;
#  3. crm-core import of the file: rows/s of each stage (COPY into import_row, validate, apply)
#     as the loader reports them, the whole import's time, and the loader's peak memory
#     (maximum resident set size, GNU time): constant whatever the file's size;
#  4. the same loans the next day with 1% of them changed (a new file: amount lowered on every
#     100th loan): target at most 0.1x the first import's time (only the changed loans are
#     touched: the others are duplicates found by the per-record digest).
# Usage: bench/import/run.sh                 (CUSTOMERS=760000, about 1M rows: hours on a small machine)
#        CUSTOMERS=20000 bench/import/run.sh (about 26,000 rows)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib.sh"
customers=${CUSTOMERS:-760000}
cluster=bench-import
loader=$root/build/cmake/tools/crm-core/crm-core

bench_cluster "$cluster"
export PGDATABASE=bench_import PGOPTIONS="-c client_min_messages=warning"
createdb bench_import
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION crm_collections CASCADE;
INSERT INTO crm_core.business (id, name) VALUES (1, 'Bench Recouvrement');
SELECT * FROM collections.setup_business(1, 'EUR', 'FR');
CREATE TABLE bare_loans (customer_name text, phone text, national_id text, loan_id text, amount text,
                         due_date text, branch text, cluster text, employee text);
SQL
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

start=$(now)
"$loader" demo-data --customers "$customers" --voice-only --seed 7 --out "$work" >/dev/null
generated=$(now)
file=$work/voice_csv/loans.csv
rows=$(($(wc -l <"$file") - 1))
echo "file: $rows rows, $(du -h "$file" | cut -f1), generated in $(seconds "$start" "$generated") s"

start=$(now)
psql -X -q -c "\\copy bare_loans FROM '$file' CSV HEADER"
copied=$(now)
baseline=$(seconds "$start" "$copied")
echo "baseline \\copy into a bare table: $baseline s ($(awk -v r="$rows" -v s="$baseline" 'BEGIN { printf "%d", r / s }') rows/s)"

# One import: its stages' final progress lines, its time and peak RSS.
import_file() {
    local log=$work/import.log
    start=$(now)
    /usr/bin/time -f 'peak_rss_kb %M' "$loader" import --source voice_csv --business 1 "$1" >"$work/summary" 2>"$log"
    finished=$(now)
    grep -E '^(loading|validating|applying): 100%' "$log" | sort -u -t: -k1,1 | sed 's/^/  /'
    echo "  total: $(seconds "$start" "$finished") s; loader peak RSS: $(($(awk '/^peak_rss_kb/ { print $2 }' "$log") / 1024)) MiB"
    grep -E '^  (applied|duplicate|invalid|skipped) ' "$work/summary" | tr -s ' ' | paste -sd' ' | sed 's/^/  rows:/'
}
echo "crm-core import (first import):"
import_file "$file"
first=$(seconds "$start" "$finished")

awk -F, -v OFS=, 'NR > 1 && NR % 100 == 0 && $5 ~ /^[0-9.]+$/ && $5 > 2 { $5 = sprintf("%.2f", $5 - 1) } { print }' \
    "$file" >"$work/voice_csv/loans-next-day.csv"
echo "crm-core import (the next day, 1% of the loans changed):"
import_file "$work/voice_csv/loans-next-day.csv"
second=$(seconds "$start" "$finished")
echo "re-import with 1% changed / first import: $(awk -v a="$second" -v b="$first" 'BEGIN { printf "%.3f", a / b }')x (target <= 0.1x)"
echo "first import / baseline \\copy: $(awk -v a="$first" -v b="$baseline" 'BEGIN { printf "%.0f", a / b }')x"
echo "checks after both imports (check_balances, check_positions; 0 0 expected): $(psql -X -A -t -c \
    "SELECT (SELECT count(*) FROM crm_core.check_balances()) || ' ' || (SELECT count(*) FROM collections.check_positions())")"
