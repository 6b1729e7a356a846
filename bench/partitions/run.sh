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
trap 'scripts/cluster.sh destroy "$cluster" >/dev/null' EXIT
eval "$(scripts/cluster.sh env "$cluster")"
export PGDATABASE=bench PGOPTIONS="-c client_min_messages=warning -c synchronous_commit=off"
createdb bench
work=$(mktemp -d)
chmod 777 "$work"
trap 'scripts/cluster.sh destroy "$cluster" >/dev/null; rm -rf "$work"' EXIT

q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

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
                     WHERE c.relnamespace = 'p'::regnamespace AND c.relname NOT LIKE '%default'")

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

# (b) Writer stall. One table per system gets premake 3 -> 10 (7 partitions to add); a writer
# inserts continuously; a reader holds ACCESS SHARE for READER_HOLDS seconds; maintenance starts
# while the reader holds it. Reports the writer's worst latency (pgbench per-transaction log).
stall() {  # stall SYSTEM TABLE MAINTENANCE_SQL
    local system=$1 table=$2 maintenance=$3
    echo "INSERT INTO $table (business_id, id, at, amount) VALUES (1, nextval('ids'), now(), 1);" \
        > "$work/insert.sql"
    (cd "$work" && "$PGBIN/pgbench" -n -c 1 -T $((READER_HOLDS + 3)) -f insert.sql -l \
        --log-prefix="$system" >/dev/null 2>&1) &
    local writer=$!
    sleep 1
    q -c "BEGIN; SELECT count(*) FROM $table; SELECT pg_sleep($READER_HOLDS); COMMIT;" >/dev/null &
    local reader=$!
    sleep 0.3
    local started ended
    started=$(date +%s%N)
    q -c "$maintenance" > "$work/$system.maintenance"
    ended=$(date +%s%N)
    wait "$reader" "$writer"
    local worst count
    worst=$(cat "$work/$system".* | awk 'BEGIN {m = 0} $3 > m {m = $3} END {printf "%.1f", m / 1000}')
    count=$(cat "$work/$system".* | wc -l)
    echo "$system $worst $(((ended - started) / 1000000)) $count"
}
q <<SQL
CREATE SEQUENCE ids;
CREATE TABLE c.stall (LIKE c.t1 INCLUDING ALL) PARTITION BY RANGE (at);
CREATE TABLE p.stall (LIKE c.t1 INCLUDING ALL) PARTITION BY RANGE (at);
SELECT count(*) FROM crm_core.partition_by_time('c.stall', 'at', '1 day', 3, default_partition => true);
SELECT partman.create_parent('p.stall', 'at', 'native', 'daily', p_premake => 3,
                             p_start_partition => to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD'));
SELECT crm_core.alter_partitioning('c.stall', premake => 10);
UPDATE partman.part_config SET premake = 10 WHERE parent_table = 'p.stall';
SQL
read -r _ worst_c took_c inserts_c < <(stall crm_core c.stall \
    "SELECT string_agg(action, ',') FROM crm_core.run_maintenance(false, 'c.stall')")
read -r _ worst_p took_p inserts_p < <(stall pg_partman p.stall \
    "SELECT partman.run_maintenance('p.stall', p_analyze => false, p_jobmon => false)")
added_c=$(q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'c.stall'::regclass")
added_p=$(q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'p.stall'::regclass")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
echo
echo "Partition maintenance: crm_core vs pg_partman 4.7 (same cluster, same run)"
echo
printf '%-58s %12s %12s %10s\n' "measure" "crm_core" "pg_partman" "ratio"
printf '%-58s %12s %12s %10s\n' "(a) partitions under maintenance ($TABLES tables)" \
    "$partitions_c" "$partitions_p" ""
printf '%-58s %12s %12s %10s\n' "(a) run_maintenance, nothing to do, median of $ROUNDS (ms)" \
    "$idle_c" "$idle_p" "$(ratio "$idle_c" "$idle_p")"
printf '%-58s %12s %12s %10s\n' "(b) worst insert latency of a concurrent writer (ms)" \
    "$worst_c" "$worst_p" "$(ratio "$worst_c" "$worst_p")"
printf '%-58s %12s %12s %10s\n' "(b) maintenance duration behind a ${READER_HOLDS}s reader (ms)" \
    "$took_c" "$took_p" "$(ratio "$took_c" "$took_p")"
printf '%-58s %12s %12s %10s\n' "(b) inserts completed by the writer" "$inserts_c" "$inserts_p" ""
printf '%-58s %12s %12s %10s\n' "(b) partitions after maintenance (incl. default)" \
    "$added_c" "$added_p" ""
echo
echo "crm_core rows left after (a) (must be 0): $leftover"
echo "target (a): ratio <= 0.25"
