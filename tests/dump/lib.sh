# Shared by tests/dump/*_test.sh (sourced): the cluster's environment, a fresh source and
# restore database (dropped again on exit), and TAP helpers (scripts/lib.sh). Set source_db and restored_db first.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/restore.sh"

eval "$("$CRM_ROOT/scripts/cluster.sh" env "${CRM_CORE_CLUSTER:-test}")"
export PGOPTIONS="-c client_min_messages=warning"
cleanup() { dropdb --if-exists --force "$source_db"; dropdb --if-exists --force "$restored_db"; }
cleanup
trap cleanup EXIT
createdb "$source_db"
createdb "$restored_db"

