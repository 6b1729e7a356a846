#!/usr/bin/env bash
# For every extension and every released version of it (its frozen sql/NAME--VERSION.sql), a
# database upgraded from that version with ALTER EXTENSION ... UPDATE has the same catalog as
# a fresh install of the current version (tests/upgrade/describe.sql lists both). Runs against
# CRM_CORE_CLUSTER (default "test"); prints TAP; exit status 1 on any failure.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
eval "$("$CRM_ROOT/scripts/cluster.sh" env "${CRM_CORE_CLUSTER:-test}")"
export PGOPTIONS="-c client_min_messages=warning"
fresh=crm_upgrade_fresh
upgraded=crm_upgrade_from
cleanup() { dropdb --if-exists --force "$fresh"; dropdb --if-exists --force "$upgraded"; }
trap cleanup EXIT
work=$(mktemp -d)
trap 'cleanup; rm -rf "$work"' EXIT

cases=()
for control in "$CRM_ROOT"/extensions/*/*.control; do
    extension=$(basename "$control" .control)
    for released in "$(dirname "$control")"/sql/"$extension"--*.sql; do
        [ -e "$released" ] || continue
        version=${released##*/"$extension"--}
        version=${version%.sql}
        case "$version" in *--*) continue ;; esac
        cases+=("$extension $version")
    done
done

for case in "${cases[@]}"; do
    read -r extension version <<<"$case"
    current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$CRM_ROOT/extensions/$extension/$extension.control")
    cleanup
    createdb "$fresh"
    createdb "$upgraded"
    psql_strict -d "$fresh" -c "CREATE EXTENSION $extension CASCADE" >/dev/null
    # Between installing the new library and ALTER EXTENSION ... UPDATE, the old catalog runs
    # the new C code: DDL its event triggers see must keep working.
    if psql_strict -d "$upgraded" -c "CREATE EXTENSION $extension VERSION '$version' CASCADE" \
           -c "CREATE TABLE upgrade_probe (id int); ALTER TABLE upgrade_probe ADD COLUMN note text;
               CREATE TRIGGER upgrade_probe BEFORE UPDATE ON upgrade_probe FOR EACH ROW
                   EXECUTE FUNCTION suppress_redundant_updates_trigger();
               DROP TABLE upgrade_probe" \
           -c "ALTER EXTENSION $extension UPDATE" >"$work/update.log" 2>&1; then
        tap_ok "$extension $version updates to $current"
    else
        tap_not_ok "$extension $version updates to $current"
        sed 's/^/#   /' "$work/update.log"
    fi
    psql_strict -d "$fresh" -v extension="$extension" -f "$CRM_ROOT/tests/upgrade/describe.sql" > "$work/fresh.txt"
    psql_strict -d "$upgraded" -v extension="$extension" -f "$CRM_ROOT/tests/upgrade/describe.sql" > "$work/upgraded.txt"
    if diff -u "$work/fresh.txt" "$work/upgraded.txt" > "$work/diff.txt"; then
        tap_ok "$extension upgraded from $version has the catalog of a fresh $current ($(wc -l < "$work/fresh.txt") lines)"
    else
        tap_not_ok "$extension upgraded from $version has the catalog of a fresh $current" \
            "--- fresh $current, +++ upgraded from $version:"
        grep '^[-+][^-+]' "$work/diff.txt" | cut -c1-400 | sed 's/^/#   /'
    fi
done
tap_done
