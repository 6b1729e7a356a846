# Shared settings for scripts/*.sh (sourced, not run): where the private PostgreSQL tree and
# the throwaway clusters live, and how to run commands as the database's OS user.

CRM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
SYSTEM_PG_LIB=/usr/lib/postgresql/$PG_MAJOR
SYSTEM_PG_SHARE=/usr/share/postgresql/$PG_MAJOR

# Runs a command as the OS user that owns the clusters: `postgres` when we are root
# (initdb refuses to run as root), ourselves otherwise.
run_as_db_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Where the private PostgreSQL tree (pgroot) and clusters go: build/ inside the checkout,
# unless the checkout is not reachable by the postgres user (e.g. under /root).
crm_runtime_dir() {
    if [ -n "${CRM_CORE_RUNTIME:-}" ]; then
        echo "$CRM_CORE_RUNTIME"
        return
    fi
    mkdir -p "$CRM_ROOT/build"
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$CRM_ROOT/build" 2>/dev/null; then
        echo "/var/tmp/crm_core-$(printf '%s' "$CRM_ROOT" | cksum | cut -d' ' -f1)"
    else
        echo "$CRM_ROOT/build"
    fi
}

CRM_RUNTIME=$(crm_runtime_dir)
# CRM_CORE_PGROOT selects another private tree (tests/upgrade builds released versions into trees
# of their own and starts clusters on them).
PGROOT=${CRM_CORE_PGROOT:-$CRM_RUNTIME/pgroot}
PGBIN=$PGROOT/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PGBIN/pg_config
export PG_CONFIG
