#!/usr/bin/env bash
# The upgrade with data, for every released version listed in RELEASES: what a DBA lives through.
#  1. The release's library is built from its commit (git archive; cached in
#     $CRM_RUNTIME/releases) and installed into a private PostgreSQL tree of its own.
#  2. A cluster on that tree gets a database on the released version with the release's demo data
#     (ledger with sealed blocks and unsealed entries, audit log, partitions, materialized views),
#     sealed; its ledger digest, balances and rows are recorded.
#  3. The same data directory is started on the current tree (the new package installed): the
#     library refuses the old SQL with its hint; ALTER EXTENSION ... UPDATE; then rows and
#     balances are intact, the chain verifies with the digest taken before, maintenance and
#     sealing carry on, the whole pgTAP suite passes on a database upgraded from that version,
#     and the upgraded database survives pg_dump and restore.
# Starts (and destroys) a cluster of its own per release; prints TAP; exit status 1 on failure.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$CRM_ROOT/tests/dump/restore.sh"
export PGOPTIONS="-c client_min_messages=warning"
current_pgroot=$PGROOT
work=$(mktemp -d)
clusters=()
cleanup() {
    for name in "${clusters[@]}"; do
        "$CRM_ROOT/scripts/cluster.sh" destroy "$name" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

bail() {
    echo "Bail out! $*"
    exit 1
}

# build_release EXTENSION VERSION COMMIT: the release's library and SQL, built from its commit and
# installed into $CRM_RUNTIME/releases/EXTENSION-VERSION/pgroot (kept for the next run).
build_release() {
    local extension=$1 version=$2 commit=$3
    local dir="$CRM_RUNTIME/releases/$extension-$version"
    if [ "$(cat "$dir/built" 2>/dev/null)" = "$commit" ]; then
        return
    fi
    if ! git -C "$CRM_ROOT" cat-file -e "$commit^{commit}" 2>/dev/null; then
        bail "release $extension $version (commit $commit in RELEASES) is not in this clone:" \
             "the upgrade test builds that commit's library. Fetch the history" \
             "(git fetch --unshallow, or clone without --depth) and run again."
    fi
    rm -rf "$dir"
    mkdir -p "$dir/src"
    git -C "$CRM_ROOT" archive "$commit" | tar -x -C "$dir/src"
    CRM_CORE_PGROOT="$dir/pgroot" "$CRM_ROOT/scripts/pgroot.sh" >/dev/null
    # Releases before the one-folder-per-extension tree built crm_core from the top Makefile.
    local source="$dir/src/extensions/$extension"
    [ -f "$source/Makefile" ] || source="$dir/src"
    local pg_config="$dir/pgroot/lib/postgresql/$PG_MAJOR/bin/pg_config"
    if ! { make -s -C "$source" -j"$(nproc)" PG_CONFIG="$pg_config" &&
           make -s -C "$source" install PG_CONFIG="$pg_config"; } >"$work/build.log" 2>&1; then
        sed 's/^/# /' "$work/build.log" | tail -n 30
        bail "building $extension $version from commit $commit failed"
    fi
    echo "$commit" >"$dir/built"
}

# Records, in schema upgrade_check of database $1, every row of the tables an upgrade must keep
# (as text, over the columns they have now), so that they can be compared after the upgrade.
snapshot_rows() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<'SQL'
CREATE SCHEMA upgrade_check;
-- Data: exactly these rows afterwards. Registries: these rows at least (an upgrade may add some).
CREATE TABLE upgrade_check.relation (relation regclass, columns text, data boolean);
INSERT INTO upgrade_check.relation
SELECT c.oid, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
       n.nspname <> 'crm_core'
       OR c.oid = ANY (crm_core.ledger_tables() || ARRAY['crm_core.ledger_sealed_entry'::regclass,
                                                         'crm_core.audit_log'::regclass])
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname IN (SELECT nspname FROM pg_namespace
                    WHERE nspname = 'crm_core' OR nspname = 'collections')
  AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
GROUP BY c.oid, n.nspname;
CREATE TABLE upgrade_check.row_text (relation regclass, row_text text);
-- A DBA's grants: EXECUTE on every function of the extension to a role.
CREATE ROLE upgrade_grantee NOLOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crm_core TO upgrade_grantee;
CREATE TABLE upgrade_check.granted_function AS
SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'crm_core'::regnamespace AND prokind = 'f';
DO $$
DECLARE
    r upgrade_check.relation;
BEGIN
    FOR r IN SELECT * FROM upgrade_check.relation LOOP
        EXECUTE format('INSERT INTO upgrade_check.row_text SELECT %L, t::text FROM (SELECT %s FROM %s) t',
                       r.relation, r.columns, r.relation);
    END LOOP;
END
$$;
SQL
}

