#!/usr/bin/env bash
# Partition maintenance, crm_core side by side with pg_partman 4.7 (Debian's
# postgresql-15-partman), in one throwaway cluster:
#   (a) run_maintenance() with nothing to do on 50 tables x 20 daily partitions each
#       (target: crm_core <= 0.25x pg_partman's time);
#   (b) writer stall: a long transaction holds a read lock on the parent while maintenance must
#       add partitions; the worst insert latency of a concurrent writer (pgbench, 1 client).
# Usage: bench/partitions/run.sh  (one command; a few minutes at most)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$CRM_ROOT"

TABLES=${TABLES:-50}
PARTITIONS=${PARTITIONS:-20}
ROUNDS=${ROUNDS:-7}
READER_HOLDS=${READER_HOLDS:-3}  # seconds the long reader keeps its lock in (b)

scripts/install-deps.sh postgresql-15-partman >/dev/null
scripts/build.sh >/dev/null
# The private tree may predate the package: give it pg_partman's files.
cp -n "$SYSTEM_PG_SHARE"/extension/pg_partman* "$PGROOT/share/postgresql/$PG_MAJOR/extension/"
cp -n "$SYSTEM_PG_LIB"/lib/pg_partman_bgw.so "$PGROOT/lib/postgresql/$PG_MAJOR/lib/"

cluster=bench-partitions
scripts/cluster.sh destroy "$cluster" >/dev/null
scripts/cluster.sh start "$cluster" >/dev/null
eval "$(scripts/cluster.sh env "$cluster")"
export PGDATABASE=bench PGOPTIONS="-c client_min_messages=warning -c synchronous_commit=off"
createdb bench
work=$(mktemp -d)
chmod 777 "$work"
trap 'scripts/cluster.sh destroy "$cluster" >/dev/null; rm -rf "$work"' EXIT

q() { psql_strict -A -t "$@"; }

q <<SQL
CREATE EXTENSION crm_core;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE SCHEMA c;
CREATE SCHEMA p;
DO \$\$
DECLARE
    today text := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD');
BEGIN
    FOR i IN 1 .. $TABLES LOOP
        EXECUTE format('CREATE TABLE c.t%s (business_id bigint NOT NULL, id bigint NOT NULL,
                        at timestamptz NOT NULL, amount numeric,
                        PRIMARY KEY (business_id, id, at)) PARTITION BY RANGE (at)', i);
        EXECUTE format('CREATE TABLE p.t%s (LIKE c.t%s INCLUDING ALL) PARTITION BY RANGE (at)', i, i);
        PERFORM count(*) FROM crm_core.partition_by_time(format('c.t%s', i)::regclass, 'at', '1 day',
                                                         $PARTITIONS - 1, default_partition => true);
        PERFORM partman.create_parent(format('p.t%s', i), 'at', 'native', 'daily',
                                      p_premake => $PARTITIONS - 1, p_start_partition => today);
    END LOOP;
