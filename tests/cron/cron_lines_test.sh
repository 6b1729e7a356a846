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
tap_check "the psql \\gexec line detaches the partition past retention concurrently and drops it" \
    "$(sql "$db" "SELECT to_regclass('public.events_p200001') IS NULL")" t
tap_check "and logs the retirement" \
    "$(sql "$db" "SELECT action || ': ' || detail FROM crm_core.partition_log WHERE partition_name = 'events_p200001'")" \
    "retired: detached concurrently and dropped"
sh -c "psql -X -q -d $db -c 'SELECT * FROM crm_core.run_maintenance()'" >/dev/null
tap_check "run_maintenance() afterwards finds nothing left to retire or defer" \
    "$(sql "$db" "SELECT count(*) FROM crm_core.partition_log WHERE action IN ('deferred', 'failed')")" 0
output=$(sh -c "psql -X -q -d $db -c 'CALL crm_core.run_due_jobs()'" 2>&1)
tap_check "CALL crm_core.run_due_jobs() runs the due job and reports ran/failed" \
    "$(printf '%s\n' "$output" | sed -n '3p' | tr -d ' ')" "1|0"
tap_check "the job's work is committed" "$(sql "$db" "SELECT count(*) FROM public.job_log")" 1

tap_done
