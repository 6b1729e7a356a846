#!/usr/bin/env bash
# crm_collections benchmark, in one throwaway cluster:
#  A) payment posting with allocation over five installments and four components (pgbench, 4
#     clients): a plain INSERT into collections.payment, against a bare 2-line crm_core posting
#     and against the same allocation in plain PL/pgSQL (plpgsql_allocation.sql). Targets:
#     >= 0.5x the bare posting, >= 2x the PL/pgSQL version. Variants interleaved in short
#     slices, median of the rounds.
#  B) run_dpd over DEBTS debts with INSTALLMENTS installments each (default 1,000,000 x 12):
#     the first run, the next day (about 3% change bucket), the same day again (nothing to do:
#     target no writes and at most 0.1x the first run); and payments posted while a first run
#     holds its locks, against payments alone.
# Usage: bench/collections/run.sh [seconds per slice, default 5] [rounds, default 3]
#        DEBTS=100000 bench/collections/run.sh   (a smaller B)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib.sh"
seconds=${1:-5}
rounds=${2:-3}
payment_debts=${PAYMENT_DEBTS:-80000}
dpd_debts=${DEBTS:-1000000}
dpd_installments=${INSTALLMENTS:-12}
cluster=bench-collections

bench_cluster "$cluster"
PGBENCH=$PGBIN/pgbench
[ -x "$PGBENCH" ] || PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench

median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.0f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
seconds_since() { awk -v s="$1" -v e="$(date +%s%N)" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'; }

# ---------------------------------------------------------------------------------------
echo "A) payment posting (4 clients, ${seconds}s slices, $rounds rounds; machine shared with other work)"
psql_quiet -d postgres -c "CREATE DATABASE payments"
psql_quiet -d payments -c "CREATE EXTENSION crm_collections CASCADE"
start=$(date +%s%N)
psql_quiet -d payments -v debts="$payment_debts" -f "$here/setup_payments.sql"
psql_quiet -d payments -v debts="$payment_debts" -f "$here/plpgsql_allocation.sql"
echo "   fixture: 2 x $payment_debts debts, 5 installments each, in $(seconds_since "$start") s (check_positions empty)"

tps() {  # script -> "tps failed"
    local out
    out=$("$PGBENCH" -n -M prepared -c 4 -j 2 -T "$seconds" -f "$here/$1" payments 2>&1) || true
    printf '%s\n' "$out" > "$work/$1.log"
    printf '%s %s\n' "$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)" \
        "$(printf '%s\n' "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')"
}
declare -A samples
variants=(p_bare.sql p_collections.sql p_plpgsql.sql)
for round in $(seq 1 "$rounds"); do
    for variant in "${variants[@]}"; do
        read -r value failed < <(tps "$variant")
        samples[$variant]="${samples[$variant]:-} ${value:-0}"
        echo "   round $round ${variant%.sql}: ${value:-0} tps (failed ${failed:-?})"
    done
done
bare=$(printf '%s\n' ${samples[p_bare.sql]} | median)
coll=$(printf '%s\n' ${samples[p_collections.sql]} | median)
plain=$(printf '%s\n' ${samples[p_plpgsql.sql]} | median)
# (The PL/pgSQL variant posts in the subledgers of debts :debts+1.. without crm_collections'
# allocations: check_positions() is read for the debts the C++ path paid.)
problems=$(psql -X -At -d payments -c "SELECT (SELECT count(*) FROM collections.check_positions() WHERE debt_account_id <= $payment_debts) + (SELECT count(*) FROM crm_core.check_balances())")
awk -v b="$bare" -v c="$coll" -v p="$plain" -v x="$problems" 'BEGIN {
    printf "   median tps: bare 2-line posting %d, crm_collections payment %d, PL/pgSQL payment %d\n", b, c, p
    printf "   crm_collections / bare posting: %.2fx (target >= 0.5x)\n", c / b
    printf "   crm_collections / PL/pgSQL:     %.2fx (target >= 2x)\n", c / p
    printf "   check_positions() (C++ path debts) + check_balances() rows afterwards: %d\n", x }'

# ---------------------------------------------------------------------------------------
echo "B) run_dpd over $dpd_debts debts x $dpd_installments installments"
psql_quiet -d postgres -c "CREATE DATABASE dpd"
psql_quiet -d dpd -c "CREATE EXTENSION crm_collections CASCADE"
start=$(date +%s%N)
psql_quiet -d dpd -v debts="$dpd_debts" -v installments="$dpd_installments" -f "$here/setup_dpd.sql"
echo "   fixture loaded in $(seconds_since "$start") s"

run_dpd() {  # day offset -> "seconds examined changed updated inserted"
    local start out
    start=$(date +%s%N)
    out=$(psql -X -q -At -F ' ' -d dpd -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT debts_examined, buckets_changed FROM collections.run_dpd(CURRENT_DATE + $1);
SELECT sum(n_tup_upd), sum(n_tup_ins) FROM pg_stat_xact_user_tables
 WHERE relid IN (SELECT oid FROM pg_class WHERE relnamespace = 'collections'::regnamespace);
COMMIT;
SQL
)
    echo "$(seconds_since "$start") $(echo $out)"
}
read -r first_s first_examined first_changed first_upd first_ins < <(run_dpd 0)
echo "   first run:            ${first_s} s, $first_examined debts examined, $first_changed bucket changes, $first_upd rows updated, $first_ins inserted"
read -r next_s next_examined next_changed next_upd next_ins < <(run_dpd 1)
echo "   next day:             ${next_s} s, $next_examined debts examined, $next_changed bucket changes ($(awk -v c="$next_changed" -v d="$dpd_debts" 'BEGIN { printf "%.1f", 100 * c / d }')%), $next_upd rows updated"
read -r same_s same_examined same_changed same_upd same_ins < <(run_dpd 1)
echo "   same day again:       ${same_s} s, $same_examined debts examined, $same_upd rows updated, $same_ins inserted"
awk -v a="$same_s" -v f="$first_s" 'BEGIN { printf "   nothing to do / first run: %.4fx (target <= 0.1x, no writes)\n", a / f }'

# Payments beside a first run: debts re-opened for evaluation, payments on random debts.
cat > "$work/pay.sql" <<'SQL'
\set debt random(1, :debts)
INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
VALUES (1, :debt, 'R-' || txid_current(), 10);
SQL
pay() { "$PGBENCH" -n -M prepared -c 4 -j 2 -T "$seconds" -D debts="$dpd_debts" -r -f "$work/pay.sql" dpd 2>&1; }
alone=$(pay)
psql_quiet -d dpd -c "UPDATE collections.dpd_due SET changes_on = CURRENT_DATE + 2"
pay > "$work/beside.log" &
payer=$!
sleep 1
beside_run=$(run_dpd 2)
wait "$payer"
beside=$(cat "$work/beside.log")
line() { printf '%s\n' "$1" | sed -n "s/^$2 = \([0-9.]*\).*/\1/p" | head -1; }
echo "   payments alone:       $(line "$alone" tps) tps, latency average $(line "$alone" 'latency average') ms"
echo "   beside a full run:    $(line "$beside" tps) tps, latency average $(line "$beside" 'latency average') ms (run_dpd: $(echo "$beside_run" | cut -d' ' -f1) s over $(echo "$beside_run" | cut -d' ' -f2) debts)"
