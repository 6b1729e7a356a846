#!/usr/bin/env bash
# Runs the pgTAP suites with pg_prove, each extension's in a fresh database of its own
# (<extension>_regress, holding pgtap, the extension with its dependencies, and the test-only
# crm_core_test). The cluster is CRM_CORE_CLUSTER (default "test"); start it with
# scripts/cluster.sh. CRM_CORE_CLUSTER=env uses your own libpq environment (PGHOST, PGPORT,
# PGUSER) instead: that server needs the extensions, pgtap and crm_core_test
# (make -C tests/boundary install).
# Extra arguments are test files (default: every extensions/*/tests/pgtap/*.sql).
# CRM_CORE_PGTAP_UPGRADE_FROM=VERSION prepares each database the way an upgraded installation
# is: CREATE EXTENSION ... VERSION 'VERSION' (its frozen script), then ALTER EXTENSION ... UPDATE
# (tests/upgrade/data_test.sh runs the whole suite so for every released version).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

cluster=${CRM_CORE_CLUSTER:-test}
if [ "$cluster" != env ]; then
    eval "$("$CRM_ROOT/scripts/cluster.sh" env "$cluster")"
fi

cd "$CRM_ROOT"
if [ $# -eq 0 ]; then
    set -- extensions/*/tests/pgtap/*.sql
fi

# Groups the files by extension (extensions/NAME/tests/pgtap/FILE.sql), keeping their order.
declare -A files_of
order=()
for file in "$@"; do
    extension=$(printf '%s\n' "$file" | sed -n 's|^\(.*/\)\{0,1\}extensions/\([^/]*\)/tests/pgtap/.*|\2|p')
    if [ -z "$extension" ]; then
        echo "run-pgtap: $file is not under extensions/NAME/tests/pgtap/" >&2
        exit 2
    fi
    [ -n "${files_of[$extension]:-}" ] || order+=("$extension")
    files_of[$extension]+="$file "
done

status=0
for extension in "${order[@]}"; do
    export PGDATABASE=${extension}_regress
    dropdb --if-exists --force "$PGDATABASE"
    createdb "$PGDATABASE"
    if [ -n "${CRM_CORE_PGTAP_UPGRADE_FROM:-}" ]; then
        psql -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pgtap' \
            -c "CREATE EXTENSION $extension VERSION '$CRM_CORE_PGTAP_UPGRADE_FROM' CASCADE" \
            -c "ALTER EXTENSION $extension UPDATE" -c 'CREATE EXTENSION crm_core_test'
    else
        psql -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pgtap' \
            -c "CREATE EXTENSION $extension CASCADE" -c 'CREATE EXTENSION crm_core_test'
    fi
    # shellcheck disable=SC2086
    pg_prove --ext .sql --failures ${files_of[$extension]} || status=1
done
exit "$status"
