#!/usr/bin/env bash
# A throwaway Citus cluster on loopback: a coordinator and two workers, each a
# scripts/cluster.sh cluster on a free port, with citus preloaded and database crm_core_citus
# holding citus and crm_core on every node; the workers are registered on the coordinator.
#   scripts/citus.sh start   [NAME]   build Citus if needed, init (if needed) and start the nodes
#   scripts/citus.sh stop    [NAME]   stop the nodes (data is kept)
#   scripts/citus.sh destroy [NAME]   stop the nodes and delete their folders
#   scripts/citus.sh env     [NAME]   print the coordinator's PG* variables to `eval` for psql
#                                     and pg_prove, and CRM_CORE_CITUS_WORKER_PORTS
# NAME defaults to "citus"; the nodes are the clusters NAME-coordinator, NAME-worker1 and
# NAME-worker2 (build/clusters/, see scripts/lib.sh).
#
# citus.enable_unsafe_triggers stays off: crm_core.distribute() turns it on for its own
# transaction only (crm_core's triggers are written for shards); see docs/scale-out.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command=${1:-}
name=${2:-citus}
database=crm_core_citus
nodes=("$name-coordinator" "$name-worker1" "$name-worker2")

# Settings of every node: Citus preloaded; two-phase commit of multi-node transactions needs
# prepared transactions; four connections per node and query are plenty on loopback.
export CRM_CORE_CLUSTER_CONF="
# Citus node (scripts/citus.sh)
shared_preload_libraries = 'citus'
max_prepared_transactions = 100
citus.max_adaptive_executor_pool_size = 4
"

node_env() { "$CRM_ROOT/scripts/cluster.sh" env "$1"; }
node_port() { (eval "$(node_env "$1")" && echo "$PGPORT"); }
node_psql() {
    local node=$1
    shift
    (eval "$(node_env "$node")" && psql -X -q -v ON_ERROR_STOP=1 -d "$database" "$@")
}

start() {
    "$CRM_ROOT/scripts/build-citus.sh"
    local node
    for node in "${nodes[@]}"; do
        # Another checkout may take the free port found between the probe and the start: retry.
        "$CRM_ROOT/scripts/cluster.sh" start "$node" >/dev/null ||
            "$CRM_ROOT/scripts/cluster.sh" start "$node" >/dev/null
        (eval "$(node_env "$node")" &&
            if ! psql -X -Atqd postgres -c "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
                createdb "$database"
            fi)
        node_psql "$node" -c 'CREATE EXTENSION IF NOT EXISTS citus'
    done
    local coordinator=${nodes[0]}
    node_psql "$coordinator" -c "SELECT citus_set_coordinator_host('127.0.0.1', $(node_port "$coordinator"))" >/dev/null
    for node in "${nodes[@]:1}"; do
        local port registered_file registered
        port=$(node_port "$node")
        registered_file="$CRM_RUNTIME/clusters/$node/citus-registered-port"
        registered=$(cat "$registered_file" 2>/dev/null || true)
        if [ -n "$registered" ] && [ "$registered" != "$port" ]; then
            # The worker came back on another port: move its registration.
            node_psql "$coordinator" -c "SELECT citus_update_node(nodeid, '127.0.0.1', $port)
                FROM pg_dist_node WHERE nodename = '127.0.0.1' AND nodeport = $registered" >/dev/null
        fi
        node_psql "$coordinator" -c "SELECT citus_add_node('127.0.0.1', $port) WHERE NOT EXISTS
            (SELECT 1 FROM pg_dist_node WHERE nodename = '127.0.0.1' AND nodeport = $port)" >/dev/null
        echo "$port" > "$registered_file"
    done
    # CREATE EXTENSION on the coordinator is propagated to the workers.
    node_psql "$coordinator" -c 'CREATE EXTENSION IF NOT EXISTS crm_core'
    eval "$(env_lines)"
    echo "citus $name: coordinator on port $PGPORT, workers on ports $CRM_CORE_CITUS_WORKER_PORTS, database $database"
}

env_lines() {
    node_env "${nodes[0]}" | grep -v '^export PGDATABASE='
    echo "export PGDATABASE=$database"
    echo "export CRM_CORE_CITUS_WORKER_PORTS='$(node_port "${nodes[1]}") $(node_port "${nodes[2]}")'"
}

case "$command" in
    start) start ;;
    stop | destroy)
        for node in "${nodes[@]}"; do
            "$CRM_ROOT/scripts/cluster.sh" "$command" "$node" >/dev/null
        done
        echo "citus $name: $command done"
        ;;
    env) env_lines ;;
    *)
        sed -n '2,11p' "$0"
        exit 2
        ;;
esac
