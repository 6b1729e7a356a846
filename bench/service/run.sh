#!/usr/bin/env bash
# Benchmark of crm-core-service's HTTP side: p99 latency of /livez and /metrics under a
# loopback load generator (wrk), idle and while maintenance jobs run back to back, and the
# service's peak RSS. One command; its own throwaway cluster, destroyed at the end.
#   bench/service/run.sh [SECONDS_PER_RUN]   (default 5)
# The maintenance load: the fixtures' stand-in jobs (tests/service/fixtures.sql), with a
# refresh job that really refreshes a 200,000-row materialized view every 100 ms.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

duration=${1:-5}
binary=$CRM_ROOT/build/cmake/service/crm-core-service
cluster=bench-service
"$CRM_ROOT/scripts/install-deps.sh" wrk >/dev/null 2>&1
if [ ! -x "$binary" ]; then
    "$CRM_ROOT/scripts/build.sh" >/dev/null
fi

service_pid=
log=$(mktemp)
cleanup() {
    if [ -n "$service_pid" ]; then
        kill -TERM "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null || true
    fi
    "$CRM_ROOT/scripts/cluster.sh" destroy "$cluster" >/dev/null 2>&1 || true
    rm -f "$log"
}
trap cleanup EXIT
"$CRM_ROOT/scripts/cluster.sh" destroy "$cluster" >/dev/null
"$CRM_ROOT/scripts/cluster.sh" start "$cluster" >/dev/null  # synchronous_commit=off already
eval "$("$CRM_ROOT/scripts/cluster.sh" env "$cluster")"
export PGDATABASE=crm_core_bench_service
createdb "$PGDATABASE"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE SCHEMA crm_core;
CREATE TABLE bench_payment AS
    SELECT g AS id, g % 500 AS business_id, (g % 97) * 10.0 AS amount
    FROM generate_series(1, 200000) g;
CREATE MATERIALIZED VIEW bench_totals AS
    SELECT business_id, count(*) AS payments, sum(amount) AS total
    FROM bench_payment GROUP BY business_id;
-- Real work for the refresh job: the fixtures keep this one instead of their stand-in.
CREATE FUNCTION crm_core.refresh_due()
RETURNS TABLE (view regclass, status text, duration_ms double precision, rows bigint, message text)
LANGUAGE plpgsql AS $$
DECLARE started timestamptz := clock_timestamp();
BEGIN
    REFRESH MATERIALIZED VIEW bench_totals;
    RETURN QUERY SELECT 'bench_totals'::regclass, 'refreshed'::text,
        (extract(epoch FROM clock_timestamp() - started) * 1000)::float8, 500::bigint, NULL::text;
END $$;
SQL
psql -q -v ON_ERROR_STOP=1 -f "$CRM_ROOT/tests/service/fixtures.sql" >/dev/null 2>&1

port=$(shuf -i 20000-40000 -n 1)
# start_service FLAGS...: a fresh instance, ready
start_service() {
    "$binary" --port "$port" --tick 100ms "$@" >"$log" 2>&1 &
    service_pid=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    sleep 1
}
stop_service() {
    kill -TERM "$service_pid"
    wait "$service_pid" || true
    service_pid=
}
# p99 and requests/s of one wrk run, as "p99_ms rps"
load() {
    wrk -t2 -c16 -d"${duration}s" --latency "http://127.0.0.1:$port$1" | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                         if (v ~ /s$/) return v * 1000; return v }
        $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        END { printf "%.3f %.0f\n", p99, rps }'
}
rss_kb() { awk '/VmHWM/ { print $2 }' "/proc/$service_pid/status"; }

echo "crm-core-service bench: wrk -t2 -c16 ${duration}s per row, loopback, $(nproc) cores (shared: noisy, compare ratios)"
start_service --maintenance-interval 1h --refresh-interval 1h --seal-interval 1h --health-interval 1h
read -r idle_livez_p99 idle_livez_rps < <(load /livez)
read -r idle_metrics_p99 idle_metrics_rps < <(load /metrics)
idle_rss=$(rss_kb)
stop_service

start_service --maintenance-interval 100ms --refresh-interval 100ms --seal-interval 100ms \
    --health-interval 100ms
read -r busy_livez_p99 busy_livez_rps < <(load /livez)
read -r busy_metrics_p99 busy_metrics_rps < <(load /metrics)
busy_rss=$(rss_kb)
runs=$(wrk -t1 -c1 -d1s "http://127.0.0.1:$port/livez" >/dev/null; exec 3<>"/dev/tcp/127.0.0.1/$port";
       printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3;
       timeout 5 cat <&3 | awk '/^crm_core_job_runs_total\{job="refresh",result="success"\}/ { print $2 }')
stop_service

printf '\n%-10s %14s %14s %12s %12s %10s\n' endpoint "p99 idle ms" "p99 busy ms" "busy/idle" "rps idle" "rps busy"
printf '%-10s %14s %14s %12s %12s %10s\n' /livez "$idle_livez_p99" "$busy_livez_p99" \
    "$(ratio "$busy_livez_p99" "$idle_livez_p99")" "$idle_livez_rps" "$busy_livez_rps"
printf '%-10s %14s %14s %12s %12s %10s\n' /metrics "$idle_metrics_p99" "$busy_metrics_p99" \
    "$(ratio "$busy_metrics_p99" "$idle_metrics_p99")" "$idle_metrics_rps" "$busy_metrics_rps"
grep -m3 'failed' "$log" || true
printf '\npeak RSS: idle %s KiB, busy %s KiB (ratio %s); refresh jobs completed while busy: %s\n' \
    "$idle_rss" "$busy_rss" "$(ratio "$busy_rss" "$idle_rss")" "$runs"
