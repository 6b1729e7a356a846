#!/usr/bin/env bash
# The distributed tests (ctest "citus"): builds Citus from the vendored source if this
# checkout has not yet (cached in build/), starts a fresh coordinator and two workers
# (scripts/citus.sh, cluster "citus-test"), and runs tests/citus/*.sql with pg_prove on the
# coordinator, in name order (010_distribute distributes the ledger the others use). Extra
# arguments are test files (010_distribute.sql runs first anyway). The cluster is destroyed at the end unless CRM_CORE_CITUS_KEEP=1.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
name=citus-test

"$CRM_ROOT/scripts/build-citus.sh"
"$CRM_ROOT/scripts/citus.sh" destroy "$name" >/dev/null
"$CRM_ROOT/scripts/citus.sh" start "$name"
if [ "${CRM_CORE_CITUS_KEEP:-0}" != 1 ]; then
    trap '"$CRM_ROOT/scripts/citus.sh" destroy "$name" >/dev/null' EXIT
fi
eval "$("$CRM_ROOT/scripts/citus.sh" env "$name")"

cd "$CRM_ROOT"
if [ $# -eq 0 ]; then
    set -- tests/citus/[0-9]*.sql
elif [[ " $* " != *" tests/citus/010_distribute.sql "* ]]; then
    set -- tests/citus/010_distribute.sql "$@"  # the others need the ledger it distributes
fi
# A statement that waits for a lock it should not wait for fails instead of hanging.
export PGOPTIONS="-c statement_timeout=120s"
pg_prove --ext .sql --failures "$@"
