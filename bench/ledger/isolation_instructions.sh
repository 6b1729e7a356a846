#!/usr/bin/env bash
# Tenant isolation cost in CPU instructions (valgrind callgrind), crm_core alone (instructions.sh
# compares crm_core with the other ledgers), independent of the machine's
# load: each workload runs N single-entry transactions in a single-user backend
# (postgres --single), and the instructions of an empty run are subtracted, so what is left
# is N postings (parse, plan, execute, triggers, commit). Deterministic to a few per cent.
# Workloads (one session, prepared statements, synchronous_commit=off):
#   plain      2-line postings: debit account 1, credit a random account of 1,000
#   subledger  the same with the debit line in one of 1,000,000 subledgers of account 1
#   app        plain, as a crm_core_app login granted business 1, tenant isolation switched off
#   tenant     the same with isolation on: each transaction begins with SET LOCAL
#              crm_core.business_id (tenant/app is the cost of isolation, docs/tenants.md)
# Both start from a ledger that already holds 1,000,000 lines of account 1, one per subledger.
# Usage: bench/ledger/isolation_instructions.sh [postings per run, default 2000]
# With PROFILE_DIR=dir, the callgrind profiles are kept there (callgrind_annotate them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib.sh"
postings=${1:-2000}
cluster=bench-ledger-isolation-instructions

# Keeps the callgrind outputs when PROFILE_DIR is set (run by bench_cluster's exit trap).
bench_on_exit() {
    if [ -n "${PROFILE_DIR:-}" ]; then mkdir -p "$PROFILE_DIR"; cp "$work"/*.out "$PROFILE_DIR"/; fi
}
bench_cluster "$cluster" 777
data="$CRM_RUNTIME/clusters/$cluster/data"

psql_quiet -d postgres -c "CREATE DATABASE ledger"
psql_quiet -d ledger -c "CREATE EXTENSION crm_core" -f "$here/setup.sql"
# History: 1,000,000 loans on account 1, one line each (balanced by account 2).
psql_quiet -d ledger <<'SQL'
BEGIN;
INSERT INTO crm_core.journal_entry (id, business_id) SELECT i, 1 FROM generate_series(1, 1000000) AS i;
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger)
SELECT 1, i, CASE j WHEN 0 THEN 1 ELSE 2 END, CASE j WHEN 0 THEN 10 END, CASE j WHEN 1 THEN 10 END,
       CASE j WHEN 0 THEN i END
FROM generate_series(1, 1000000) AS i, generate_series(0, 1) AS j;
SELECT setval(pg_get_serial_sequence('crm_core.journal_entry', 'id'), 1000000);
COMMIT;
-- Every account has a balance slot already, as in a ledger in use.
BEGIN;
INSERT INTO crm_core.journal_entry (business_id) VALUES (1);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
SELECT 1, currval(pg_get_serial_sequence('crm_core.journal_entry', 'id')), a,
       CASE WHEN a = 1 THEN 999 END, CASE WHEN a > 1 THEN 1 END
FROM generate_series(1, 1000) AS a;
COMMIT;
SQL
# The application login of the app and tenant workloads (currval needs the sequence).
psql_quiet -d ledger -c "CREATE ROLE bench_app IN ROLE crm_core_app" \
    -c "SELECT crm_core.grant_business('bench_app', 1)" \
    -c "GRANT USAGE ON SEQUENCE crm_core.journal_entry_id_seq TO bench_app"
psql_quiet -d ledger -c "VACUUM ANALYZE" -c "CHECKPOINT"
"$root/scripts/cluster.sh" stop "$cluster" >/dev/null
# Every run starts from this state.
cp -a "$data" "$work/pristine"

# A workload file: prepared statements, then one transaction per line.
make_workload() {  # name count
    local name=$1 count=$2
    awk -v n="$count" -v with_subledger="$([ "$name" = subledger ] && echo 1 || echo 0)" -v name="$name" 'BEGIN {
        srand(11)
        if (name == "app") {  # isolation off, as a superuser may (one line: single-user mode)
            print "DO $$ DECLARE t regclass; BEGIN FOR t IN SELECT polrelid FROM pg_policy WHERE polname = $q$crm_core_tenant$q$ LOOP EXECUTE format($q$ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY$q$, t); END LOOP; FOR t IN SELECT tgrelid FROM pg_trigger WHERE tgname = $q$_crm_core_tenant_row$q$ AND tgparentid = 0 LOOP EXECUTE format($q$ALTER TABLE %s DISABLE TRIGGER _crm_core_tenant_row, DISABLE TRIGGER _crm_core_tenant_statement$q$, t); END LOOP; END $$"
        }
        if (name == "app" || name == "tenant") print "SET ROLE bench_app"
        begin = name == "tenant" ? "BEGIN; SET LOCAL crm_core.business_id = $$1$$;" : "BEGIN;"
        print "PREPARE entry AS INSERT INTO crm_core.journal_entry (business_id) VALUES (1)"
        print "PREPARE lines(bigint, bigint, numeric) AS INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger) VALUES (1, currval(pg_get_serial_sequence($$crm_core.journal_entry$$, $$id$$)), 1, $3, NULL, $1), (1, currval(pg_get_serial_sequence($$crm_core.journal_entry$$, $$id$$)), $2, NULL, $3, NULL)"
        for (i = 0; i < n; i++) {
            subledger = int(rand() * 1000000) + 1; account = int(rand() * 999) + 2; amount = int(rand() * 100000) + 1
            printf "%s EXECUTE entry; EXECUTE lines(%s, %d, %d); COMMIT;\n", begin, with_subledger ? subledger : "NULL", account, amount
        }
    }' > "$work/$name.$count.sql"
}

instructions() {  # name count -> instructions of the whole run
    local name=$1 count=$2
    make_workload "$name" "$count"
    callgrind_single_user ledger "$work/$name.$count.sql" "$work/$name.$count"
}

declare -A per_posting
workloads=(plain subledger app tenant)
for name in "${workloads[@]}"; do
    empty=$(instructions "$name" 0)
    full=$(instructions "$name" "$postings")
    per_posting[$name]=$(( (full - empty) / postings ))
    echo "  $name: $full - $empty instructions for $postings postings" >&2
done

echo
echo "Ledger posting cost in instructions (callgrind, single-user backend, $postings postings per run)"
printf '%-48s %14s %8s\n' workload instructions ratio
for name in "${workloads[@]}"; do
    printf '%-48s %14s %8s\n' "$name (per 2-line posting)" "${per_posting[$name]}" \
        "$(awk -v a="${per_posting[$name]}" -v b="${per_posting[plain]}" 'BEGIN { printf "%.3fx", a / b }')"
done
echo "tenant isolation: tenant/app = $(awk -v a="${per_posting[tenant]}" -v b="${per_posting[app]}" 'BEGIN { printf "%.3fx", a / b }')"
