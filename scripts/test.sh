#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts a throwaway cluster and
# runs ctest (Boost.Test units, the pgTAP suite through pg_prove, service integration tests).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$CRM_ROOT/scripts/install-deps.sh"
"$CRM_ROOT/scripts/build.sh"

export CRM_CORE_CLUSTER=test
"$CRM_ROOT/scripts/cluster.sh" destroy test >/dev/null
"$CRM_ROOT/scripts/cluster.sh" start test
trap '"$CRM_ROOT/scripts/cluster.sh" destroy test >/dev/null' EXIT

cd "$CRM_ROOT/build/cmake"
ctest --output-on-failure --verbose "$@" 2>&1 | grep -v -E '^[0-9]+: Test command:|^[0-9]+: Working Directory:|^[0-9]+: Environment variables:|^UpdateCTestConfiguration|^Parse Config|^Constructing a list|^Updating test list|^Checking test dependency|^test [0-9]+$' 
exit "${PIPESTATUS[0]}"
