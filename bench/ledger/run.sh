#!/usr/bin/env bash
# Ledger benchmark: crm_core against four other ledgers, side by side in one throwaway cluster.
#   minimal       the minimal tables a user writes (bench/ledger/minimal/setup.sql), no triggers:
#                 the physical limit
#   hand          the same tables with the PL/pgSQL a user writes by hand
#                 (minimal/hand_plpgsql.sql: per-line balance UPDATE, deferred per-line sum
#                 check, append-only guard)
#   plpgsql_all   crm_core's tables with all of crm_core's rules in plain PL/pgSQL
#                 (plpgsql_ledger.sql), crm_core's own triggers disabled
#   crm_off       crm_core's tables with crm_core's triggers disabled (CHECKs stay; the
#                 journal tables carry no foreign keys, the triggers check references): what
#                 the same tables cost without the ledger
#   crm_core      crm_core
# Workloads (pgbench, 4 clients, synchronous_commit=off):
#   a) 2-line postings over 1,000 accounts            -> throughput (tps)
#   b) the same, one side always the hot account 1    -> throughput (tps)
#   c) one entry of 20,000 lines                      -> time
#   d) COPY of 100,000 lines forming 50,000 entries   -> time
# and, for crm_core alone: (a) with the debit line in a random one of 1,000,000 subledgers, and batch
# posting, crm_core.post_entries() with 1,000 entries per call against 1,000 single-entry
# transactions (one client).
# Tenant isolation cost, a) and b) only: crm_core again, as a login of crm_core_app granted
# the business, with isolation off ("app": policies and tenant triggers disabled) and on
# ("tenant": each transaction starts with SET LOCAL crm_core.business_id, as behind PgBouncer).
# Usage: bench/ledger/run.sh [seconds per pgbench slice, default 5] [rounds, default 3]
# The machine may be shared: slices of the variants are interleaved, medians are reported.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib.sh"
seconds=${1:-5}
rounds=${2:-3}
cluster=bench-ledger
slow_timeout=${SLOW_TIMEOUT:-60s}

bench_cluster "$cluster"
PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench

variants=(minimal hand plpgsql_all crm_off crm_core)
tenant_variants=(app tenant)
# The directory of a variant's workload files (crm_core's tables or the minimal ones).
workloads_of() { case $1 in minimal | hand) echo "$here/minimal" ;; *) echo "$here" ;; esac; }
for variant in "${variants[@]}" "${tenant_variants[@]}"; do
    psql_quiet -d postgres -c "CREATE DATABASE $variant"
    case $variant in
        minimal) psql_quiet -d "$variant" -f "$here/minimal/setup.sql" ;;
        hand) psql_quiet -d "$variant" -f "$here/minimal/setup.sql" -f "$here/minimal/hand_plpgsql.sql" ;;
        *)
            psql_quiet -d "$variant" -c "CREATE EXTENSION crm_core"
            # Only crm_off and plpgsql_all run without crm_core's triggers: app and tenant are
            # crm_core itself, as an application login.
            if [ "$variant" = crm_off ] || [ "$variant" = plpgsql_all ]; then
                for table in journal_entry journal_line account fiscal_period; do
                    psql_quiet -d "$variant" -c "ALTER TABLE crm_core.$table DISABLE TRIGGER USER"
                done
            fi
            if [ "$variant" = plpgsql_all ]; then
                psql_quiet -d "$variant" -f "$here/plpgsql_ledger.sql"
            fi
            psql_quiet -d "$variant" -f "$here/setup.sql"
            ;;
    esac
    case "$variant" in
        app) psql_quiet -d "$variant" -f "$here/isolation_off.sql" ;&
        tenant) psql_quiet -d "$variant" -c "DO \$\$ BEGIN
                        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_app') THEN
                            CREATE ROLE bench_app LOGIN IN ROLE crm_core_app;
                        END IF; END \$\$" -c "SELECT crm_core.grant_business('bench_app', 1)" ;;
    esac
done
# The tenant variant's transactions declare their business first.
for workload in a_postings b_hot_account; do
    sed "s/^BEGIN;$/BEGIN;\nSET LOCAL crm_core.business_id = '1';/" "$here/$workload.sql" > "$work/tenant_$workload.sql"
done

