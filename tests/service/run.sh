#!/usr/bin/env bash
# Integration tests of crm-core-service against a real PostgreSQL: every endpoint, --once,
# job execution and health aggregation on stand-in functions (fixtures.sql), failover between
# two instances with pg_terminate_backend, a database restart, SIGTERM, SIGHUP, and hostile
# HTTP clients (oversized and slow requests, too many connections).
# Starts its OWN cluster (service-test): it restarts the server and kills backends.
#   tests/service/run.sh path/to/crm-core-service
# CRM_CORE_SERVICE_TEST_EXTENSION=1 also installs the real crm_core extension first, so the
# fixtures only fill in what it does not provide, and runs the service as a login of the role
# crm_core_service, with nothing else; it adds the checks that need the real extension (jobs on
# tables and views other roles own, an unbalanced ledger, a squatted leader lock, prepared
# transactions). Item numbers in check names refer to issue 10.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

binary=$(realpath "${1:?usage: $0 path/to/crm-core-service}")
cluster=service-test
work=$(mktemp -d)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        { kill -KILL "$pid" && wait "$pid"; } 2>/dev/null || true
    done
    "$CRM_ROOT/scripts/cluster.sh" destroy "$cluster" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

"$CRM_ROOT/scripts/cluster.sh" destroy "$cluster" >/dev/null
"$CRM_ROOT/scripts/cluster.sh" start "$cluster" >/dev/null
eval "$("$CRM_ROOT/scripts/cluster.sh" env "$cluster")"
data="$CRM_RUNTIME/clusters/$cluster/data"
export PGDATABASE=crm_core_service_test
createdb crm_core_service_test
createdb crm_core_service_bare  # nothing of crm_core: every job and check "not installed"
extension=${CRM_CORE_SERVICE_TEST_EXTENSION:-0}
service_env=()  # the service's environment: its own login in extension mode
service_login=postgres
if [ "$extension" = 1 ]; then
    psql -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION crm_core' \
        -c 'CREATE ROLE crm_svc LOGIN IN ROLE crm_core_service' \
        -c 'CREATE ROLE crm_app LOGIN IN ROLE crm_core_app'
    service_env=(PGUSER=crm_svc)
    service_login=crm_svc
fi
psql -q -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' \
    -f "$CRM_ROOT/tests/service/fixtures.sql" >/dev/null

# ---- TAP (scripts/lib.sh) --------------------------------------------------------------------
check() {  # check "description" command...
    local description=$1
    shift
    if "$@"; then tap_ok "$description"; else tap_not_ok "$description"; fi
}
# Polls a command every 0.1 s until it succeeds or `seconds` pass.
wait_until() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.1
    done
}
sql() { psql -Atqc "$1"; }
# Predicates for check/wait_until: each is re-evaluated on every poll.
sql_is() { [ "$(sql "$1")" = "$2" ]; }

# Whether OBJECT ("name()" for a function, else a relation) is a stand-in from fixtures.sql,
# not the real crm_core object; checks that steer a stand-in run only then.
fixture() {
    local lookup="obj_description(to_regclass('$1'), 'pg_class')"
    case $1 in *'('*) lookup="obj_description(to_regprocedure('$1'), 'pg_proc')" ;; esac
    sql_is "SELECT coalesce($lookup, '') LIKE 'TEST FIXTURE%'" t
}
# Checks that need the real extension's registered jobs and retention (CRM_CORE_SERVICE_TEST_EXTENSION=1).
extension_installed() { sql_is "SELECT to_regproc('crm_core.schedule_job') IS NOT NULL" t; }
check_ext() {  # check_ext "description" command...
    if extension_installed; then
        check "$@"
    else
        tap_ok "$1 # SKIP crm_core is not installed"
    fi
}
check_with() {  # check_with OBJECT "description" command...
    local object=$1
    shift
    if fixture "$object"; then
        check "$@"
    else
        tap_ok "$1 # SKIP the real $object is installed"
    fi
}

# ---- a dependency-free HTTP client (bash /dev/tcp) ----------------------------------------
# http PORT METHOD PATH [EXTRA_HEADER_LINES] -> the raw response on stdout
http() {
    local port=$1 method=$2 path=$3 extra=${4:-}
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf '%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%b\r\n' \
        "$method" "$path" "$extra" >&"$fd"
    timeout 5 cat <&"$fd" || true
    exec {fd}<&-
}
status_of() { http "$@" | head -1 | cut -d' ' -f2; }
body_of() { http "$@" | sed '1,/^\r$/d'; }
# metric PORT NAME_WITH_LABELS -> its value (empty when absent)
metric() { body_of "$1" GET /metrics | awk -v name="$2" '$1 == name { print $2 }'; }
status_is() { [ "$(status_of "$1" "$2" "$3" "${5:-}" 2>/dev/null)" = "$4" ]; }  # PORT METHOD PATH CODE [HEADERS]
body_has() { local body; body=$(body_of "$1" GET "$2"); grep -q -- "$3" <<<"$body"; }  # PORT PATH PATTERN
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }                         # PORT NAME VALUE
metric_ge() { local v; v=$(metric "$1" "$2"); [ -n "$v" ] && [ "${v%.*}" -ge "$3" ]; }


