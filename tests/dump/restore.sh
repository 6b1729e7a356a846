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

# dump_and_restore SOURCE TARGET LOG: pg_dump of SOURCE restored into the empty database TARGET
# as a superuser with session_replication_role = replica and ON_ERROR_STOP; the restore's
# errors go to LOG. (pg_dump warns that account and journal_entry reference themselves.)
dump_and_restore() {
    "$PGBIN/pg_dump" -d "$1" 2>/dev/null |
        PGOPTIONS="$PGOPTIONS -c session_replication_role=replica" \
            psql -X -q -v ON_ERROR_STOP=1 -d "$2" >/dev/null 2>"$3"
}