# Workload d's files: 50,000 entries (ids from an offset per run) and their 100,000 lines.
make_copy_files() {
    local offset=$1
    awk -v o="$offset" 'BEGIN { for (k = 1; k <= 50000; k++) printf "%d\n", o + k }' \
        > "$work/entries_$offset.csv"
    awk -v o="$offset" 'BEGIN { srand(7); for (k = 1; k <= 50000; k++) {
            a = int(rand() * 1000) + 1; b = int(rand() * 1000) + 1; m = int(rand() * 100000) + 1;
            printf "%d,%d,%d,\n%d,%d,,%d\n", o + k, a, m, o + k, b, m } }' \
        > "$work/lines_$offset.csv"
    # The COPY files in each variant's column layout.
    awk -v o="$offset" 'BEGIN { for (k = 1; k <= 50000; k++) printf "%d,1\n", o + k }' > "$work/entries_crm_$offset.csv"
    awk -F, '{ printf "1,%s,%s,%s,%s\n", $1, $2, $3, $4 }' "$work/lines_$offset.csv" > "$work/lines_crm_$offset.csv"
    cat > "$work/d_crm_$offset.sql" <<SQL
BEGIN;
\\copy crm_core.journal_entry (id, business_id) FROM '$work/entries_crm_$offset.csv' WITH (FORMAT csv)
\\copy crm_core.journal_line (business_id, entry_id, account_id, debit, credit) FROM '$work/lines_crm_$offset.csv' WITH (FORMAT csv)
SET CONSTRAINTS ALL IMMEDIATE;
COMMIT;
SQL
    cat > "$work/d_minimal_$offset.sql" <<SQL
BEGIN;
\\copy bench.entry (id) FROM '$work/entries_$offset.csv' WITH (FORMAT csv)
\\copy bench.line (entry_id, account_id, debit, credit) FROM '$work/lines_$offset.csv' WITH (FORMAT csv)
SET CONSTRAINTS ALL IMMEDIATE;
COMMIT;
SQL
}

ticks_per_second=$(getconf CLK_TCK)
tps() {  # variant script-path [clients] -> "tps failed retried server-cpu-ms-per-transaction"
    local out script=$2 user=()
    case "$1" in
        app) user=(-U bench_app) ;;
        tenant) user=(-U bench_app); script=$work/tenant_$(basename "$2") ;;
    esac
    local ticks_before ticks_after
    cluster_settle
    # Every slice starts right after a checkpoint: otherwise whichever variant runs when one
    # falls due pays its writes and the full-page images that follow it.
    sql postgres "CHECKPOINT" >/dev/null
    ticks_before=$(cluster_cpu_ticks)
    out=$("$PGBENCH" -n -M prepared -c "${3:-4}" -j 2 -T "$seconds" --max-tries=20 "${user[@]}" -f "$script" "$1" 2>&1)
    cluster_settle
    ticks_after=$(cluster_cpu_ticks)
    local failed retried processed
    failed=$(printf '%s\n' "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
    retried=$(printf '%s\n' "$out" | sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p')
    processed=$(printf '%s\n' "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
    printf '%s %s %s %s\n' "$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)" \
        "${failed:-0}" "${retried:-0}" \
        "$(awk -v t=$((ticks_after - ticks_before)) -v hz="$ticks_per_second" -v n="${processed:-0}" \
            'BEGIN { if (n == 0) print "n/a"; else printf "%.4f", t * 1000 / hz / n }')"
}

# The server time of a psql file's statements (psql's \timing, summed; with last, the last
# statement's only): a new connection's set-up (tens of milliseconds on a loaded machine) is
# not counted, nor is psql's own start.
elapsed() {  # variant psql-file [timeout] [last] -> seconds (or "timeout")
    local variant=$1 file=$2 timeout=${3:-0} which=${4:-all}
    sql postgres "CHECKPOINT" >/dev/null
    if ! PGOPTIONS="-c statement_timeout=$timeout" psql -X -q -v ON_ERROR_STOP=1 -d "$variant" \
        -c '\timing on' -f "$file" >"$work/out" 2>"$work/err"; then
        if grep -q 'statement timeout' "$work/err"; then echo timeout; return; fi
        cat "$work/err" >&2
        exit 1
    fi
    awk -v which="$which" '/^Time: / { last = $2; total += $2 }
        END { printf "%.3f", (which == "last" ? last : total) / 1000 }' "$work/out"
}

# The median of numbers, a "timeout" counting as longer than any number.
median() { printf '%s\n' "$@" | sed 's/^timeout$/inf/' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] == "inf" || v[NR / 2 + 1] == "inf") ? "inf" : (v[NR / 2] + v[NR / 2 + 1]) / 2
    if (m == "inf") print "timeout"; else printf "%.3f", m }'; }

