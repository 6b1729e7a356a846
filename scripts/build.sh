#!/usr/bin/env bash
# Builds everything: the extension (PGXS) into the private tree, the test-only extension,
# and the CMake targets (pure-logic library, unit tests, service).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CRM_ROOT"

"$CRM_ROOT/scripts/pgroot.sh"
jobs=$(nproc)
make -s -j"$jobs" PG_CONFIG="$PG_CONFIG"
make -s install PG_CONFIG="$PG_CONFIG"
make -s -C tests/boundary -j"$jobs" PG_CONFIG="$PG_CONFIG"
make -s -C tests/boundary install PG_CONFIG="$PG_CONFIG"
cmake -S "$CRM_ROOT" -B "$CRM_ROOT/build/cmake" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$CRM_ROOT/build/cmake" -j"$jobs"
