#!/usr/bin/env bash
# Multi-session behaviour under PostgreSQL's isolationtester (tests/isolation/specs/*.spec, with
# their expected output in expected/): pg_isolation_regress against the cluster that
# scripts/test.sh started (CRM_CORE_CLUSTER, default "test"), in a database of its own.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
eval "$("$CRM_ROOT/scripts/cluster.sh" env "${CRM_CORE_CLUSTER:-test}")"
database=crm_core_isolation
out="$CRM_RUNTIME/isolation"
rm -rf "$out"
mkdir -p "$out"
dropdb --if-exists --force "$database"
createdb "$database"
trap 'dropdb --if-exists --force "$database"' EXIT
status=0
"$PGROOT/lib/postgresql/$PG_MAJOR/lib/pgxs/src/test/isolation/pg_isolation_regress" \
    --use-existing --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" --dbname="$database" \
    --inputdir="$CRM_ROOT/tests/isolation" --outputdir="$out" \
    --schedule="$CRM_ROOT/tests/isolation/schedule" || status=$?
if [ "$status" -ne 0 ] && [ -f "$out/regression.diffs" ]; then
    cat "$out/regression.diffs"
fi
exit "$status"
