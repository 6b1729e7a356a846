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

# ---- Helpers for scripts, tests and benchmarks (one definition each) ------------------------

# free_port FIRST LAST [SOCKET_DIR]: a port in FIRST..LAST (tried in random order, so scripts
# running side by side rarely race for the same one) with no TCP listener and no PostgreSQL
# socket file in SOCKET_DIR, /tmp or /var/run/postgresql. Fails when every port is taken.
free_port() {
    local first=$1 last=$2 socket_dir=${3:-/tmp} port
    for port in $(shuf -i "$first-$last"); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null \
            && [ ! -e "$socket_dir/.s.PGSQL.$port" ] && [ ! -e "/tmp/.s.PGSQL.$port" ] \
            && [ ! -e "/var/run/postgresql/.s.PGSQL.$port" ]; then
            echo "$port"
            return 0
        fi
    done
    echo "free_port: no free port in $first-$last" >&2
    return 1
}

# psql_strict ARGS...: psql without ~/.psqlrc, quiet, stopping at the first error.
psql_strict() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# psql_quiet ARGS...: psql_strict with its output dropped (errors still go to stderr).
psql_quiet() { psql_strict "$@" >/dev/null; }

# sql DATABASE STATEMENT: the statement's result, unaligned and without headers.
sql() { psql_strict -A -t -d "$1" -c "$2"; }

# ratio A B [DECIMALS] [UNIT]: A / B with DECIMALS (default 2) decimals, then UNIT ("x" for
# "1.50x"); "n/a" when B is 0 or either is not a number (a timed-out run).
ratio() {
    awk -v a="$1" -v b="$2" -v d="${3:-2}" -v unit="${4:-}" 'BEGIN {
        number = "^-?[0-9]+([.][0-9]*)?$"
        if (a !~ number || b !~ number || b + 0 == 0) printf "n/a"; else printf "%.*f%s", d, a / b, unit }'
}

# bench_cluster NAME [MODE]: how a benchmark starts: builds everything, starts a fresh throwaway
# cluster NAME and exports its PG* settings, and makes the work directory $work (chmod MODE,
# default 755: the server reads and writes files there). When the script exits, bench_on_exit
# runs (if the script defines it), then $work and the cluster go.
bench_cluster() {
    bench_cluster_name=$1
    "$CRM_ROOT/scripts/build.sh" >/dev/null
    "$CRM_ROOT/scripts/cluster.sh" destroy "$bench_cluster_name" >/dev/null
    "$CRM_ROOT/scripts/cluster.sh" start "$bench_cluster_name" >/dev/null
    work=$(mktemp -d)
    chmod "${2:-755}" "$work"
    trap bench_cleanup EXIT
    eval "$("$CRM_ROOT/scripts/cluster.sh" env "$bench_cluster_name")"
}
# cluster_cpu_ticks: the CPU time (user + system, in clock ticks, /proc) the running cluster
# ($PGHOST/data) has used so far: the postmaster's own, that of its children that exited
# (counted in the postmaster's cutime and cstime once reaped), and that of the live ones. On a
# shared machine a workload's CPU per transaction is steadier than its throughput.
cluster_cpu_ticks() {
    local postmaster child total
    postmaster=$(head -1 "$PGHOST/data/postmaster.pid")
    # Fields after the command name: utime is the 12th, stime, cutime, cstime follow.
    total=$(sed 's/^.*) //' "/proc/$postmaster/stat" | awk '{ print $12 + $13 + $14 + $15 }')
    for child in $(cluster_children); do
        total=$((total + $(sed 's/^.*) //' "/proc/$child/stat" 2>/dev/null |
            awk '{ print $12 + $13 } END { if (NR == 0) print 0 }')))
    done
    echo "$total"
}
# cluster_children: the process ids of the running cluster's backends and workers.
cluster_children() { pgrep -P "$(head -1 "$PGHOST/data/postmaster.pid")" || true; }
# cluster_settle: waits (at most 10 s) until only the cluster's own workers are left, so that
# the backends of the last run have exited and their CPU time is the postmaster's.
cluster_settle() {
    local tries=0
    while [ "$tries" -lt 100 ] &&
        [ "$(sql postgres "SELECT count(*) FROM pg_stat_activity
              WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")" != 0 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
}

# callgrind_single_user DATABASE SQL_FILE OUT: runs SQL_FILE in a single-user backend of
# DATABASE, on a fresh copy of $work/pristine in $data (the stopped cluster's data directory),
# under valgrind's callgrind (profile OUT.out, output OUT.stdout and OUT.err); prints the
# instructions it collected. Exits when the SQL raised an error.
callgrind_single_user() {
    local database=$1 file=$2 out=$3
    rm -rf "$data"
    cp -a "$work/pristine" "$data"
    run_as_db_owner valgrind --tool=callgrind --callgrind-out-file="$out.out" \
        "$PGBIN/postgres" --single -D "$data" -c synchronous_commit=off "$database" \
        < "$file" > "$out.stdout" 2> "$out.err"
    if grep -q ERROR "$out.stdout"; then
        grep ERROR "$out.stdout" | head -3 >&2
        exit 1
    fi
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out.err"
}
bench_cleanup() {
    if declare -F bench_on_exit >/dev/null; then
        bench_on_exit
    fi
    rm -rf "$work"
    "$CRM_ROOT/scripts/cluster.sh" destroy "$bench_cluster_name" >/dev/null
}

# TAP for the shell tests: tap_check DESCRIPTION GOT EXPECTED prints one numbered test line (with
# what differed); tap_ok / tap_not_ok DESCRIPTION [DIAGNOSTIC...] for tests that decide
# themselves; tap_done prints the plan and fails when a test failed.
tap_count=0
tap_failures=0
tap_ok() {
    tap_count=$((tap_count + 1))
    echo "ok $tap_count - $1"
}
tap_not_ok() {
    tap_count=$((tap_count + 1))
    tap_failures=$((tap_failures + 1))
    echo "not ok $tap_count - $1"
    shift
    local line
    for line in "$@"; do
        printf '#   %s\n' "$line"
    done
}
tap_check() {
    if [ "$2" = "$3" ]; then
        tap_ok "$1"
    else
        tap_not_ok "$1" "got:      $(printf '%s' "$2" | cut -c1-600)" "expected: $3"
    fi
}
tap_done() {
    echo "1..$tap_count"
    [ "$tap_failures" -eq 0 ]
}
