#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster in a local folder, on a free port, using the private tree.
#   scripts/cluster.sh start [NAME]   init (if needed) and start; prints how to connect
#   scripts/cluster.sh stop  [NAME]   stop it (data is kept)
#   scripts/cluster.sh destroy [NAME] stop it and delete its folder
#   scripts/cluster.sh env   [NAME]   print the PG* variables to `eval` for psql/pg_prove
# NAME defaults to "demo"; the folder is build/clusters/NAME (see scripts/lib.sh).
# CRM_CORE_CLUSTER_CONF: extra postgresql.conf lines for a new cluster (scripts/citus.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command=${1:-}
name=${2:-demo}
dir="$CRM_RUNTIME/clusters/$name"
data="$dir/data"

running() { [ -f "$data/postmaster.pid" ] && run_as_db_owner "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; }

start() {
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        run_as_db_owner "$PGBIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
            --no-sync >/dev/null
        cat >> "$data/postgresql.conf" <<CONF
# throwaway cluster settings (scripts/cluster.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 100
shared_buffers = 256MB
fsync = off
full_page_writes = off
synchronous_commit = off
max_prepared_transactions = 10
log_min_messages = warning
log_line_prefix = '%m [%p] %q%a '
${CRM_CORE_CLUSTER_CONF:-}
CONF
    fi
    if running; then
        echo "cluster $name already running"
    else
        local port
        port=$(free_port 55432 55631 "$dir")
        run_as_db_owner "$PGBIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port" start >/dev/null
        cat > "$dir/env" <<ENV
export PGHOST='$dir'
export PGPORT='$port'
export PGUSER=postgres
export PGDATABASE=postgres
ENV
    fi
    # shellcheck disable=SC1091
    source "$dir/env"
    echo "cluster $name: running on port $PGPORT, data in $data"
}

case "$command" in
    start) start ;;
    stop)
        if running; then run_as_db_owner "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null; fi
        echo "cluster $name: stopped"
        ;;
    destroy)
        if running; then run_as_db_owner "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null; fi
        rm -rf "$dir"
        echo "cluster $name: destroyed"
        ;;
    env) cat "$dir/env" ;;
    *)
        sed -n '2,8p' "$0"
        exit 2
        ;;
esac
