#!/usr/bin/env bash
# The loader end to end, as a DBA runs it: `crm-core demo-data` writes the four legacy shapes,
# `crm-core import` loads each file into crm_collections, and every file gives the counts per
# status that the generator's expected.tsv announces. Then: the same file again is refused (exit
# 2, the first batch named); --dry-run validates and applies nothing; an import interrupted
# by Ctrl-C (SIGINT) in the middle of applying exits 130, and the same command run again
# continues the same batch and ends with exactly the state of an uninterrupted import (no row
# applied twice, no payment posted twice); crm_core.check_balances() and
# collections.check_positions() are empty after every import.
# Usage: tests/import/loader_test.sh path/to/crm-core
# Runs against CRM_CORE_CLUSTER (default "test"); prints TAP; exit status 1 on any failure.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
loader=$(realpath "${1:?usage: $0 path/to/crm-core}")

eval "$("$CRM_ROOT/scripts/cluster.sh" env "${CRM_CORE_CLUSTER:-test}")"
export PGOPTIONS="-c client_min_messages=warning"
full_db=crm_import_full
resumed_db=crm_import_resumed
data=
cleanup() {
    dropdb --if-exists --force "$full_db"
    dropdb --if-exists --force "$resumed_db"
    [ -z "$data" ] || rm -rf "$data"
}
cleanup
data=$(mktemp -d)
trap cleanup EXIT

prepare_db() {
    createdb "$1"
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<'SQL'
CREATE EXTENSION crm_collections CASCADE;
INSERT INTO crm_core.business (id, name) VALUES (1, 'Recouvrement Demo'), (2, 'Demo ERP');
SELECT count(*) FROM collections.setup_business(1);
SQL
}
# What a batch gave, in expected.tsv's terms: "status<TAB>rows" lines for the nonzero counts,
# then new_customers (counted by the caller).
batch_counts() {
    sql "$1" "SELECT string_agg(s || E'\t' || n, E'\n' ORDER BY s) FROM collections.import_batch b,
                LATERAL (VALUES ('applied', b.applied), ('duplicate', b.duplicate), ('invalid', b.invalid),
                                ('skipped', b.skipped), ('valid', b.valid), ('pending', b.pending)) AS c (s, n)
              WHERE b.id = (SELECT max(id) FROM collections.import_batch) AND n > 0"
}
checks_empty() {
    sql "$1" "SELECT (SELECT count(*) FROM crm_core.check_balances()) || ' ' || (SELECT count(*) FROM collections.check_positions())"
}
# Everything an import changes, to compare two databases.
state="SELECT concat_ws('|', (SELECT count(*) FROM collections.customer), (SELECT count(*) FROM collections.debt_account),
                         (SELECT count(*) FROM collections.payment), (SELECT count(*) FROM collections.adjustment),
                         (SELECT count(*) FROM crm_core.journal_entry), (SELECT count(*) FROM crm_core.journal_line),
                         (SELECT sum(outstanding) FROM collections.debt_position),
                         (SELECT string_agg(status || ':' || count, ',' ORDER BY status)
                            FROM (SELECT status, count(*) FROM collections.import_row GROUP BY status) AS r))"

"$loader" demo-data --customers 250 --seed 14 --out "$data" >/dev/null
cd "$data"
# The dunning templates and rules of seed 001 are applied where crm_collections has its workflow
# part (collections.dunning_rule), skipped with a reason where it has not.
prepare_db "$full_db"
has_dunning=$(sql "$full_db" "SELECT to_regclass('collections.dunning_rule') IS NOT NULL")

