#!/usr/bin/env bash
# Imports the demo's legacy files into database crm_core_demo of the "demo" cluster the way a
# DBA imports theirs (docs/migration.md): `crm-core demo-data` writes a collection agency's
# files in the four legacy shapes (once, into demo/data/, kept between runs), then
# `crm-core import` loads each file (progress on the terminal, a summary per file). Called by
# setup.sh after scripts/demo/10_business.sql.
#   scripts/demo-import.sh            1,000 customers (about 7,000 rows)
#   scripts/demo-import.sh --large    1M rows of seed 003's daily loan file, then the rest
# A file already applied is skipped (the loader would refuse it: same SHA-256); an import
# interrupted by Ctrl-C continues when this runs again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

loader=$CRM_ROOT/build/cmake/tools/crm-core/crm-core
customers=1000
data=$CRM_ROOT/demo/data
if [ "${1:-}" = --large ]; then
    customers=760000 # about 1M rows in voice_csv/loans.csv
    data=$CRM_ROOT/demo/data-large
fi
eval "$("$CRM_ROOT/scripts/cluster.sh" env demo)"
export PGDATABASE=crm_core_demo

if [ ! -f "$data/expected.tsv" ]; then
    rm -rf "$data"
    "$loader" demo-data --customers "$customers" --country FR --seed 2026 --out "$data"
fi
cd "$data"
applied_before() {
    psql -X -A -t -q -c "SELECT count(*) FROM collections.import_batch
                          WHERE file_sha256 = '$(sha256sum "$1" | cut -d' ' -f1)' AND status IN ('applied', 'refused')"
}
import() { # SOURCE BUSINESS FILE...
    local source=$1 business=$2 file
    shift 2
    for file in "$@"; do
        if [ "$(applied_before "$file")" != 0 ]; then
            echo "$file: imported before (collections.import_batch), skipped"
            continue
        fi
        "$loader" import --source "$source" --business $business "$file"
    done
}
echo "Importing the demo files from $data (docs/migration.md):"
# Seed 003: the voice-collection platform's daily loan files, day 1 then day 2.
import voice_csv 1 voice_csv/loans.csv voice_csv/loans-day2.csv
# Seed 000: the MongoDB CRM's debt accounts, exported as JSON lines.
import debt_accounts_json 1 debt_accounts_json/debt_accounts.jsonl
# Seed 001: the SQLite CRM's clients, invoices, payments and dunning set-up, in that order.
import recouvrement 1 recouvrement/clients.csv recouvrement/invoices.csv recouvrement/payments.csv \
    recouvrement/relance_templates.csv recouvrement/relance_rules.csv
# Seed 002: the Django ERP's chart of accounts and journal, into business 2 (crm_core alone).
import erp_ledger "2 --currency EUR --country FR" erp_ledger/accounts.csv erp_ledger/journal_lines.csv