# start_service NAME PORT [FLAGS...]: runs an instance in the background, logging to $work/NAME.log
start_service() {
    local name=$1 port=$2
    shift 2
    env "${service_env[@]}" "$binary" --application-name "$name" --port "$port" --tick 200ms --jitter 0 \
        --backoff-initial 500ms --backoff-max 10s --read-timeout 1s "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    eval "pid_${name//-/_}=$!"
    wait_until 10 status_is "$port" GET /readyz 200
}
leader_pid_of() { sql "SELECT pid FROM pg_stat_activity WHERE application_name = '$1/leader'"; }
# Leader locks: pg_advisory_lock's class (1) without crm_core, crm_core's own (17228) with it.
lock_holders_are() {
    sql_is "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
            AND objsubid = CASE WHEN to_regproc('crm_core.service_try_lock') IS NULL THEN 1 ELSE 17228 END" "$1"
}

# ---- command line ---------------------------------------------------------------------------
check "--help describes --once" bash -c "'$binary' --help | grep -q -- '--once JOB'"
version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$CRM_ROOT/extensions/crm_core/crm_core.control")
check "--version prints the version" bash -c "'$binary' --version | grep -qx 'crm-core-service $version'"
set +e
"$binary" --no-such-flag 2>"$work/usage.err"; code=$?
set -e
check "an unknown flag exits 2, naming it" \
    eval 'test "$code" = 2 && grep -q "unknown option .--no-such-flag. (see --help)" "$work/usage.err"' 

once() {  # once JOB [ENV...] -> exit code
    set +e
    env "${service_env[@]}" "${@:2}" "$binary" --once "$1" >"$work/once.out" 2>"$work/once.err"
    echo $?
    set -e
}
check "--once maintenance runs the job and exits 0" test "$(once maintenance CRM_CORE_LOCK_TIMEOUT=3s)" = 0
check_with 'crm_core.run_maintenance()' "maintenance runs under the configured lock_timeout" \
    sql_is "SELECT lock_timeout FROM crm_core_fixture.call WHERE job = 'maintenance' ORDER BY id DESC LIMIT 1" 3s
check_with 'crm_core.run_maintenance()' "--once ran on a session holding the leader lock" \
    sql_is "SELECT bool_and(held_leader_lock) FROM crm_core_fixture.call WHERE job = 'maintenance'" t
check "--once refresh exits 0" test "$(once refresh)" = 0
check "--once seal exits 0" test "$(once seal)" = 0
check "--once health prints health+json and exits 0" \
    bash -c "[ \"\$(set +e; env ${service_env[*]} '$binary' --once health >'$work/h.json'; echo \$?)\" = 0 ] && grep -q '\"status\":\"pass\"' '$work/h.json'"
sql "UPDATE crm_core_fixture.knob SET fail = true WHERE job = 'seal'"
check_with 'crm_core.seal_ledger()' "--once of a failing job exits 1, with the error" \
    eval 'test "$(once seal)" = 1 && grep -q "job seal failed: ERROR:  fixture: seal fails on purpose" "$work/once.err"' 
sql "UPDATE crm_core_fixture.knob SET fail = false WHERE job = 'seal'"
check "--once of a job not installed exits 3, saying so" \
    eval 'test "$(once seal PGDATABASE=crm_core_service_bare)" = 3 &&
          grep -q "job seal: not installed in this database" "$work/once.err"' 
if extension_installed; then
    # Registered jobs run as the role that scheduled them; job_log records who ran them.
    psql -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE ROLE svc_jobs NOLOGIN;
CREATE SCHEMA svc;
CREATE TABLE svc.job_log (job text, run_as name, session_as name, lock_timeout text,
                          at timestamptz DEFAULT clock_timestamp());
GRANT USAGE ON SCHEMA svc TO svc_jobs;
GRANT INSERT ON svc.job_log TO svc_jobs;
GRANT USAGE ON SCHEMA crm_core TO svc_jobs;
GRANT EXECUTE ON FUNCTION crm_core.schedule_job(text, regprocedure, interval, interval, timestamptz),
                          crm_core.unschedule_job(text) TO svc_jobs;
CREATE FUNCTION svc.tick() RETURNS void LANGUAGE sql
    AS $$INSERT INTO svc.job_log (job, run_as, session_as, lock_timeout)
          VALUES ('tick', current_user, session_user, current_setting('lock_timeout'))$$;
CREATE FUNCTION svc.fail() RETURNS void LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'svc.fail fails'; END$$;
CREATE FUNCTION svc.release_lock() RETURNS void LANGUAGE sql AS 'SELECT pg_advisory_unlock_all()';
SET ROLE svc_jobs;
SELECT crm_core.schedule_job('svc.once', 'svc.tick()', '1 hour', start_at => now() + interval '1 day');
RESET ROLE;
SQL
fi
check_ext "--once NAME runs a registered job and exits 0" test "$(once svc.once)" = 0
check_ext "it prints the outcome" grep -qx 'svc.once: success' "$work/once.out"
check_ext "the job ran as the role that scheduled it, not as the service's login" \
    sql_is "SELECT run_as || '/' || session_as FROM svc.job_log" "svc_jobs/$service_login"
check_ext "--once of a name no job has exits 3" test "$(once no.such.job)" = 3
check "--once with the database down exits 69, saying so" \
    eval 'test "$(once seal PGPORT=1)" = 69 && grep -q "cannot connect: " "$work/once.err"' 
check "connection errors name no password" \
    bash -c "'$binary' --once seal --dsn 'port=1 password=hunter2' 2>&1 | grep -q 'cannot connect' &&
             ! '$binary' --once seal --dsn 'port=1 password=hunter2' 2>&1 | grep -q hunter2"

# ---- the real extension, as crm_core_service (items 13, 11, 19, 12 of issue 10) -----------------
# In a database of its own: its ledger is made unbalanced on purpose.
if [ "$extension" = 1 ]; then
    createdb crm_core_service_real
    psql -X -q -v ON_ERROR_STOP=1 -d crm_core_service_real >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION crm_core;
CREATE ROLE crm_owner;  -- owns the tables and views the service keeps
CREATE SCHEMA owned AUTHORIZATION crm_owner;
SET ROLE crm_owner;
CREATE TABLE owned.events (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE owned.events_old PARTITION OF owned.events
    FOR VALUES FROM (date_trunc('day', now() - interval '100 days'))
    TO (date_trunc('day', now() - interval '99 days'));
CREATE TABLE owned.src (n int);
INSERT INTO owned.src VALUES (1), (2);
CREATE MATERIALIZED VIEW owned.totals AS SELECT sum(n) AS total FROM owned.src;
RESET ROLE;
-- Registered by hand: registering would already create partitions.
INSERT INTO crm_core.partition_config (parent, control_column, partition_interval, premake)
VALUES ('owned.events', 'at', '1 day', 2);
SELECT crm_core.register_matview('owned.totals', '1 minute', concurrently => false);
INSERT INTO crm_core.business (id, name) VALUES (1, 'b');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (1, 1, 'cash', 'Cash', 'asset', 'EUR'), (2, 1, 'fees', 'Fees', 'income', 'EUR');
BEGIN;
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (1, 1);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (1, 1, 1, 10, NULL), (1, 1, 2, NULL, 10);
COMMIT;
SQL
    real() { psql -Atq -d crm_core_service_real -c "$1"; }
    real_is() { [ "$(real "$1")" = "$2" ]; }
    check "as crm_core_service: --once maintenance exits 0 (13)" \
        test "$(once maintenance PGDATABASE=crm_core_service_real)" = 0
    check "it created the owner's partitions: today, two ahead and the 100-day backlog (19)" \
        real_is "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'owned.events'::regclass AND c.relowner = 'crm_owner'::regrole" 103
    check "in rounds of at most 64 new partitions, each its own transaction (19)" \
        grep -q '^maintenance: 2 rounds' "$work/once.out"
    check "and refreshed the owner's view (13)" \
        real_is "SELECT last_status FROM crm_core.matview_status WHERE view = 'owned.totals'::regclass" refreshed
    check "--once refresh exits 0 (13)" test "$(once refresh PGDATABASE=crm_core_service_real)" = 0
    check "--once seal exits 0 and seals the ledger (13)" \
        eval 'test "$(once seal PGDATABASE=crm_core_service_real)" = 0 &&
              real_is "SELECT sum(unsealed_rows) FROM crm_core.seal_status" 0'
    check "--once health passes (13)" test "$(once health PGDATABASE=crm_core_service_real)" = 0
    # "No leader ran jobs for too long": a lock key whose last leader ran a job an hour ago (12).
    real "INSERT INTO crm_core.service_leader_state VALUES (42, 1, now() - interval '2 hours', 'seal', now() - interval '1 hour')" >/dev/null
    check "--once health fails when no leader ran a job for too long (12)" \
        test "$(once health PGDATABASE=crm_core_service_real CRM_CORE_LOCK_KEY=42)" = 1
    check "and says so" grep -q '"leadership:jobs":\[{"status":"fail".*no leader has run a job for 3[0-9][0-9][0-9] s' "$work/once.out"
    # A superuser restoring in replica mode posts an unbalanced entry (the triggers stay off).
    real "SET session_replication_role = replica;
          INSERT INTO crm_core.journal_entry (id, business_id) VALUES (2, 1);
          INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (1, 2, 1, 5)" >/dev/null
    check "--once health exits 1 on an unbalanced ledger (13)" \
        test "$(once health PGDATABASE=crm_core_service_real)" = 1
    check "and says why" grep -q '"ledger:unbalanced_entries":\[{"status":"fail".*posted entries do not balance' "$work/once.out"
    # The application login: its grants no longer let it lock the journal (11).
    check "the application role cannot LOCK journal_line in ACCESS EXCLUSIVE mode (11)" \
        bash -c "! psql -X -U crm_app -d crm_core_service_real -c 'BEGIN; LOCK TABLE crm_core.journal_line IN ACCESS EXCLUSIVE MODE' 2>'$work/lock.err' &&
                 grep -q 'permission denied for table journal_line' '$work/lock.err'"
    # A check that cannot run is a failure: a superuser holds the journal locked (11).
    psql -X -q -d crm_core_service_real -c "BEGIN; LOCK TABLE crm_core.journal_line IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30)" >/dev/null 2>&1 &
    pids+=($!)
    wait_until 5 real_is "SELECT count(*) FROM pg_locks WHERE relation = 'crm_core.journal_line'::regclass AND mode = 'AccessExclusiveLock' AND granted" 1
    check "--once health exits 1 when the ledger checks cannot run (11)" \
        test "$(once health PGDATABASE=crm_core_service_real CRM_CORE_PROBE_TIMEOUT=1s)" = 1
    check "and reports them as failed, not passed (11)" \
        grep -q '"ledger:unbalanced_entries":\[{"status":"fail".*could not run' "$work/once.out"
    real "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE relation = 'crm_core.journal_line'::regclass
          AND mode = 'AccessExclusiveLock'" >/dev/null
fi

# ---- a database without crm_core: nothing crashes, everything is "not installed" ----------
bare_port=$(free_port 20000 40000)
start_service bare "$bare_port" --dsn "dbname=crm_core_service_bare password=hunter2 sslpassword=hunter3" \
    --maintenance-interval 1s --health-interval 1s
check "bare database: /healthz passes with skipped checks" \
    wait_until 5 body_has "$bare_port" /healthz '^{"status":"pass".*"skipped":true' 
check "bare database: jobs are counted as skipped" \
    wait_until 5 metric_ge "$bare_port" 'crm_core_job_runs_total{job="maintenance",result="skipped"}' 1
check "the password never reaches the log" bash -c "! grep -q hunter2 '$work/bare.log'"
check "nor does the client key's password (24)" bash -c "grep -q 'sslpassword=\*\*\*\*\*\*\*\*' '$work/bare.log' && ! grep -q hunter3 '$work/bare.log'"
kill -TERM "$pid_bare"
wait "$pid_bare" || true

# ---- endpoints of a leader --------------------------------------------------------------------
if [ "$extension" = 1 ]; then
    # The application login takes the leader key the way 0.1.0 took it, and keeps it (12).
    psql -X -q -U crm_app -c "SELECT pg_advisory_lock(7165910213557449317); SELECT pg_sleep(600)" >/dev/null 2>&1 &
    pids+=($!)
    wait_until 5 sql_is "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                         WHERE l.locktype = 'advisory' AND l.granted AND a.usename = 'crm_app'" 1
fi
port_a=$(free_port 20000 40000)
echo "seal-interval = 4s" >"$work/a.conf"
start_service svc-a "$port_a" --config "$work/a.conf" --maintenance-interval 1s \
    --refresh-interval 300ms --health-interval 500ms --failures-warn 3 --max-connections 4 \
    --probe-timeout 2s --prepared-warn 1s
check "/livez answers 200 alive" test "$(http "$port_a" GET /livez | tr -d '\r' | sed -n '1p;$p' | tr '\n' ' ')" = "HTTP/1.1 200 OK alive "
check "/readyz answers 200" status_is "$port_a" GET /readyz 200
check "/healthz is application/health+json" \
    bash -c "$(declare -f http); http $port_a GET /healthz | grep -i '^Content-Type: application/health+json' >/dev/null"
check "first instance becomes leader" wait_until 5 metric_is "$port_a" crm_core_service_leader 1
if [ "$extension" = 1 ]; then
    check "although the application login holds the 0.1.0 leader key (12)" \
        sql_is "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                WHERE l.locktype = 'advisory' AND l.granted AND a.usename = 'crm_app'" 1
    sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'crm_app'" >/dev/null
    check "/healthz shows the leader's last job (12)" \
        wait_until 5 body_has "$port_a" /healthz '"leadership:jobs":\[{"status":"pass"'
fi
check "maintenance runs on the leader" \
    wait_until 5 metric_ge "$port_a" 'crm_core_job_runs_total{job="maintenance",result="success"}' 2
check "/metrics has the duration histogram" \
    body_has "$port_a" /metrics '^crm_core_job_duration_seconds_bucket{job="maintenance",le="+Inf"} [1-9]' 
check "/metrics has the last success timestamp" \
    test -n "$(metric "$port_a" 'crm_core_job_last_success_timestamp_seconds{job="refresh"}')"
check_with crm_core.partitioned_tables "/metrics has partitions ahead" \
    metric_is "$port_a" 'crm_core_partitions_ahead{parent="crm_core_fixture.payment"}' 3
check_with crm_core.matview_status "/metrics has view staleness" \
    test -n "$(metric "$port_a" 'crm_core_matview_staleness_seconds{view="crm_core_fixture.aging"}')"
check "/metrics has database up" metric_is "$port_a" crm_core_database_up 1
check "unknown path answers 404 not found" \
    eval 'status_is "$port_a" GET /nope 404 && [ "$(body_of "$port_a" GET /nope)" = "not found" ]' 
check "POST answers 405 method not allowed, with Allow" \
    bash -c "$(declare -f http); http $port_a POST /metrics 'Content-Length: 0\r\n' >'$work/405.txt';
             head -1 '$work/405.txt' | grep -q '^HTTP/1.1 405 ' && grep -qi '^Allow: GET, HEAD' '$work/405.txt' &&
             grep -q '^method not allowed' '$work/405.txt'"
check "HEAD answers without a body" test -z "$(body_of "$port_a" HEAD /livez)"

# Job failures back off exponentially (jitter 0, backoff-initial 500ms) and are recorded. The
# seal job starts failing only now, so the first gaps are the shortest (0.5, 1, 2 s) however
# long the checks above took on a loaded machine; its 4 s interval caps none of them.
failure_times=()
last=$(metric "$port_a" 'crm_core_job_failures_total{job="seal"}')
last=${last:-0}
sql "UPDATE crm_core_fixture.knob SET fail = true WHERE job = 'seal'"
deadline=$((SECONDS + 12))
while [ ${#failure_times[@]} -lt 4 ] && [ "$SECONDS" -lt "$deadline" ]; do
    now=$(metric "$port_a" 'crm_core_job_failures_total{job="seal"}')
    if [ "${now:-0}" -gt "$last" ]; then
        failure_times+=("$(date +%s.%N)")
        last=$now
    fi
    sleep 0.05
done
gaps_grow() {
    [ ${#failure_times[@]} -ge 4 ] || return 1
    awk -v a="${failure_times[1]}" -v b="${failure_times[2]}" -v c="${failure_times[3]}" \
        -v z="${failure_times[0]}" 'BEGIN { g1 = a - z; g2 = b - a; g3 = c - b;
        printf "# backoff gaps %.2f %.2f %.2f s\n", g1, g2, g3; exit !(g2 > g1 && g3 > 1.8 * g1) }'
}
check_with 'crm_core.seal_ledger()' "failures back off exponentially" gaps_grow
check_with 'crm_core.seal_ledger()' "repeated failures turn /healthz to warn" body_has "$port_a" /healthz '^{"status":"warn"' 
check_with 'crm_core.seal_ledger()' "the failure is recorded in /healthz" body_has "$port_a" /healthz 'seal fails on purpose' 
sql "UPDATE crm_core_fixture.knob SET fail = false WHERE job = 'seal'"
check_with 'crm_core.seal_ledger()' "a success resets consecutive failures" \
    wait_until 15 metric_is "$port_a" 'crm_core_job_consecutive_failures{job="seal"}' 0

# Health aggregation over the fixture views.
sql "UPDATE crm_core_fixture.partition_state SET partitions_ahead = 0"
check_with crm_core.partitioned_tables "no partition ahead fails /healthz with 503" wait_until 5 status_is "$port_a" GET /healthz 503
check_with crm_core.partitioned_tables "crm_core_health_status reports fail" metric_is "$port_a" crm_core_health_status 2
sql "UPDATE crm_core_fixture.partition_state SET partitions_ahead = 3, default_rows = 4"
check_with crm_core.partitioned_tables "rows in a default partition warn" \
    wait_until 5 body_has "$port_a" /healthz 'rows in the default partition' 
sql "UPDATE crm_core_fixture.partition_state SET default_rows = 0;
     UPDATE crm_core_fixture.matview_state SET last_success_at = now() - interval '3 hours'"
check_with crm_core.matview_status "a stale view warns" \
    wait_until 5 body_has "$port_a" /healthz 'stale beyond' 
sql "UPDATE crm_core_fixture.matview_state SET last_success_at = now();
     INSERT INTO crm_core_fixture.unbalanced VALUES (1, 42)"
check_with 'crm_core.unbalanced_entries()' "an unbalanced entry fails /healthz" \
    wait_until 5 body_has "$port_a" /healthz '"status":"fail".*1 posted entries do not balance'
check_with 'crm_core.unbalanced_entries()' "--once health exits 1 when health fails" \
    test "$(once health)" = 1
sql "DELETE FROM crm_core_fixture.unbalanced;
     UPDATE crm_core_fixture.seal_state SET oldest_unsealed_at = now() - interval '2 hours'"
check_with crm_core.seal_status "seal lag warns" \
    wait_until 5 body_has "$port_a" /healthz 'unsealed rows, oldest' 
sql "UPDATE crm_core_fixture.seal_state SET oldest_unsealed_at = now()"
check "/healthz passes again" wait_until 5 body_has "$port_a" /healthz '^{"status":"pass"' 

# A check that cannot run is a failure (11): a session holds the table the ledger check reads.
ledger_table=crm_core_fixture.unbalanced
fixture 'crm_core.unbalanced_entries()' || ledger_table=crm_core.journal_line
psql -X -q -c "BEGIN; LOCK TABLE $ledger_table IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" >/dev/null 2>&1 &
pids+=($!)
wait_until 5 sql_is "SELECT count(*) FROM pg_locks WHERE relation = '$ledger_table'::regclass
                     AND mode = 'AccessExclusiveLock' AND granted" 1
check "a ledger check that cannot run fails /healthz with 503 (11)" \
    wait_until 10 status_is "$port_a" GET /healthz 503
check "and is reported as failed, with why (11)" \
    wait_until 15 body_has "$port_a" /healthz '"ledger:unbalanced_entries":\[{"status":"fail".*could not run: .*statement timeout'
check "crm_core_probe_failed names it, so the alert fires (11)" \
    wait_until 5 metric_is "$port_a" 'crm_core_probe_failed{check="ledger:unbalanced_entries"}' 1
sql "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE relation = '$ledger_table'::regclass
     AND mode = 'AccessExclusiveLock'" >/dev/null
check "once the check runs again, /healthz passes" wait_until 10 body_has "$port_a" /healthz '^{"status":"pass"' 
check "and crm_core_probe_failed is 0" wait_until 5 metric_is "$port_a" 'crm_core_probe_failed{check="ledger:unbalanced_entries"}' 0

if [ "$extension" = 1 ]; then
    # A prepared transaction holding a posting (18).
    sql "INSERT INTO crm_core.business (id, name) VALUES (1, 'b');
         INSERT INTO crm_core.account (id, business_id, code, name, kind, currency, overdraft) VALUES
             (1, 1, 'wallet', 'Wallet', 'liability', 'EUR', 'debits_must_not_exceed_credits'),
             (2, 1, 'cash', 'Cash', 'asset', 'EUR', 'none')" >/dev/null
    psql -X -q -c "BEGIN; INSERT INTO crm_core.journal_entry (id, business_id) VALUES (1, 1);
                   INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
                   VALUES (1, 1, 2, 10, NULL), (1, 1, 1, NULL, 10);
                   PREPARE TRANSACTION 'svc-test-funding'" >/dev/null
    check "a prepared transaction holding postings warns /healthz, naming it (18)" \
        wait_until 10 body_has "$port_a" /healthz '"ledger:prepared_transactions":\[{"status":"warn".*svc-test-funding'
    check "crm_core_prepared_ledger_transactions counts it (18)" \
        metric_is "$port_a" crm_core_prepared_ledger_transactions 1
    sql "ROLLBACK PREPARED 'svc-test-funding'" >/dev/null
    check "once it is rolled back, /healthz passes (18)" \
        wait_until 10 body_has "$port_a" /healthz '^{"status":"pass"' 
fi

# An overrunning job is never started twice: refresh every 300ms, but each run takes 1 s.
sql "UPDATE crm_core_fixture.knob SET sleep_seconds = 1 WHERE job = 'refresh'"
sleep 3.5
sql "UPDATE crm_core_fixture.knob SET sleep_seconds = 0 WHERE job = 'refresh'"
check_with 'crm_core.refresh_due()' "overrunning runs never overlap" sql_is "SELECT count(*) FROM crm_core_fixture.call a
    JOIN crm_core_fixture.call b ON a.id < b.id AND a.started_at < b.ended_at AND b.started_at < a.ended_at" 0

# ---- registered jobs and concurrent retention (the real extension) ---------------------------
if extension_installed; then
    psql -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET ROLE svc_jobs;
SELECT crm_core.schedule_job('svc.tick', 'svc.tick()', '1 second');
SELECT crm_core.schedule_job('svc.fail', 'svc.fail()', '1 hour');
RESET ROLE;
-- A table that retires by DETACH PARTITION ... CONCURRENTLY, with a partition past retention.
-- PostgreSQL runs that top-level statement only for the table's owner: the service's login is
-- given the owner's role (docs/operations.md).
CREATE ROLE svc_events_owner;
GRANT USAGE, CREATE ON SCHEMA svc TO svc_events_owner;
GRANT svc_events_owner TO crm_svc;
SET ROLE svc_events_owner;
CREATE TABLE svc.events (at timestamptz NOT NULL) PARTITION BY RANGE (at);
RESET ROLE;
SELECT count(*) FROM crm_core.partition_by_time('svc.events', 'at', '1 month', 1, '1 year', 'drop',
                                                 detach_concurrently => true);
SET ROLE svc_events_owner;
CREATE TABLE svc.events_p200001 PARTITION OF svc.events
    FOR VALUES FROM ('2000-01-01 00:00+00') TO ('2000-02-01 00:00+00');
RESET ROLE;
SQL
fi
check_ext "the leader runs a registered job when it falls due" \
    wait_until 5 metric_ge "$port_a" 'crm_core_job_runs_total{job="svc.tick",result="success"}' 1
check_ext "and again every interval (the database keeps its schedule)" \
    wait_until 5 metric_ge "$port_a" 'crm_core_job_runs_total{job="svc.tick",result="success"}' 3
check_ext "as the role that scheduled it" \
    sql_is "SELECT string_agg(DISTINCT run_as, ',') FROM svc.job_log WHERE job = 'tick'" svc_jobs
check_ext "each registered job has its duration histogram" \
    body_has "$port_a" /metrics '^crm_core_job_duration_seconds_count{job="svc.tick"} [1-9]'
check_ext "a failing registered job is counted" \
    wait_until 5 metric_ge "$port_a" 'crm_core_job_failures_total{job="svc.fail"}' 1
check_ext "recorded in crm_core.jobs" \
    sql_is "SELECT last_result || ' ' || last_error FROM crm_core.jobs WHERE name = 'svc.fail'" \
        "failure svc.fail fails (SQLSTATE P0001)"
check_ext "and has its own check in /healthz" body_has "$port_a" /healthz '"componentId":"svc.fail"'
check_ext "runs never overlap: crm_core.jobs counts what the service ran" \
    sql_is "SELECT sum(runs) >= 4 AND sum(runs) = (SELECT count(*) FROM svc.job_log WHERE job = 'tick')
            FROM crm_core.jobs WHERE name IN ('svc.tick', 'svc.once')" t
check_ext "maintenance retires a detach_concurrently partition with top-level DETACH ... CONCURRENTLY" \
    wait_until 5 sql_is "SELECT to_regclass('svc.events_p200001') IS NULL" t
check_ext "and logs it" \
    sql_is "SELECT detail FROM crm_core.partition_log WHERE partition_name = 'events_p200001' AND action = 'retired'" \
        "detached concurrently and dropped"
retired_at="(SELECT logged_at FROM crm_core.partition_log WHERE partition_name = 'events_p200001' AND action = 'retired')"
check_ext "the leader session's lock_timeout is the service's again after the table's (jobs see 5s)" \
    wait_until 5 sql_is "SELECT string_agg(DISTINCT lock_timeout, ',') FROM svc.job_log WHERE at > $retired_at" 5s
if extension_installed; then
    sql "SET ROLE svc_jobs; SELECT crm_core.schedule_job('svc.release_lock', 'svc.release_lock()', '1 hour')" >/dev/null
fi
check_ext "a job that releases the session's advisory locks costs the instance its leadership" \
    wait_until 5 grep -q 'leadership: lost (job svc.release_lock released the leader lock)' "$work/svc-a.log"
check_ext "which it takes again on a new session" \
    wait_until 5 eval 'metric_is "$port_a" crm_core_service_leader 1 && lock_holders_are 1'
if extension_installed; then
    sql "SET ROLE svc_jobs; SELECT crm_core.unschedule_job('svc.release_lock'), crm_core.unschedule_job('svc.fail'), crm_core.unschedule_job('svc.tick')" >/dev/null
fi
check_ext "an unscheduled job's series leave /metrics" \
    wait_until 5 eval '! body_has "$port_a" /metrics "job=\"svc.tick\""'

# ---- hostile HTTP clients -------------------------------------------------------------------
big=$(head -c 20000 /dev/zero | tr '\0' a)
check "an oversized header answers 431 request header too large" \
    bash -c "$(declare -f http); http $port_a GET /livez 'X-Big: $big\r\n' >'$work/431.txt';
             head -1 '$work/431.txt' | grep -q '^HTTP/1.1 431 ' && grep -q '^request header too large' '$work/431.txt'"
check "an oversized body answers 413 request body too large" \
    bash -c "$(declare -f http); http $port_a GET /livez 'Content-Length: 5000\r\n' >'$work/413.txt';
             head -1 '$work/413.txt' | grep -q '^HTTP/1.1 413 ' && grep -q '^request body too large' '$work/413.txt'"
slow_client() {  # sends half a request and never finishes it; the server must hang up
    exec {fd}<>"/dev/tcp/127.0.0.1/$port_a"
    printf 'GET /livez HTTP/1.1\r\nHost: x\r\n' >&"$fd"
    local started=$SECONDS answer
    answer=$(timeout 5 cat <&"$fd" | head -1 | tr -d '\r')
    exec {fd}<&-
    [ -z "$answer" ] && [ $((SECONDS - started)) -lt 4 ]
}
check "a slow client is cut off after read-timeout" slow_client
connection_cap() {  # 4 clients halfway through a request fill --max-connections 4; a fifth is refused
    local fds=() i
    for i in 1 2 3 4; do
        exec {fd}<>"/dev/tcp/127.0.0.1/$port_a"
        printf 'GET /livez HTTP/1.1\r\nHost: x\r\n' >&"$fd"
        fds+=("$fd")
    done
    sleep 0.2
    local refused
    refused=$(status_of "$port_a" GET /livez 2>/dev/null || true)
    for fd in "${fds[@]}"; do exec {fd}<&-; done
    [ -z "$refused" ] && wait_until 3 status_is "$port_a" GET /livez 200
}
check "connections beyond --max-connections are refused, then served again" connection_cap
keepalive_reclaimed() {  # 4 keep-alive clients idle between requests fill the cap; a fifth is served
    local fds=() i line
    for i in 1 2 3 4; do
        exec {fd}<>"/dev/tcp/127.0.0.1/$port_a"
        printf 'GET /livez HTTP/1.1\r\nHost: x\r\n\r\n' >&"$fd"
        read -r -t 3 -u "$fd" line || return 1  # answered: the connection now idles
        fds+=("$fd")
    done
    local started=$SECONDS answer
    answer=$(status_of "$port_a" GET /livez 2>/dev/null || true)
    for fd in "${fds[@]}"; do exec {fd}<&-; done
    [ "$answer" = 200 ] && [ $((SECONDS - started)) -lt 2 ]
}
check "idle keep-alive connections are reclaimed when the cap is reached (20)" keepalive_reclaimed
check "/livez stays up throughout" status_is "$port_a" GET /livez 200

# ---- SIGHUP ---------------------------------------------------------------------------------
echo "seal-interval = 2h" >"$work/a.conf"
kill -HUP "$pid_svc_a"
check "SIGHUP reloads the config file" wait_until 5 grep -q 'reload: .*seal-interval=2h' "$work/svc-a.log"
echo "seal-interval = never" >"$work/a.conf"
kill -HUP "$pid_svc_a"
check "a bad reload keeps the running configuration" wait_until 5 grep -q 'reload failed' "$work/svc-a.log"
check "and the service keeps serving" status_is "$port_a" GET /readyz 200
printf 'seal-interval = 2h\ndsn = connect_timeout=9\n' >"$work/a.conf"
kill -HUP "$pid_svc_a"
check "a new dsn on SIGHUP replaces the leader session and gives up its lock" \
    wait_until 5 grep -q 'leadership: lost (the leader session was replaced' "$work/svc-a.log"
check "and the lock is taken again on the new session" \
    wait_until 5 eval 'metric_is "$port_a" crm_core_service_leader 1 && lock_holders_are 1'
check "the new session is the lock holder" sql_is "SELECT count(*) FROM pg_locks l
    JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted
     AND a.application_name = 'svc-a/leader' AND a.backend_start > now() - interval '10 seconds'" 1

# ---- failover -------------------------------------------------------------------------------
port_b=$(free_port 20000 40000)
start_service svc-b "$port_b" --maintenance-interval 1s --refresh-interval 300ms --health-interval 500ms
check "the second instance stands by" metric_is "$port_b" crm_core_service_leader 0
check "the standby's /healthz passes" status_is "$port_b" GET /healthz 200
check "exactly one session holds the leader lock" lock_holders_are 1
check "--once refuses to run while a leader holds the lock (75), saying so" \
    eval 'test "$(once seal)" = 75 &&
          grep -q "another instance holds the leader lock; not running seal" "$work/once.err"' 
leaders_are() { [ $(( $(metric "$port_a" crm_core_service_leader) + $(metric "$port_b" crm_core_service_leader) )) = "$1" ]; }
both_ready() { status_is "$port_a" GET /readyz 200 && status_is "$port_b" GET /readyz 200; }
refresh_runs_above() {
    local name='crm_core_job_runs_total{job="refresh",result="success"}'
    [ $(( $(metric "$port_a" "$name") + $(metric "$port_b" "$name") )) -gt "$1" ]
}

started=$(date +%s.%N)
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'svc-a/leader'" >/dev/null
check "after pg_terminate_backend a leader is back within 5 s" \
    wait_until 5 lock_holders_are 1
echo "# takeover after pg_terminate_backend: $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
check "and exactly one instance reports leadership" wait_until 2 leaders_are 1
check "instance a logged the lost leadership" grep -q 'leadership: lost' "$work/svc-a.log"

# Kill whichever leads; the other takes over.
if [ "$(metric "$port_a" crm_core_service_leader)" = 1 ]; then
    victim=$pid_svc_a survivor=$port_b
else
    victim=$pid_svc_b survivor=$port_a
fi
{ kill -KILL "$victim" && wait "$victim"; } 2>/dev/null || true
check "after SIGKILL of the leader the standby takes over within 5 s" \
    wait_until 5 metric_is "$survivor" crm_core_service_leader 1
sleep 1.5
check_with 'crm_core.run_maintenance()' "maintenance ran only on lock-holding sessions" \
    sql_is "SELECT count(*) FROM crm_core_fixture.call WHERE NOT held_leader_lock" 0
check_with 'crm_core.run_maintenance()' "two instances never ran jobs at the same time" sql_is "SELECT count(*) FROM crm_core_fixture.call a
    JOIN crm_core_fixture.call b ON a.id < b.id AND a.pid <> b.pid
     AND a.started_at < b.ended_at AND b.started_at < a.ended_at" 0
if [ "$victim" = "$pid_svc_a" ]; then
    start_service svc-a "$port_a" --maintenance-interval 1s --refresh-interval 300ms --health-interval 500ms
else
    start_service svc-b "$port_b" --maintenance-interval 1s --refresh-interval 300ms --health-interval 500ms
fi

# ---- database restart ------------------------------------------------------------------------
runs_before=$(( $(metric "$port_a" 'crm_core_job_runs_total{job="refresh",result="success"}') + $(metric "$port_b" 'crm_core_job_runs_total{job="refresh",result="success"}') ))
run_as_db_owner "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
check "database down: /readyz answers 503" wait_until 5 status_is "$port_a" GET /readyz 503
check "database down: /healthz fails" status_is "$port_a" GET /healthz 503
check "database down: crm_core_database_up is 0" wait_until 5 metric_is "$port_b" crm_core_database_up 0
check "database down: /livez still answers 200" status_is "$port_a" GET /livez 200
sleep 2
run_as_db_owner "$PGBIN/pg_ctl" -D "$data" -l "$CRM_RUNTIME/clusters/$cluster/server.log" -w \
    -o "-p $PGPORT" start >/dev/null
check "database back: both instances ready again within 15 s" \
    wait_until 15 both_ready
check "database back: one leader again" wait_until 10 leaders_are 1
check "database back: jobs run again" wait_until 10 refresh_runs_above "$runs_before"

# ---- SIGTERM ------------------------------------------------------------------------------
# Sends SIGTERM to instance NAME (pid PID) while its leader session runs maintenance; sets
# calls_before (committed maintenance calls before), code (exit status), elapsed (seconds).
terminate_during_maintenance() {
    local name=$1 pid=$2 started
    if fixture 'crm_core.run_maintenance()'; then
        wait_until 10 sql_is "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$name/leader'
            AND query LIKE '%run_maintenance%' AND state = 'active'" 1
    fi
    calls_before=$(sql "SELECT count(*) FROM crm_core_fixture.call WHERE job = 'maintenance'")
    started=$SECONDS
    kill -TERM "$pid"
    set +e
    wait "$pid"
    code=$?
    set -e
    elapsed=$((SECONDS - started))
}
if [ "$(metric "$port_a" crm_core_service_leader)" = 1 ]; then
    leader_pid=$pid_svc_a leader_name=svc-a standby_port=$port_b
else
    leader_pid=$pid_svc_b leader_name=svc-b standby_port=$port_a
fi
sql "UPDATE crm_core_fixture.knob SET sleep_seconds = 2 WHERE job = 'maintenance'"
terminate_during_maintenance "$leader_name" "$leader_pid"
check "SIGTERM exits 0" test "$code" = 0
check "SIGTERM exits within the bound (job in hand + 3 s)" test "$elapsed" -le 5
check_with 'crm_core.run_maintenance()' "SIGTERM finished the job in hand" \
    test "$(sql "SELECT count(*) FROM crm_core_fixture.call WHERE job = 'maintenance'")" -gt "$calls_before"
check "SIGTERM released the lock (logged)" grep -q 'released the leader lock' "$work/$leader_name.log"
sql "UPDATE crm_core_fixture.knob SET sleep_seconds = 0 WHERE job = 'maintenance'"
check "the standby takes over after SIGTERM" wait_until 5 metric_is "$standby_port" crm_core_service_leader 1

# A job that overruns --shutdown-timeout is cancelled; the service still exits 0 in bound.
if [ "$standby_port" = "$port_a" ]; then survivor_pid=$pid_svc_a; else survivor_pid=$pid_svc_b; fi
kill -TERM "$survivor_pid"
wait "$survivor_pid" || true
sql "UPDATE crm_core_fixture.knob SET sleep_seconds = 60 WHERE job = 'maintenance'"
start_service svc-c "$port_a" --shutdown-timeout 1s --maintenance-interval 1s
terminate_during_maintenance svc-c "$pid_svc_c"
check "SIGTERM past --shutdown-timeout exits 0" test "$code" = 0
check "SIGTERM past --shutdown-timeout exits within the bound" test "$elapsed" -le 4
check_with 'crm_core.run_maintenance()' "the overrunning job was cancelled, not committed" \
    sql_is "SELECT count(*) FROM crm_core_fixture.call WHERE job = 'maintenance'" "$calls_before"
check "the cancelled service released the lock" wait_until 3 lock_holders_are 0
sql "UPDATE crm_core_fixture.knob SET sleep_seconds = 0 WHERE job = 'maintenance'"

echo "1..$tap_count"
if [ "$tap_failures" -gt 0 ]; then
    echo "# $tap_failures of $tap_count service integration tests failed; logs:"
    tail -n 20 "$work"/*.log | sed 's/^/# /'
    exit 1
fi
echo "# all $tap_count service integration tests passed"