declare -A result samples notes
# a and b: throughput, the variants interleaved in each round.
for workload in a_postings b_hot_account; do
    for round in $(seq 1 "$rounds"); do
        for variant in "${variants[@]}" "${tenant_variants[@]}"; do
            read -r value failed retried cpu < <(tps "$variant" "$(workloads_of "$variant")/$workload.sql")
            samples[$variant,$workload]="${samples[$variant,$workload]:-} $value"
            samples[$variant,$workload,cpu]="${samples[$variant,$workload,cpu]:-} $cpu"
            notes[$variant,$workload]="failed $failed, retried $retried"
            echo "  $workload round $round $variant: $value tps, server CPU $cpu ms per transaction (failed $failed, retried $retried)" >&2
        done
        if [ "$workload" = a_postings ]; then  # crm_core with subledgers, beside plain crm_core
            read -r value failed retried _ < <(tps crm_core "$here/a_subledger.sql")
            samples[crm_core,a_subledger]="${samples[crm_core,a_subledger]:-} $value"
            echo "  a_subledger round $round crm_core: $value tps (failed $failed, retried $retried)" >&2
        fi
    done
done
for key in "${!samples[@]}"; do
    # shellcheck disable=SC2086
    result[$key]=$(median ${samples[$key]})
done

# c and d: times, the variants interleaved in each run; hand's O(n^2) check may time out.
for run in $(seq 1 "$rounds"); do
    offset=$((1000000000 + run * 1000000))  # far above the ids pgbench's postings take
    make_copy_files "$offset"
    for variant in "${variants[@]}"; do
        timeout=0
        case $variant in hand | plpgsql_all) timeout=$slow_timeout ;; esac
        if [ "$run" -gt 1 ] && [ "${samples[$variant,c]:-}" = " timeout" ]; then
            c=timeout
        else
            c=$(elapsed "$variant" "$(workloads_of "$variant")/c_big_entry.sql" "$timeout")
        fi
        case $variant in minimal | hand) d_file=$work/d_minimal_$offset.sql ;; *) d_file=$work/d_crm_$offset.sql ;; esac
        d=$(elapsed "$variant" "$d_file" "$timeout")
        samples[$variant,c]="${samples[$variant,c]:-} $c"
        samples[$variant,d]="${samples[$variant,d]:-} $d"
        echo "  run $run $variant: c ${c}s, d ${d}s" >&2
    done
done
for variant in "${variants[@]}"; do
    for key in c d; do
        # shellcheck disable=SC2086
        result[$variant,$key]=$(median ${samples[$variant,$key]})
    done
done

