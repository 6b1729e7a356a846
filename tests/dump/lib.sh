# Shared by tests/dump/*_test.sh (sourced): the cluster's environment, a fresh source and
# restore database (dropped again on exit), and TAP helpers. Set source_db and restored_db first.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

eval "$("$CRM_ROOT/scripts/cluster.sh" env "${CRM_CORE_CLUSTER:-test}")"
export PGOPTIONS="-c client_min_messages=warning"
cleanup() { dropdb --if-exists --force "$source_db"; dropdb --if-exists --force "$restored_db"; }
cleanup
trap cleanup EXIT
createdb "$source_db"
createdb "$restored_db"

# One statement's result, unaligned, in database $1.
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

failures=0
# check NUMBER DESCRIPTION GOT EXPECTED: one TAP line; counts failures.
check() {
    if [ "$3" = "$4" ]; then
        echo "ok $1 - $2"
    else
        echo "not ok $1 - $2"
        printf '#   got:      %s\n#   expected: %s\n' "$3" "$4"
        failures=$((failures + 1))
    fi
}

# Dumps source_db and restores it into restored_db the way docs/install.md says (as a superuser,
# session_replication_role = replica, ON_ERROR_STOP); prints "ok", or the start of the error.
dump_and_restore() {
    local log
    log=$(mktemp)
    if "$PGBIN/pg_dump" -d "$source_db" 2>/dev/null |
           PGOPTIONS="$PGOPTIONS -c session_replication_role=replica" \
           psql -X -q -v ON_ERROR_STOP=1 -d "$restored_db" >/dev/null 2>"$log"; then
        echo ok
    else
        head -c 400 "$log"
    fi
    rm -f "$log"
}
