# The ledger's fingerprints and the documented dump and restore (docs/install.md, "Backup and
# restore"), shared by tests/dump and tests/upgrade. Sourced; needs the PG* variables of a
# cluster, PGBIN (scripts/lib.sh) and PGOPTIONS.

# Every ledger table, row by row in key order (count and md5 of the rows as text).
LEDGER_ROWS_SQL="SELECT string_agg(t || '=' || (xpath('/row/c/text()',
                        query_to_xml(format('SELECT count(*) || '':'' || md5(coalesce(string_agg(r::text, '','' ORDER BY r::text), ''''))
                                               AS c FROM %s AS r', t), false, false, '')))[1]::text, ' ' ORDER BY t)
       FROM unnest(ARRAY['crm_core.business', 'crm_core.account', 'crm_core.fiscal_period',
                         'crm_core.journal_entry', 'crm_core.journal_line',
                         'crm_core.account_balance_slot', 'crm_core.ledger_block',
                         'crm_core.ledger_sealed_entry']) AS t"
# Every account's balance as crm_core.account_balance() reads it.
ACCOUNT_BALANCES_SQL="SELECT string_agg(id || ':' || crm_core.account_balance(id), ',' ORDER BY id) FROM crm_core.account"

# dump_and_restore SOURCE TARGET LOG: pg_dump -Fc of SOURCE restored into the empty database
# TARGET by restore_crm_dump; the restore's errors go to LOG. (pg_dump warns that account and
# journal_entry reference themselves.)
dump_and_restore() {
    local archive
    archive=$(mktemp)
    "$PGBIN/pg_dump" -Fc -d "$1" -f "$archive" 2>/dev/null &&
        restore_crm_dump "$archive" "$2" >/dev/null 2>"$3"
    local status=$?
    rm -f "$archive"
    return "$status"
}

# restore_crm_dump ARCHIVE TARGET: docs/install.md, "Backup and restore", command for command.
# As a superuser with session_replication_role = replica, stopping at the first error: the
# schema and the rows; then the indexes and constraints, less those that ATTACH PARTITION has
# already built (a partition of a table that CREATE EXTENSION made gets its key from its parent
# when the dump attaches it, and the dump's own ADD CONSTRAINT would be a second primary key).
restore_crm_dump() (
    # Each step runs only if the one before succeeded (set -e does not act in a function called
    # from an && list, as dump_and_restore does).
    export PGOPTIONS="${PGOPTIONS:-} -c session_replication_role=replica"
    set -o pipefail
    built=$(mktemp)
    post_data=$(mktemp)
    trap 'rm -f "$built" "$post_data"' EXIT
    "$PGBIN/pg_restore" --exit-on-error -d "$2" --section=pre-data --section=data "$1" &&
        psql -X -A -t -v ON_ERROR_STOP=1 -d "$2" -o "$built" -c \
            "SELECT n.nspname || ' ' || c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
              WHERE c.relkind = 'i' AND c.relispartition" &&
        "$PGBIN/pg_restore" -l --section=post-data "$1" | awk '
            FILENAME == ARGV[1] { built[$0]; next }
            $4 == "CONSTRAINT" && ($5 " " $7) in built { print ";" $0; next }
            $4 == "INDEX" && ($5 " " $6) in built { print ";" $0; next }
            { print }' "$built" - >"$post_data" &&
        "$PGBIN/pg_restore" --exit-on-error -d "$2" -L "$post_data" "$1"
)
