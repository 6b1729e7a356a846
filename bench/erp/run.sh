#!/usr/bin/env bash
# crm_erp benchmark: a day of a small multi-business. Three retail businesses, 20,000 sales of
# three items each (sale + items in one transaction; every sale posts one entry with its money
# and stock movements), through 4 clients (pgbench, synchronous_commit=off), in three variants
# side by side in one throwaway cluster:
#   none     the same inserts with no posting rules (crm_erp's posting triggers dropped)
#   plpgsql  the posting rules in plain PL/pgSQL (plpgsql_posting.sql)
#   crm_erp  crm_erp's C++ posting rules
# crm_core's ledger (C++) and every other trigger (tenant guard, frozen events) are the same in
# all three. Each variant first runs a warm-up of 2,000 sales and is analyzed (plans as in
# production). The machine is shared: each round's sales run in chunks of 2,000, the variants
# interleaved chunk by chunk; a round's rate is its sales over the summed time of its chunks,
# and the median round of each variant is reported.
# Usage: bench/erp/run.sh [sales per round, default 20000] [rounds, default 3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib.sh"
sales=${1:-20000}
rounds=${2:-3}
clients=4
cluster=bench-erp

bench_cluster "$cluster"
PGBENCH=$PGBIN/pgbench
[ -x "$PGBENCH" ] || PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench

variants=(none plpgsql crm_erp)
for variant in "${variants[@]}"; do
    psql_quiet -d postgres -c "CREATE DATABASE $variant"
    psql_quiet -d "$variant" -c "CREATE EXTENSION crm_erp CASCADE"
    psql_quiet -d "$variant" -f "$here/setup.sql"
    case "$variant" in
        none) psql_quiet -d "$variant" -c 'DROP TRIGGER erp_reserve_entry ON retail.sale' \
                  -c 'DROP TRIGGER erp_post ON retail.sale' -c 'DROP TRIGGER erp_post ON retail.sale_item' ;;
        plpgsql) psql_quiet -d "$variant" -f "$here/plpgsql_posting.sql" ;;
    esac
    ids=$(psql -X -At -d "$variant" -c "SELECT count(*) FROM retail.product WHERE item_id <> (business_id - 1) * 20 + (regexp_replace(sku, '^P[0-9]+-', ''))::int")
    [ "$ids" = 0 ] || { echo "bench/erp: unexpected product ids in $variant" >&2; exit 1; }
done

chunk=2000
chunks=$(( (sales + chunk - 1) / chunk ))
seconds() {  # variant sales -> seconds the sales took (pgbench, excluding connection time)
    local out
    out=$("$PGBENCH" -n -M prepared -c "$clients" -j 2 -t "$(($2 / clients))" -f "$here/sale.sql" "$1" 2>&1) || {
        printf '%s\n' "$out" >&2
        exit 1
    }
    printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1 | awk -v n="$2" '{ printf "%.3f", n / $1 }'
}

for variant in "${variants[@]}"; do
    seconds "$variant" "$chunk" >/dev/null
    psql_quiet -d "$variant" -c 'ANALYZE'
done

declare -A samples median
for round in $(seq 1 "$rounds"); do
    declare -A elapsed=()
    for _ in $(seq 1 "$chunks"); do
        for variant in "${variants[@]}"; do
            took=$(seconds "$variant" "$chunk")
            elapsed[$variant]=$(awk -v a="${elapsed[$variant]:-0}" -v b="$took" 'BEGIN { printf "%.3f", a + b }')
        done
    done
    for variant in "${variants[@]}"; do
        value=$(awk -v n="$((chunks * chunk))" -v t="${elapsed[$variant]}" 'BEGIN { printf "%.1f", n / t }')
        samples[$variant]="${samples[$variant]:-} $value"
        echo "  round $round $variant: $value sales/s" >&2
    done
done
for variant in "${variants[@]}"; do
    median[$variant]=$(printf '%s\n' ${samples[$variant]} | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.0f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
done

for variant in plpgsql crm_erp; do
    checks=$(psql -X -At -d "$variant" -c "SELECT (SELECT count(*) FROM crm_core.check_balances()) + (SELECT count(*) FROM crm_core.unbalanced_entries()) + (SELECT count(*) FROM erp.check_stock())")
    entries=$(psql -X -At -d "$variant" -c "SELECT count(*) FROM retail.sale s WHERE EXISTS (SELECT FROM crm_core.journal_entry e WHERE e.business_id = s.business_id AND e.id = s.entry_id)")
    echo "  $variant: $entries sales posted; check_balances + unbalanced_entries + check_stock rows = $checks (must be 0)" >&2
done

echo
echo "crm_erp benchmark: $((chunks * chunk)) sales x 3 items per round in chunks of $chunk interleaved, $clients clients, synchronous_commit=off; median of $rounds rounds (shared machine)"
printf '%-10s %14s %14s\n' variant "sales/s" "vs none"
for variant in "${variants[@]}"; do
    printf '%-10s %14s %14s\n' "$variant" "${median[$variant]}" "$(ratio "${median[$variant]}" "${median[none]}" 2 x)"
done
echo "crm_erp / plpgsql: $(ratio "${median[crm_erp]}" "${median[plpgsql]}" 2 x) (target >= 2x); crm_erp / none: $(ratio "${median[crm_erp]}" "${median[none]}" 2 x) (target >= 0.6x)"
