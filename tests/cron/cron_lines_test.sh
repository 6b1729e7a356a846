#!/usr/bin/env bash
# The cron lines docs/operations.md and docs/partitions.md give to users without
# crm-core-service work as written (run here with -d pointing at a scratch database):
#   echo 'SELECT * FROM crm_core.concurrent_retirements() \gexec' | psql -X -q -d DB
#   psql -X -q -d DB -c 'SELECT * FROM crm_core.run_maintenance()'
#   psql -X -q -d DB -c 'CALL crm_core.run_due_jobs()'
# Runs against CRM_CORE_CLUSTER (default "test"); prints TAP; exit status 1 on any failure.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
eval "$("$CRM_ROOT/scripts/cluster.sh" env "${CRM_CORE_CLUSTER:-test}")"
export PGOPTIONS="-c client_min_messages=warning"
db=crm_core_cron_lines
dropdb --if-exists --force "$db"
createdb "$db"
trap 'dropdb --if-exists --force "$db"' EXIT
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
source "$CRM_ROOT/tests/lib/tap.sh"

echo "1..5"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION crm_core;
CREATE TABLE public.events (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM crm_core.partition_by_time('public.events', 'at', '1 month', 1, '1 year', 'drop',
                                                 detach_concurrently => true);
CREATE TABLE public.events_p200001 PARTITION OF public.events
    FOR VALUES FROM ('2000-01-01 00:00+00') TO ('2000-02-01 00:00+00');
CREATE TABLE public.job_log (at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION public.nightly() RETURNS void LANGUAGE sql AS 'INSERT INTO public.job_log DEFAULT VALUES';
SELECT crm_core.schedule_job('nightly', 'public.nightly()', '1 day');
SQL

# The lines as documented (sh, as cron runs them; only the database name differs).
sh -c "echo 'SELECT * FROM crm_core.concurrent_retirements() \\gexec' | psql -X -q -d $db" >/dev/null
check 1 "the psql \\gexec line detaches the partition past retention concurrently and drops it" \
    "$(sql "SELECT to_regclass('public.events_p200001') IS NULL")" t
check 2 "and logs the retirement" \
    "$(sql "SELECT action || ': ' || detail FROM crm_core.partition_log WHERE partition_name = 'events_p200001'")" \
    "retired: detached concurrently and dropped"
sh -c "psql -X -q -d $db -c 'SELECT * FROM crm_core.run_maintenance()'" >/dev/null
check 3 "run_maintenance() afterwards finds nothing left to retire or defer" \
    "$(sql "SELECT count(*) FROM crm_core.partition_log WHERE action IN ('deferred', 'failed')")" 0
output=$(sh -c "psql -X -q -d $db -c 'CALL crm_core.run_due_jobs()'" 2>&1)
check 4 "CALL crm_core.run_due_jobs() runs the due job and reports ran/failed" \
    "$(printf '%s\n' "$output" | sed -n '3p' | tr -d ' ')" "1|0"
check 5 "the job's work is committed" "$(sql "SELECT count(*) FROM public.job_log")" 1

[ "$failures" -eq 0 ]