# Batch posting (crm_core, one client): 1,000 entries in one post_entries() call against
# 1,000 single-entry transactions.
batch_line="batch: crm_core.post_entries() not available"
if [ -n "$(psql -X -At -d crm_core -c "SELECT to_regproc('crm_core.post_entries')")" ]; then
    awk 'BEGIN { srand(5); printf "SELECT count(*) FROM crm_core.post_entries(1, $$["
        for (k = 1; k <= 1000; k++) {
            a = int(rand() * 1000) + 1; b = int(rand() * 1000) + 1; m = int(rand() * 100000) + 1
            printf "%s{\"lines\": [{\"account_id\": %d, \"debit\": %d}, {\"account_id\": %d, \"credit\": %d}]}",
                (k > 1 ? "," : ""), a, m, b, m
        }
        print "]$$);" }' > "$work/batch_call.sql"
    # A warm-up call rolled back first, as in an application's connection (the backend's caches
    # and the function's plans ready); the second call is timed.
    { echo "BEGIN;"; cat "$work/batch_call.sql"; echo "ROLLBACK;"; cat "$work/batch_call.sql"; } > "$work/batch.sql"
    for round in $(seq 1 "$rounds"); do
        single=$("$PGBENCH" -n -M prepared -c 1 -t 1000 -f "$here/a_postings.sql" crm_core 2>&1 |
            sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p')
        batch=$(elapsed crm_core "$work/batch.sql" 0 last)
        samples[batch_single]="${samples[batch_single]:-} $single"
        samples[batch_call]="${samples[batch_call]:-} $batch"
        echo "  batch round $round: single-entry transaction ${single} ms each, post_entries(1,000 entries) ${batch} s" >&2
    done
    # shellcheck disable=SC2086
    single_ms=$(median ${samples[batch_single]})
    # shellcheck disable=SC2086
    per_entry_ms=$(median ${samples[batch_call]})  # seconds per 1,000 entries = ms per entry
    batch_line="batch: post_entries() ${per_entry_ms} ms per entry (1,000 per call), a single-entry transaction ${single_ms} ms: $(ratio "$single_ms" "$per_entry_ms" 2 x) faster per entry (target >= 5x)"
fi

ledger_wrong=0
for variant in crm_core "${tenant_variants[@]}"; do
    problems=$(psql -X -At -d "$variant" -c "SELECT count(*) FROM crm_core.check_balances()")
    unbalanced=$(psql -X -At -d "$variant" -c "SELECT count(*) FROM crm_core.unbalanced_entries()")
    echo "  $variant: check_balances() rows = $problems, unbalanced_entries() rows = $unbalanced (both must be 0)" >&2
    if [ "$problems" != 0 ] || [ "$unbalanced" != 0 ]; then ledger_wrong=1; fi
done

echo
# table_row LABEL KEY FORMAT [cost]: the variants' medians of KEY (numbers printed with the
# printf FORMAT) and crm_core's ratios against hand, crm_off and minimal: crm_core / other
# (tps: speed; seconds: time), or with "cost" other / crm_core (CPU per transaction, read as
# speed like tps).
table_row() {
    local label=$1 key=$2 format=$3 crm=${result[crm_core,$2]} variant cells=() ratios=()
    for variant in "${variants[@]}"; do
        cells+=("$(awk -v v="${result[$variant,$key]}" -v f="$format" \
            'BEGIN { if (v ~ /^-?[0-9]+([.][0-9]*)?$/) printf f, v; else printf "%s", v }')")
    done
    for variant in hand crm_off minimal; do
        if [ "${4:-}" = cost ]; then
            ratios+=("$(ratio "${result[$variant,$key]}" "$crm" 2 x)")
        else
            ratios+=("$(ratio "$crm" "${result[$variant,$key]}" 2 x)")
        fi
    done
    printf '%-24s %9s %9s %11s %9s %9s | %9s %9s %9s\n' "$label" "${cells[@]}" "${ratios[@]}"
}
table_header() {
    printf '%-24s %9s %9s %11s %9s %9s | %9s %9s %9s\n' workload "${variants[@]}" \
        "vs hand" "vs off" "vs min"
}
echo "Ledger benchmark (4 clients, synchronous_commit=off; medians of $rounds interleaved rounds, ${seconds}s pgbench slices)"
table_header
table_row "a (tps)" a_postings %.0f
table_row "b (tps)" b_hot_account %.0f
table_row "c 20,000-line entry (s)" c %s
table_row "d COPY 100,000 lines (s)" d %s
echo "targets: a, b: crm_core >= 1.50x hand and >= 0.90x crm_off; c <= 1.2x crm_off; d <= 1.1x crm_off (time)"
echo
echo "Server CPU per transaction (ms; all the cluster's processes, medians): what a posting costs"
echo "the server, steadier than throughput on a shared machine. Ratios are speed (the other's"
echo "CPU / crm_core's), comparable with the tps ratios above."
table_header
table_row "a (ms CPU)" a_postings,cpu %s cost
table_row "b (ms CPU)" b_hot_account,cpu %s cost
echo "subledgers: a with the debit line in a random one of 1,000,000 subledgers: ${result[crm_core,a_subledger]} tps" \
    "($(ratio "${result[crm_core,a_subledger]}" "${result[crm_core,a_postings]}" 2 x) of plain a)"
echo "$batch_line"
echo "hand notes: a ${notes[hand,a_postings]}; b ${notes[hand,b_hot_account]}; c/d timeout = over $slow_timeout"
echo
echo "Tenant isolation (crm_core as a crm_core_app login; a, b: medians of the same interleaved slices)"
printf '%-24s %9s %9s %13s %8s\n' workload "app (off)" "tenant" tenant/app target
for workload in a_postings b_hot_account; do
    printf '%-24s %9.0f %9.0f %13s %8s\n' "${workload%%_*} (tps)" \
        "${result[app,$workload]}" "${result[tenant,$workload]}" \
        "$(ratio "${result[tenant,$workload]}" "${result[app,$workload]}" 2 x)" ">=0.95x"
done
if [ "$ledger_wrong" != 0 ]; then
    echo "FAILED: a ledger's balances or entries are wrong after the run (see above)" >&2
    exit 1
fi
