#!/usr/bin/env bash
# Ledger posting cost in CPU instructions (valgrind callgrind), independent of the machine's
# load (run.sh measures time; this measures work). Each workload runs in a single-user backend
# (postgres --single) started from the same saved data directory; the instructions of an empty
# run are subtracted, so what is left is the work itself (parse, plan, execute, triggers,
# commit). Deterministic to about one per cent.
# Variants: minimal, hand, crm_off, crm_core (see run.sh). Workloads:
#   post        N 2-line postings (prepared statements, one transaction each), accounts random
#   subledger   crm_core only: the same with the debit line in a random one of 1,000,000
#               subledgers
#   big         one entry of 20,000 lines
#   copy        COPY of 20,000 entries and their 40,000 lines in one transaction
# The crm_core tables start with 200,000 lines of history (100,000 subledgers of account 1).
# Usage: bench/ledger/instructions.sh [postings per run, default 1000]
# With PROFILE_DIR=dir, the callgrind profiles are kept there (callgrind_annotate them);
# VARIANTS="crm_core ..." and WORKLOADS="post ..." limit what runs (default: everything).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib.sh"
postings=${1:-1000}
cluster=bench-ledger-instructions

# Keeps the callgrind outputs when PROFILE_DIR is set (run by bench_cluster's exit trap).
bench_on_exit() {
    if [ -n "${PROFILE_DIR:-}" ]; then mkdir -p "$PROFILE_DIR"; cp "$work"/*.out "$PROFILE_DIR"/; fi
}
bench_cluster "$cluster" 777
data="$CRM_RUNTIME/clusters/$cluster/data"

read -r -a variants <<< "${VARIANTS:-minimal hand crm_off crm_core}"
read -r -a workloads <<< "${WORKLOADS:-post subledger big copy}"
wanted() { [[ " ${workloads[*]} " == *" $1 "* ]]; }
for variant in "${variants[@]}"; do
    psql_quiet -d postgres -c "CREATE DATABASE $variant"
    case $variant in
        minimal) psql_quiet -d "$variant" -f "$here/minimal/setup.sql" ;;
        hand) psql_quiet -d "$variant" -f "$here/minimal/setup.sql" -f "$here/minimal/hand_plpgsql.sql" ;;
        *)
            psql_quiet -d "$variant" -c "CREATE EXTENSION crm_core" -f "$here/setup.sql"
            # History: 100,000 loans on account 1, two lines each, balanced by account 2; and
            # every account has a balance slot, as in a ledger in use.
            psql_quiet -d "$variant" <<'SQL'
BEGIN;
INSERT INTO crm_core.journal_entry (id, business_id) SELECT i, 1 FROM generate_series(1, 200000) AS i;
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger)
SELECT 1, i, CASE j WHEN 0 THEN 1 ELSE 2 END, CASE j WHEN 0 THEN 10 END, CASE j WHEN 1 THEN 10 END,
       CASE j WHEN 0 THEN i % 100000 + 1 END
FROM generate_series(1, 200000) AS i, generate_series(0, 1) AS j;
SELECT setval(pg_get_serial_sequence('crm_core.journal_entry', 'id'), 200000);
INSERT INTO crm_core.journal_entry (business_id) VALUES (1);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
SELECT 1, currval(pg_get_serial_sequence('crm_core.journal_entry', 'id')), a,
       CASE WHEN a = 1 THEN 999 END, CASE WHEN a > 1 THEN 1 END
FROM generate_series(1, 1000) AS a;
COMMIT;
SQL
            if [ "$variant" = crm_off ]; then
                for table in journal_entry journal_line account fiscal_period; do
                    psql_quiet -d "$variant" -c "ALTER TABLE crm_core.$table DISABLE TRIGGER USER"
                done
            fi
            ;;
    esac
    psql_quiet -d "$variant" -c "VACUUM ANALYZE"
done
psql_quiet -d postgres -c "CHECKPOINT"
"$root/scripts/cluster.sh" stop "$cluster" >/dev/null
cp -a "$data" "$work/pristine"  # every run starts from this state

# The workload files: one statement (or transaction) per line, as postgres --single reads them.
make_workloads() {
    local count=$1 table_entry table_line columns
    for family in crm minimal; do
        if [ $family = crm ]; then
            table_entry="crm_core.journal_entry (business_id) VALUES (1)"
            table_line="crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger)"
            columns="1, currval(\$\$crm_core.journal_entry_id_seq\$\$),"
        else
            table_entry="bench.entry DEFAULT VALUES"
            table_line="bench.line (entry_id, account_id, debit, credit)"
            columns="currval(\$\$bench.entry_id_seq\$\$),"
        fi
        for workload in post subledger; do
            [ $family = minimal ] && [ $workload = subledger ] && continue
            awk -v n="$count" -v fam="$family" -v wl="$workload" -v te="$table_entry" -v tl="$table_line" -v c="$columns" 'BEGIN {
                srand(11)
                print "PREPARE entry AS INSERT INTO " te
                sub_col = (fam == "crm") ? ", $4" : ""
                sub_null = (fam == "crm") ? ", NULL" : ""
                print "PREPARE lines(bigint, bigint, numeric, bigint) AS INSERT INTO " tl " VALUES (" c " $1, $3, NULL" sub_col "), (" c " $2, NULL, $3" sub_null ")"
                # Warm-up, in the empty run too: every account in the backend caches and with a
                # balance slot of this backend, as in a session that has been posting.
                if (fam == "crm")
                    print "BEGIN; INSERT INTO crm_core.journal_entry (business_id) VALUES (1); INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) SELECT 1, currval($$crm_core.journal_entry_id_seq$$), a, CASE WHEN a < 1000 THEN 1 END, CASE WHEN a = 1000 THEN 999 END FROM generate_series(1, 1000) AS a; COMMIT;"
                else
                    print "BEGIN; INSERT INTO bench.entry DEFAULT VALUES; INSERT INTO bench.line (entry_id, account_id, debit, credit) SELECT currval($$bench.entry_id_seq$$), a, CASE WHEN a < 1000 THEN 1 END, CASE WHEN a = 1000 THEN 999 END FROM generate_series(1, 1000) AS a; COMMIT;"
                for (i = 0; i < n; i++) {
                    a = int(rand() * 1000) + 1; b = int(rand() * 1000) + 1; m = int(rand() * 100000) + 1
                    s = (wl == "subledger") ? int(rand() * 1000000) + 1 : "NULL"
                    printf "BEGIN; EXECUTE entry; EXECUTE lines(%d, %d, %d, %s); COMMIT;\n", a, b, m, s
                }
            }' > "$work/$family.$workload.$count.sql"
        done
    done
}
make_workloads 0
make_workloads "$postings"
# big and copy: as one transaction on one line; the empty run is the transaction without rows.
for rows in 0 1; do
    n=$((rows * 20000))
    echo "BEGIN; INSERT INTO crm_core.journal_entry (business_id) VALUES (1); INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) SELECT 1, currval('crm_core.journal_entry_id_seq'), i % 1000 + 1, CASE WHEN i % 2 = 0 THEN 10 END, CASE WHEN i % 2 = 1 THEN 10 END FROM generate_series(1, $n) AS i; COMMIT;" > "$work/crm.big.$rows.sql"
    echo "BEGIN; INSERT INTO bench.entry DEFAULT VALUES; INSERT INTO bench.line (entry_id, account_id, debit, credit) SELECT currval('bench.entry_id_seq'), i % 1000 + 1, CASE WHEN i % 2 = 0 THEN 10 END, CASE WHEN i % 2 = 1 THEN 10 END FROM generate_series(1, $n) AS i; COMMIT;" > "$work/minimal.big.$rows.sql"
    awk -v n="$n" 'BEGIN { for (k = 1; k <= n; k++) printf "%d,1\n", 5000000 + k }' > "$work/entries_crm.$rows.csv"
    awk -v n="$n" 'BEGIN { srand(7); for (k = 1; k <= n; k++) { a = int(rand() * 1000) + 1; b = int(rand() * 1000) + 1; m = int(rand() * 100000) + 1;
        printf "1,%d,%d,%d,\n1,%d,%d,,%d\n", 5000000 + k, a, m, 5000000 + k, b, m } }' > "$work/lines_crm.$rows.csv"
    awk -v n="$n" 'BEGIN { for (k = 1; k <= n; k++) printf "%d\n", 5000000 + k }' > "$work/entries_minimal.$rows.csv"
    awk -F, '{ printf "%s,%s,%s,%s\n", $2, $3, $4, $5 }' "$work/lines_crm.$rows.csv" > "$work/lines_minimal.$rows.csv"
    echo "BEGIN; COPY crm_core.journal_entry (id, business_id) FROM '$work/entries_crm.$rows.csv' WITH (FORMAT csv); COPY crm_core.journal_line (business_id, entry_id, account_id, debit, credit) FROM '$work/lines_crm.$rows.csv' WITH (FORMAT csv); COMMIT;" > "$work/crm.copy.$rows.sql"
    echo "BEGIN; COPY bench.entry (id) FROM '$work/entries_minimal.$rows.csv' WITH (FORMAT csv); COPY bench.line (entry_id, account_id, debit, credit) FROM '$work/lines_minimal.$rows.csv' WITH (FORMAT csv); COMMIT;" > "$work/minimal.copy.$rows.sql"
done

instructions() {  # variant workload-file -> instructions of the whole run
    local variant=$1 file=$2
    callgrind_single_user "$variant" "$file" "$work/$variant.$(basename "$file" .sql)"
}

declare -A cost
family_of() { case $1 in minimal | hand) echo minimal ;; *) echo crm ;; esac; }
for variant in "${variants[@]}"; do
    family=$(family_of "$variant")
    for workload in post subledger; do
        wanted $workload || continue
        [ "$family" = minimal ] && [ $workload = subledger ] && continue
        [ "$variant" = crm_off ] && [ $workload = subledger ] && continue
        empty=$(instructions "$variant" "$work/$family.$workload.0.sql")
        full=$(instructions "$variant" "$work/$family.$workload.$postings.sql")
        cost[$variant,$workload]=$(( (full - empty) / postings ))
        echo "  $variant $workload: ${cost[$variant,$workload]} instructions per posting" >&2
    done
    for workload in big copy; do
        wanted $workload || continue
        [ "$variant" = hand ] && [ $workload = big ] && continue  # its O(n^2) check
        empty=$(instructions "$variant" "$work/$family.$workload.0.sql")
        full=$(instructions "$variant" "$work/$family.$workload.1.sql")
        cost[$variant,$workload]=$(( full - empty ))
        echo "  $variant $workload: ${cost[$variant,$workload]} instructions" >&2
    done
done

echo
echo "Ledger cost in instructions (callgrind, single-user backend; lower is better)"
printf '%-30s %12s %12s %12s %12s | %9s %9s %9s\n' workload minimal hand crm_off crm_core \
    "vs hand" "vs off" "vs min"
for workload in post subledger big copy; do
    printf '%-30s %12s %12s %12s %12s | %9s %9s %9s\n' "$workload" \
        "${cost[minimal,$workload]:-}" "${cost[hand,$workload]:-}" "${cost[crm_off,$workload]:-}" \
        "${cost[crm_core,$workload]:-}" \
        "$(ratio "${cost[crm_core,$workload]:-}" "${cost[hand,$workload]:-}" 2 x)" \
        "$(ratio "${cost[crm_core,$workload]:-}" "${cost[crm_off,$workload]:-}" 2 x)" \
        "$(ratio "${cost[crm_core,$workload]:-}" "${cost[minimal,$workload]:-}" 2 x)"
done
echo "post, subledger: per 2-line posting (a transaction); big: one 20,000-line entry; copy: 20,000 entries, 40,000 lines"
echo "subledger / post (crm_core): $(ratio "${cost[crm_core,subledger]:-}" "${cost[crm_core,post]:-}" 2 x)"