# The tables whose rows changed since snapshot_rows (data: any difference; registries: a row
# missing or changed), or nothing.
changed_rows() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
CREATE FUNCTION pg_temp.changed(r upgrade_check.relation) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
    added bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM (SELECT row_text FROM upgrade_check.row_text WHERE relation = %L::regclass
                    EXCEPT ALL SELECT t::text FROM (SELECT %s FROM %s) t) d', r.relation, r.columns, r.relation)
    INTO missing;
    EXECUTE format('SELECT count(*) FROM (SELECT t::text FROM (SELECT %s FROM %s) t
                    EXCEPT ALL SELECT row_text FROM upgrade_check.row_text WHERE relation = %L::regclass) d',
                   r.columns, r.relation, r.relation)
    INTO added;
    RETURN missing > 0 OR (r.data AND added > 0);
END
$$;
SELECT string_agg(r.relation::text, ' ' ORDER BY r.relation::text)
FROM upgrade_check.relation r WHERE pg_temp.changed(r);
SQL
}

[ -f "$CRM_ROOT/RELEASES" ] || bail "RELEASES is missing"
# Every frozen install script is a release, and every release needs its commit recorded.
for frozen in "$CRM_ROOT"/extensions/*/sql/*--*.sql; do
    name=$(basename "$frozen" .sql)
    case "$name" in *--*--*) continue ;; esac
    grep -q "^${name%%--*} ${name#*--} [0-9a-f]\{40\}\$" "$CRM_ROOT/RELEASES" ||
        bail "$frozen is frozen but RELEASES has no line '${name%%--*} ${name#*--} <commit>'"
done
while read -r extension version commit; do
    case "$extension" in '' | '#'*) continue ;; esac
    frozen="$CRM_ROOT/extensions/$extension/sql/$extension--$version.sql"
    [ -f "$frozen" ] || bail "RELEASES lists $extension $version but $frozen is missing"
    current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$CRM_ROOT/extensions/$extension/$extension.control")
    release_dir="$CRM_RUNTIME/releases/$extension-$version"
    old_pgroot="$release_dir/pgroot"
    build_release "$extension" "$version" "$commit"

    # ---- on the released version -----------------------------------------------------------
    cluster="upgrade-$extension-$version"
    clusters+=("$cluster")
    "$CRM_ROOT/scripts/cluster.sh" destroy "$cluster" >/dev/null
    CRM_CORE_PGROOT=$old_pgroot "$CRM_ROOT/scripts/cluster.sh" start "$cluster" >/dev/null
    eval "$("$CRM_ROOT/scripts/cluster.sh" env "$cluster")"
    db=upgrade_data
    restored=upgrade_data_restored
    createdb "$db"
    sql "$db" "CREATE EXTENSION $extension" >/dev/null
    tap_check "$extension $version from commit ${commit:0:12}: the release's library and SQL are installed" \
        "$(sql "$db" "SELECT crm_core.version() || '/' || extversion FROM pg_extension WHERE extname = '$extension'")" \
        "$version/$version"
    demos=("$release_dir"/src/scripts/demo/*.sql)
    [ -e "${demos[0]}" ] || bail "the $extension $version release has no scripts/demo/*.sql to load"
    for demo in "${demos[@]}"; do
        psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$demo" >/dev/null
    done
    # Entries posted after the demo's seal stay unsealed across the upgrade.
    sql "$db" "SELECT count(collections.record_payment(1, n, 10, now())) FROM generate_series(1, 3) n" >/dev/null
    tap_check "the demo data is loaded: sealed blocks, unsealed entries, audit rows, partitions, matviews" \
        "$(sql "$db" "SELECT (SELECT count(*) > 0 FROM crm_core.ledger_block) AND
                             (SELECT sum(unsealed_rows) > 0 FROM crm_core.seal_status) AND
                             (SELECT count(*) > 0 FROM crm_core.audit_log) AND
                             (SELECT count(*) >= 2 FROM crm_core.partitioned_tables WHERE partitions > 0) AND
                             (SELECT count(*) >= 3 FROM crm_core.matview_status WHERE last_status = 'refreshed')")" t
    digest=$(sql "$db" "SELECT crm_core.ledger_digest()")
    balances_before=$(sql "$db" "$ACCOUNT_BALANCES_SQL")
    snapshot_rows "$db"
    CRM_CORE_PGROOT=$old_pgroot "$CRM_ROOT/scripts/cluster.sh" stop "$cluster" >/dev/null

    # ---- the new package: the same data directory on the current tree ----------------------
    CRM_CORE_PGROOT=$current_pgroot "$CRM_ROOT/scripts/cluster.sh" start "$cluster" >/dev/null
    eval "$("$CRM_ROOT/scripts/cluster.sh" env "$cluster")"
    # An application's payment: its ledger rows go through crm_core's C triggers.
    refusal=$(psql -X -q -d "$db" -c "SELECT collections.record_payment(1, 1, 5, now())" 2>&1 || true)
    tap_check "before the update a posting is refused: the library names both versions" \
        "$(printf '%s\n' "$refusal" | sed -n 's/^ERROR: *//p')" \
        "crm_core library $current does not match the installed SQL $version"
    tap_check "with the hint to update" "$(printf '%s\n' "$refusal" | sed -n 's/^HINT: *//p')" \
        "Run ALTER EXTENSION crm_core UPDATE in this database (as a superuser)."
    if update_log=$(sql "$db" "ALTER EXTENSION $extension UPDATE" 2>&1); then update_log=ok; fi
    tap_check "ALTER EXTENSION $extension UPDATE runs" "$update_log" ok
    tap_check "library and SQL are now $current" \
        "$(sql "$db" "SELECT crm_core.version() || '/' || extversion FROM pg_extension WHERE extname = '$extension'")" \
        "$current/$current"
    tap_check "no row of the ledger, the audit log or the application's tables changed; no registration lost" \
        "$(changed_rows "$db" 2>&1 || echo 'the comparison failed')" ""
    tap_check "every account's balance is what it was" "$(sql "$db" "$ACCOUNT_BALANCES_SQL")" "$balances_before"
    tap_check "grants on the extension's functions survive, also where a signature changed" \
        "$(sql "$db" "SELECT string_agg(g.proname, ' ') FROM upgrade_check.granted_function g
                      WHERE EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = 'crm_core'::regnamespace
                                                            AND p.proname = g.proname)
                        AND NOT EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = 'crm_core'::regnamespace
                                          AND p.proname = g.proname
                                          AND has_function_privilege('upgrade_grantee', p.oid, 'EXECUTE'))")" ""
    tap_check "the seal chain verifies with the digest taken before the upgrade" \
        "$(sql "$db" "SELECT bool_and(ok) FROM crm_core.verify_ledger(NULL, '$digest')")" t
    tap_check "check_balances() and unbalanced_entries() are empty" \
        "$(sql "$db" "SELECT (SELECT count(*) FROM crm_core.check_balances()) || '/' ||
                             (SELECT count(*) FROM crm_core.unbalanced_entries())")" 0/0
    sql "$db" "DROP SCHEMA upgrade_check CASCADE" >/dev/null
    tap_check "maintenance runs on the upgraded database without a failed step" \
        "$(sql "$db" "SELECT count(*) FROM crm_core.run_maintenance() WHERE action LIKE '%fail%'")" 0
    sql "$db" "SELECT count(*) FROM crm_core.seal_ledger()" >/dev/null
    tap_check "sealing continues the chain: everything sealed, verified with the old digest" \
        "$(sql "$db" "SELECT (SELECT coalesce(sum(unsealed_rows), 0) FROM crm_core.seal_status) || '/' ||
                             (SELECT bool_and(ok) FROM crm_core.verify_ledger(NULL, '$digest'))")" 0/true

    if CRM_CORE_CLUSTER=$cluster CRM_CORE_PGTAP_UPGRADE_FROM=$version \
        "$CRM_ROOT/scripts/run-pgtap.sh" "$CRM_ROOT"/extensions/"$extension"/tests/pgtap/*.sql \
        >"$work/pgtap.log" 2>&1; then
        tap_check "the whole pgTAP suite passes on a database upgraded from $version" ok ok
    else
        grep -v '^\(ok\|extensions/.* ok\)$' "$work/pgtap.log" | sed 's/^/# /' | tail -n 40
        tap_check "the whole pgTAP suite passes on a database upgraded from $version" failed ok
    fi

    ledger_before=$(sql "$db" "$LEDGER_ROWS_SQL")
    balances_before=$(sql "$db" "$ACCOUNT_BALANCES_SQL")
    createdb "$restored"
    if dump_and_restore "$db" "$restored" "$work/restore.log"; then
        tap_check "pg_dump of the upgraded database restores (replica mode, ON_ERROR_STOP)" ok ok
    else
        tap_check "pg_dump of the upgraded database restores (replica mode, ON_ERROR_STOP)" \
            "$(head -c 300 "$work/restore.log")" ok
    fi
    tap_check "the restored ledger is row for row the upgraded one" \
        "$(sql "$restored" "$LEDGER_ROWS_SQL")" "$ledger_before"
    tap_check "with the same balances, a chain that verifies with the digest from before the upgrade, no mismatch" \
        "$(sql "$restored" "SELECT ($ACCOUNT_BALANCES_SQL) = '$balances_before' AND
                                   (SELECT bool_and(ok) FROM crm_core.verify_ledger(NULL, '$digest')) AND
                                   NOT EXISTS (SELECT FROM crm_core.check_balances())")" t
    tap_check "the restored database is on $current" \
        "$(sql "$restored" "SELECT extversion FROM pg_extension WHERE extname = '$extension'")" "$current"
    "$CRM_ROOT/scripts/cluster.sh" destroy "$cluster" >/dev/null
done <"$CRM_ROOT/RELEASES"

[ "$tap_count" -gt 0 ] || bail "RELEASES lists no release"
tap_done
