#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is missing, builds crm_core,
# crm_collections and crm_erp, starts a throwaway local cluster ("demo") with them, a collection
# agency's demo portfolio and seed 002's three businesses, and, once built, crm-core-service;
# then shows their health and how to connect and stop.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$CRM_ROOT/scripts/install-deps.sh"
"$CRM_ROOT/scripts/build.sh"
"$CRM_ROOT/scripts/cluster.sh" start demo
eval "$("$CRM_ROOT/scripts/cluster.sh" env demo)"
export PGDATABASE=crm_core_demo

if ! psql -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'crm_core_demo'" | grep -q 1; then
    createdb crm_core_demo
fi
psql -q -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS crm_collections CASCADE'
for demo in "$CRM_ROOT"/scripts/demo/*.sql; do
    [ -e "$demo" ] || continue
    psql -q -v ON_ERROR_STOP=1 -f "$demo"
done
if [ -x "$CRM_ROOT/scripts/demo-service.sh" ]; then
    "$CRM_ROOT/scripts/demo-service.sh"
fi

echo
echo "crm_core $(psql -Atqc 'SELECT crm_core.version()') is installed in database crm_core_demo."
psql -c "SELECT extname, extversion FROM pg_extension WHERE extname IN ('crm_core', 'crm_collections', 'crm_erp') ORDER BY extname"
cat <<MSG
Connect:  psql "host=$PGHOST port=$PGPORT user=postgres dbname=crm_core_demo"
      or: eval "\$(scripts/cluster.sh env demo)"; psql -d crm_core_demo
Stop:     scripts/demo-service.sh stop; scripts/cluster.sh stop demo
          (scripts/cluster.sh destroy demo deletes the cluster and its data)
MSG
