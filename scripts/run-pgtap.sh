#!/usr/bin/env bash
# Runs the pgTAP suite with pg_prove against a fresh database in a running cluster.
# The cluster is CRM_CORE_CLUSTER (default "test"); start it with scripts/cluster.sh.
# CRM_CORE_CLUSTER=env uses your own libpq environment (PGHOST, PGPORT, PGUSER) instead: that
# server needs crm_core, pgtap and the test-only crm_core_test (make -C tests/boundary install).
# Extra arguments are test files (default: every tests/pgtap/*.sql).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

cluster=${CRM_CORE_CLUSTER:-test}
if [ "$cluster" != env ]; then
    eval "$("$CRM_ROOT/scripts/cluster.sh" env "$cluster")"
fi
export PGDATABASE=crm_core_regress

dropdb --if-exists --force "$PGDATABASE"
createdb "$PGDATABASE"
psql -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION crm_core' \
    -c 'CREATE EXTENSION crm_core_test'

cd "$CRM_ROOT"
if [ $# -eq 0 ]; then
    set -- tests/pgtap/*.sql
fi
pg_prove --ext .sql --failures "$@"