END
\$\$;
SQL
partitions_c=$(q -c "SELECT sum(partitions) FROM crm_core.partitioned_tables")
partitions_p=$(q -c "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     WHERE c.relnamespace = 'p'::regnamespace AND c.relkind = 'r'
                       AND c.relname NOT LIKE '%default'")

# (a) Nothing to do: both systems alternately, ROUNDS times each, in one session; median ms.
{
    echo '\timing on'
    for _ in $(seq "$ROUNDS"); do
        echo "\\echo crm_core"
        echo "SELECT count(*) FROM crm_core.run_maintenance(false);"
        echo "\\echo pg_partman"
        echo "SELECT partman.run_maintenance(p_analyze => false, p_jobmon => false);"
    done
} > "$work/nothing.sql"
q -f "$work/nothing.sql" > "$work/nothing.out"
median() {  # median of the Time: lines that follow "$1" in nothing.out
    awk -v who="$1" '$0 == who {take = 1; next} take && /^Time:/ {print $2; take = 0}' \
        "$work/nothing.out" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
idle_c=$(median crm_core)
idle_p=$(median pg_partman)
leftover=$(q -c "SELECT count(*) FROM crm_core.run_maintenance(false)")

# (b) Writer stall. Per system and scenario, a table gets premake 3 -> 10 (7 partitions to add).
# A writer runs the application's transaction continuously (INSERT a payment, then read the
# recent ones back through the parent); a reader holds ACCESS SHARE on the parent for
# READER_HOLDS seconds; maintenance starts while the reader holds it. Reported: the writer's
# worst transaction latency (pgbench per-transaction log), the maintenance time, partitions after.
stall() {  # stall LABEL TABLE MAINTENANCE_SQL -> "worst_ms maintenance_ms transactions"
    local label=$1 table=$2 maintenance=$3
    cat > "$work/$label.sql" <<TXN
BEGIN;
INSERT INTO $table (business_id, id, at, amount) VALUES (1, nextval('ids'), now(), 1);
SELECT count(*) FROM $table WHERE at >= now() - interval '1 minute';
COMMIT;
TXN
    (cd "$work" && "$PGBIN/pgbench" -n -c 1 -T $((READER_HOLDS + 3)) -f "$label.sql" -l \
        --log-prefix="log_$label" >/dev/null 2>&1) &
    local writer=$!
    sleep 1
    q -c "BEGIN; SELECT count(*) FROM $table; SELECT pg_sleep($READER_HOLDS); COMMIT;" >/dev/null &
    local reader=$!
    sleep 0.3
    local started ended
    started=$(date +%s%N)
    q -c "$maintenance" > "$work/$label.maintenance"
    ended=$(date +%s%N)
    wait "$reader" "$writer"
    cat "$work/log_$label".* | awk -v took=$(((ended - started) / 1000000)) \
        'BEGIN {m = 0} $3 > m {m = $3} END {printf "%.1f %s %d\n", m / 1000, took, NR}'
}
partitions_of() { q -c "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                        WHERE i.inhparent = '$1'::regclass AND c.relname NOT LIKE '%default'"; }
q <<SQL >/dev/null
CREATE SEQUENCE ids;
CREATE TABLE c.stall_default (LIKE c.t1 INCLUDING ALL) PARTITION BY RANGE (at);
CREATE TABLE p.stall_default (LIKE c.t1 INCLUDING ALL) PARTITION BY RANGE (at);
CREATE TABLE c.stall_plain (LIKE c.t1 INCLUDING ALL) PARTITION BY RANGE (at);
CREATE TABLE p.stall_plain (LIKE c.t1 INCLUDING ALL) PARTITION BY RANGE (at);
SELECT count(*) FROM crm_core.partition_by_time('c.stall_default', 'at', '1 day', 3,
                                                 default_partition => true);
SELECT count(*) FROM crm_core.partition_by_time('c.stall_plain', 'at', '1 day', 3);
SELECT partman.create_parent('p.stall_default', 'at', 'native', 'daily', p_premake => 3,
                             p_start_partition => to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD'));
SELECT partman.create_parent('p.stall_plain', 'at', 'native', 'daily', p_premake => 3,
                             p_start_partition => to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD'));
DROP TABLE p.stall_plain_default;
SELECT crm_core.alter_partitioning('c.stall_default', premake => 10);
SELECT crm_core.alter_partitioning('c.stall_plain', premake => 10);
UPDATE partman.part_config SET premake = 10 WHERE parent_table IN ('p.stall_default', 'p.stall_plain');
SQL
crm_maintenance() {
    echo "SELECT coalesce(string_agg(DISTINCT action, ','), 'nothing') FROM crm_core.run_maintenance(false, '$1')"
}
partman_maintenance() {
    echo "SELECT partman.run_maintenance('$1', p_analyze => false, p_jobmon => false)"
}
read -r worst_cd took_cd txns_cd < <(stall c_default c.stall_default "$(crm_maintenance c.stall_default)")
outcome_cd=$(cat "$work/c_default.maintenance")
made_cd=$(partitions_of c.stall_default)
q -c "$(crm_maintenance c.stall_default)" >/dev/null  # the next run, once the reader is gone
next_cd=$(partitions_of c.stall_default)
read -r worst_pd took_pd txns_pd < <(stall p_default p.stall_default "$(partman_maintenance p.stall_default)")
made_pd=$(partitions_of p.stall_default)
read -r worst_cp took_cp txns_cp < <(stall c_plain c.stall_plain "$(crm_maintenance c.stall_plain)")
made_cp=$(partitions_of c.stall_plain)
read -r worst_pp took_pp txns_pp < <(stall p_plain p.stall_plain "$(partman_maintenance p.stall_plain)")
made_pp=$(partitions_of p.stall_plain)

echo
echo "Partition maintenance: crm_core vs pg_partman 4.7 (same cluster, same run)"
echo
row() { printf '%-66s %12s %12s %8s\n' "$@"; }
row "measure" "crm_core" "pg_partman" "ratio"
row "(a) partitions under maintenance ($TABLES tables, default excluded)" \
    "$partitions_c" "$partitions_p" ""
row "(a) run_maintenance, nothing to do, median of $ROUNDS (ms)" \
    "$idle_c" "$idle_p" "$(ratio "$idle_c" "$idle_p" 3)"
row "(b1) with default partitions: worst writer transaction (ms)" \
    "$worst_cd" "$worst_pd" "$(ratio "$worst_cd" "$worst_pd" 3)"
row "(b1) maintenance time behind a ${READER_HOLDS}s reader (ms)" \
    "$took_cd" "$took_pd" "$(ratio "$took_cd" "$took_pd" 3)"
row "(b1) writer transactions completed" "$txns_cd" "$txns_pd" ""
row "(b1) partitions after maintenance (4 before, 11 wanted)" "$made_cd" "$made_pd" ""
row "(b1) crm_core outcome (partitions after its next run)" "$outcome_cd ($next_cd)" "" ""
row "(b2) no default partition: worst writer transaction (ms)" \
    "$worst_cp" "$worst_pp" "$(ratio "$worst_cp" "$worst_pp" 3)"
row "(b2) maintenance time behind a ${READER_HOLDS}s reader (ms)" \
    "$took_cp" "$took_pp" "$(ratio "$took_cp" "$took_pp" 3)"
row "(b2) partitions after maintenance (4 before, 11 wanted)" "$made_cp" "$made_pp" ""
echo
echo "crm_core rows left after (a) (must be 0): $leftover"
echo "target (a): ratio <= 0.25"