n=0
source_of() { case "$1" in erp_ledger/*) echo erp_ledger ;; *) echo "${1%%/*}" ;; esac; }
business_of() { case "$1" in erp_ledger/*) echo "2 --currency EUR" ;; *) echo 1 ;; esac; }
for file in voice_csv/loans.csv voice_csv/loans-day2.csv debt_accounts_json/debt_accounts.jsonl \
    recouvrement/clients.csv recouvrement/invoices.csv recouvrement/payments.csv \
    recouvrement/relance_templates.csv recouvrement/relance_rules.csv erp_ledger/accounts.csv \
    erp_ledger/journal_lines.csv; do
    customers_before=$(sql "$full_db" "SELECT count(*) FROM collections.customer")
    # shellcheck disable=SC2046
    "$loader" import --dsn "dbname=$full_db" --source "$(source_of "$file")" --business $(business_of "$file") \
        --apply-chunk 200 "$file" >/dev/null 2>&1 || echo "# the loader exited $? on $file"
    new_customers=$(($(sql "$full_db" "SELECT count(*) FROM collections.customer") - customers_before))
    got="$(batch_counts "$full_db")"$'\n'"new_customers"$'\t'"$new_customers"
    expected=$(awk -F'\t' -v f="$file" '$1 == f && $2 != "new_customers" { print $2 "\t" $3 }' expected.tsv | sort)
    if [ "$has_dunning" = f ] && [[ $file == recouvrement/relance_* ]]; then
        expected=${expected//applied/skipped}
    fi
    expected="$expected"$'\n'"new_customers"$'\t'"$(awk -F'\t' -v f="$file" '$1 == f && $2 == "new_customers" { print $3 }' expected.tsv)"
    n=$((n + 1))
    tap_check "$file: the counts per status of expected.tsv, then check_balances() and check_positions() are empty" \
        "$got / $(checks_empty "$full_db")" "$expected / 0 0"
    if [ "$file" = voice_csv/loans.csv ]; then
        state_after_loans=$(sql "$full_db" "$state")
    fi
done

# An unbalanced journal is refused whole: nothing posted.
entries_before=$(sql "$full_db" "SELECT count(*) FROM crm_core.journal_entry")
set +e
refusal=$("$loader" import --dsn "dbname=$full_db" --source erp_ledger --business 2 --currency EUR erp_ledger/unbalanced/journal_lines.csv 2>&1 >/dev/null)
rc=$?
set -e
tap_check "an unbalanced journal: exit 2, the batch refused, nothing posted" \
    "$rc $(sql "$full_db" "SELECT status FROM collections.import_batch WHERE filename = 'erp_ledger/unbalanced/journal_lines.csv'") $(sql "$full_db" "SELECT count(*) FROM crm_core.journal_entry")" \
    "2 refused $entries_before"
[ "$rc" = 2 ] || echo "# $refusal"

# The same file again: refused, exit 2, the first batch named; nothing changes.
state_before=$(sql "$full_db" "$state")
set +e
refusal=$("$loader" import --dsn "dbname=$full_db" --source voice_csv --business 1 voice_csv/loans.csv 2>&1 >/dev/null)
rc=$?
set -e
first=$(sql "$full_db" "SELECT id FROM collections.import_batch WHERE filename = 'voice_csv/loans.csv'")
tap_check "the same file imported again: exit 2" "$rc" 2
tap_check "the refusal says it was imported and names the first batch" \
    "$(grep -c -e 'this file was already imported into business 1' -e "Batch $first imported voice_csv/loans.csv" <<<"$refusal")" 2
tap_check "the refused re-import changed nothing" "$(sql "$full_db" "$state")" "$state_before"
# The last day's rows under another file name (a re-sent export): every row a duplicate (or the
# same invalid rows), nothing posted.
sed 's/$/\r/' voice_csv/loans-day2.csv >voice_csv/loans-day2-resent.csv
"$loader" import --dsn "dbname=$full_db" --source voice_csv --business 1 voice_csv/loans-day2-resent.csv >/dev/null 2>&1 || true
tap_check "the same rows in a new file: only duplicates and the same invalid rows; no customer, debt, payment or entry added" \
    "$(batch_counts "$full_db" | tr '\n' ' ')/ $(sql "$full_db" "$state" | cut -d'|' -f1-7)" \
    "duplicate	$(awk -F'\t' '$1 == "voice_csv/loans-day2.csv" && ($2 == "applied" || $2 == "duplicate") { s += $3 } END { print s }' expected.tsv) invalid	$(awk -F'\t' '$1 == "voice_csv/loans-day2.csv" && $2 == "invalid" { print $3 }' expected.tsv) / $(cut -d'|' -f1-7 <<<"$state_before")"

# --dry-run validates and applies nothing; exit 0.
prepare_db "$resumed_db"
set +e
"$loader" import --dsn "dbname=$resumed_db" --source voice_csv --business 1 --dry-run voice_csv/loans.csv >/dev/null 2>&1
rc=$?
set -e
tap_check "--dry-run: exit 0, the batch validated, no row applied, no debt created" \
    "$rc $(sql "$resumed_db" "SELECT status || ' ' || applied || ' ' || (valid + invalid = total) FROM collections.import_batch") $(sql "$resumed_db" "SELECT count(*) FROM collections.debt_account")" \
    "0 validated 0 true 0"

# Ctrl-C while applying (small chunks, so the batch is caught half-way): exit 130.
"$loader" import --dsn "dbname=$resumed_db" --source voice_csv --business 1 --apply-chunk 10 voice_csv/loans.csv >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    applied=$(sql "$resumed_db" "SELECT applied + duplicate FROM collections.import_batch")
    [ "$applied" -gt 0 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -INT "$pid" 2>/dev/null || true
set +e
wait "$pid"
rc=$?
set -e
tap_check "Ctrl-C while applying: exit 130 and the batch left half-applied" \
    "$rc $(sql "$resumed_db" "SELECT status || ' ' || (applied + duplicate > 0) || ' ' || (applied_through < (SELECT max(line_no) FROM collections.import_row))
                                FROM collections.import_batch")" \
    "130 applying true true"
tap_check "the interrupted import left the ledger and positions consistent" "$(checks_empty "$resumed_db")" "0 0"
# The same command again continues the same batch; the end state is an uninterrupted import's.
"$loader" import --dsn "dbname=$resumed_db" --source voice_csv --business 1 voice_csv/loans.csv >/dev/null 2>&1 || true
tap_check "run again: the same batch continues to applied" \
    "$(sql "$resumed_db" "SELECT count(*) || ' ' || min(status) FROM collections.import_batch")" "1 applied"
tap_check "resumed: customers, debts, payments, entries, outstanding and row statuses are an uninterrupted import's (nothing applied twice), checks empty" \
    "$(sql "$resumed_db" "$state") / $(checks_empty "$resumed_db")" "$state_after_loans / 0 0"

tap_done
