#!/usr/bin/env bash
# Partition maintenance configuration survives pg_dump | psql into a new database: the
# registration comes back unchanged and maintenance carries on where it stopped.
# Runs against CRM_CORE_CLUSTER (default "test"); prints TAP; exit status 1 on any failure.
set -euo pipefail
source_db=crm_core_dump_source
restored_db=crm_core_dump_restored
source "$(dirname "$0")/lib.sh"

psql -X -q -v ON_ERROR_STOP=1 -d "$source_db" >/dev/null <<'SQL'
CREATE EXTENSION crm_core;
CREATE SCHEMA archive;
CREATE TABLE public.payment (business_id bigint NOT NULL, id bigint NOT NULL,
                             paid_at timestamptz NOT NULL, amount numeric NOT NULL,
                             PRIMARY KEY (business_id, id, paid_at)) PARTITION BY RANGE (paid_at);
CREATE TABLE public.audit_log (at date NOT NULL, what text) PARTITION BY RANGE (at);
SELECT count(*) FROM crm_core.partition_by_time('public.payment', 'paid_at', '1 month', 2,
                                                 '7 years', 'archive', 'archive',
                                                 lock_timeout => '250 milliseconds',
                                                 default_partition => true);
SELECT count(*) FROM crm_core.partition_by_time('public.audit_log', 'at', '1 day', 3, '90 days', 'drop');
INSERT INTO public.payment VALUES (1, 1, now(), 10), (1, 2, now(), 20);
SELECT count(*) FROM crm_core.run_maintenance(false);  -- crm_core.audit_log's months too
SQL

config="SELECT string_agg(concat_ws('|', parent, control_column, partition_interval, premake,
                                    retention, retention_action, archive_schema, lock_timeout),
                          ' / ' ORDER BY parent::text)
        FROM crm_core.partition_config WHERE NOT by_extension"
before=$(sql "$source_db" "$config")

"$PGBIN/pg_dump" -d "$source_db" | psql -X -q -v ON_ERROR_STOP=1 -d "$restored_db" >/dev/null

tap_check "the dump restores both registrations (and the install's own, crm_core.audit_log)" \
    "$(sql "$restored_db" "SELECT count(*) FILTER (WHERE NOT by_extension) || '+' || count(*) FILTER (WHERE by_extension)
                           FROM crm_core.partition_config")" "2+1"
tap_check "with every setting unchanged" "$(sql "$restored_db" "$config")" "$before"
tap_check "and the data" "$(sql "$restored_db" "SELECT sum(amount) FROM public.payment")" 30
tap_check "maintenance in the restored database has nothing to do" \
    "$(sql "$restored_db" "SELECT count(*) FROM crm_core.run_maintenance(false)")" 0
sql "$restored_db" "SELECT crm_core.alter_partitioning('public.audit_log', premake => 5)" >/dev/null
tap_check "and carries on from the restored configuration" \
    "$(sql "$restored_db" "SELECT string_agg(action, ',') FROM crm_core.run_maintenance(false)")" \
    "created,created"

tap_done
