#!/usr/bin/env bash
# A whole crm_core database survives pg_dump -Fc and the documented restore (ON_ERROR_STOP), as a superuser with
# session_replication_role = replica (docs/install.md, "Backup and restore"), into a new database: the ledger (businesses, accounts, a closed fiscal period,
# posted entries, a reversal, drafts, balances, sealed blocks and unsealed entries), audit rows (in the default and in monthly partitions), a partitioned append-only and audited
# user table, partition and materialized view registrations; the install's own configuration
# rows are not dumped (CREATE EXTENSION writes them again), and the guards come back.
# Runs against CRM_CORE_CLUSTER (default "test"); prints TAP; exit status 1 on any failure.
set -euo pipefail
source_db=crm_core_dump_whole_source
restored_db=crm_core_dump_whole_restored
source "$(dirname "$0")/lib.sh"

psql -X -q -v ON_ERROR_STOP=1 -d "$source_db" >/dev/null <<'SQL'
CREATE EXTENSION crm_core;
-- Audited before any maintenance: lands in audit_log_default.
CREATE TABLE public.debtor (business_id bigint NOT NULL, id bigint NOT NULL, name text NOT NULL,
                            PRIMARY KEY (business_id, id));
SELECT crm_core.audit_table('public.debtor');
INSERT INTO public.debtor VALUES (1, 1, 'Ada'), (1, 2, 'Bob');
SELECT count(*) FROM crm_core.run_maintenance(false);
-- A partitioned append-only, audited table under partition management.
CREATE TABLE public.payment_event (business_id bigint NOT NULL, id bigint NOT NULL,
                                   paid_at timestamptz NOT NULL, amount numeric NOT NULL,
                                   PRIMARY KEY (business_id, id, paid_at))
    PARTITION BY RANGE (paid_at);
SELECT crm_core.make_append_only('public.payment_event');
SELECT count(*) FROM crm_core.partition_by_time('public.payment_event', 'paid_at', '1 month', 2,
                                                 '7 years');
SELECT crm_core.audit_table('public.payment_event');
INSERT INTO public.payment_event VALUES (1, 1, now(), 10), (1, 2, now(), 20);
-- Tenant isolation of that table (its partitions too) and a business grant.
SELECT crm_core.enable_tenant_isolation('public.payment_event');
-- A month of the audit log written in a partition maintenance made.
CREATE TABLE crm_core.audit_log_p201001 PARTITION OF crm_core.audit_log
    FOR VALUES FROM ('2010-01-01 00:00+00') TO ('2010-02-01 00:00+00');
SELECT crm_core._index_audit_partition('crm_core.audit_log_p201001');
INSERT INTO crm_core.audit_log (logged_at, relid, table_name, operation, txid, db_user,
                                session_user_name)
VALUES ('2010-01-15 12:00+00', 0, 'old', 'INSERT', 1, 'u', 'u');
-- Retention detaches it (7 years): a standalone append-only table from now on.
SELECT count(*) FROM crm_core.run_maintenance(false);
-- A row no month holds yet waits in audit_log_default (dumped as extension configuration data).
INSERT INTO crm_core.audit_log (logged_at, relid, table_name, operation, txid, db_user,
                                session_user_name)
VALUES ('2100-01-01 00:00+00', 0, 'far future', 'INSERT', 1, 'u', 'u');
-- A registered materialized view.
CREATE MATERIALIZED VIEW public.paid_total AS
    SELECT business_id, sum(amount) AS total FROM public.payment_event GROUP BY business_id;
CREATE UNIQUE INDEX ON public.paid_total (business_id);
SELECT crm_core.register_matview('public.paid_total', '1 hour');
-- The ledger: two businesses, a fiscal period closed over its entries, a closed account,
-- posted entries, a reversal, drafts, sealed blocks and entries posted after the seal.
INSERT INTO crm_core.business (name) VALUES ('Acme'), ('Globex');
INSERT INTO crm_core.account (business_id, code, name, kind, currency)
SELECT b.id, a.code, a.code, a.kind, 'EUR'
  FROM crm_core.business AS b
 CROSS JOIN (VALUES ('cash', 'asset'), ('revenue', 'income'), ('old', 'asset')) AS a (code, kind);
CREATE FUNCTION pg_temp.lines(business bigint, debit_code text, credit_code text, amount numeric)
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_array(
        jsonb_build_object('account_id', (SELECT id FROM crm_core.account
                                          WHERE business_id = business AND code = debit_code),
                           'debit', amount),
        jsonb_build_object('account_id', (SELECT id FROM crm_core.account
                                          WHERE business_id = business AND code = credit_code),
                           'credit', amount))
$$;
INSERT INTO crm_core.fiscal_period (business_id, name, starts_on, ends_on)
VALUES (1, '2020', '2020-01-01', '2020-12-31');
SELECT crm_core.post_entry(1, pg_temp.lines(1, 'cash', 'revenue', 100), 'in 2020', '2020-06-30');
SELECT crm_core.post_entry(1, pg_temp.lines(1, 'old', 'revenue', 7), 'old account', '2020-07-01');
SELECT crm_core.post_entry(1, pg_temp.lines(1, 'revenue', 'old', 7), 'old account emptied', '2020-07-02');
UPDATE crm_core.fiscal_period SET closed_at = now() WHERE business_id = 1 AND name = '2020';
UPDATE crm_core.account SET closed_at = now() WHERE business_id = 1 AND code = 'old';
SELECT crm_core.post_entry(b, pg_temp.lines(b, 'cash', 'revenue', 10 * n + b), 'sale ' || n)
  FROM generate_series(1, 2) AS b, generate_series(1, 5) AS n;
SELECT crm_core.reverse_entry((SELECT max(id) FROM crm_core.journal_entry WHERE business_id = 2));
SELECT count(*) FROM crm_core.seal_ledger(2);
SELECT crm_core.post_entry(b, pg_temp.lines(b, 'cash', 'revenue', 1000 + b), 'after the seal')
  FROM generate_series(1, 2) AS b;
INSERT INTO crm_core.journal_entry (business_id, status, memo) VALUES (2, 'draft', 'a draft');
SELECT crm_core.grant_business('crm_core_readonly', 2);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
SELECT 2, max(e.id), (SELECT id FROM crm_core.account WHERE business_id = 2 AND code = 'cash'), 5
  FROM crm_core.journal_entry AS e WHERE e.status = 'draft';
SQL

counts="SELECT concat_ws('|', (SELECT count(*) FROM crm_core.audit_log),
                          (SELECT count(*) FROM crm_core.audit_log_default),
                          (SELECT count(*) FROM public.debtor),
                          (SELECT sum(amount) FROM public.payment_event))"
config="SELECT concat_ws(' / ',
          (SELECT string_agg(concat_ws('|', parent, control_column, partition_interval, premake,
                                       retention, retention_action, by_extension), ','
                             ORDER BY parent::text) FROM crm_core.partition_config),
          (SELECT string_agg(concat_ws('|', relid, by_extension), ',' ORDER BY relid::text)
             FROM crm_core.append_only_table),
          (SELECT string_agg(concat_ws('|', relid, columns), ',' ORDER BY relid::text)
             FROM crm_core.audited_table),
          (SELECT string_agg(concat_ws('|', view, refresh_every), ',' ORDER BY view::text)
             FROM crm_core.matview))"
# crm_core's guard and audit triggers (by the function they call), per name, ENABLE ALWAYS.
guards="SELECT string_agg(tgname || ':' || n, ',' ORDER BY tgname) FROM (
            SELECT tgname, count(*) AS n FROM pg_trigger
             WHERE tgfoid IN ('crm_core.append_only_guard()'::regprocedure,
                              'crm_core.ledger_guard()'::regprocedure,
                              'crm_core.audit_trigger()'::regprocedure) AND tgenabled = 'A'
             GROUP BY tgname) AS g"
ledger=$LEDGER_ROWS_SQL
balances=$ACCOUNT_BALANCES_SQL
seal_state="SELECT string_agg(concat_ws('|', business_id, sealed_blocks, unsealed_rows), ',' ORDER BY business_id)
            FROM crm_core.seal_status"
ledger_before=$(sql "$source_db" "$ledger")
balances_before=$(sql "$source_db" "$balances")
seal_state_before=$(sql "$source_db" "$seal_state")
digest=$(sql "$source_db" "SELECT crm_core.ledger_digest()")
max_entry=$(sql "$source_db" "SELECT max(id) FROM crm_core.journal_entry")
counts_before=$(sql "$source_db" "$counts")
config_before=$(sql "$source_db" "$config")
guards_before=$(sql "$source_db" "$guards")

restore_log=$(mktemp)
if dump_and_restore "$source_db" "$restored_db" "$restore_log"; then
    tap_check "the dump restores (replica mode) with ON_ERROR_STOP=1" ok ok
else
    tap_check "the dump restores (replica mode) with ON_ERROR_STOP=1" "$(head -c 300 "$restore_log")" ok
fi
rm -f "$restore_log"

tap_check "audit rows, default partition rows, debtors and payments come back" \
    "$(sql "$restored_db" "$counts")" "$counts_before"
tap_check "the audit log holds 2 debtors, 2 payments and the waiting row (in the default partition)" \
    "$(sql "$restored_db" "SELECT count(*) || '/' || (SELECT count(*) FROM crm_core.audit_log_default)
                           FROM crm_core.audit_log")" "5/1"
tap_check "registrations (partitions, append-only, audited, matviews) are unchanged" \
    "$(sql "$restored_db" "$config")" "$config_before"
tap_check "every guard and audit trigger is back, ENABLE ALWAYS" \
    "$(sql "$restored_db" "$guards")" "$guards_before"
tap_check "restored monthly audit partitions are not extension members" \
    "$(sql "$restored_db" "SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
                           WHERE d.deptype = 'e' AND c.relname ~ '^audit_log_p[0-9]{6}\$'")" 0
tap_check "nor missing their keys" \
    "$(sql "$restored_db" "SELECT count(*) FROM pg_inherits i WHERE i.inhparent = 'crm_core.audit_log'::regclass
                           AND NOT EXISTS (SELECT FROM pg_index x WHERE x.indrelid = i.inhrelid AND x.indisprimary)")" 0
tap_check "audited writes carry on in the restored database" \
    "$(sql "$restored_db" "INSERT INTO public.debtor VALUES (1, 3, 'Cy');
                           SELECT count(*) FROM crm_core.audit_log WHERE table_name = 'public.debtor'")" 3
tap_check "append-only guards hold in the restored database" \
    "$(psql -X -q -A -t -d "$restored_db" -c "DELETE FROM public.payment_event" 2>&1 | grep -c 'refused')" 1
tap_check "maintenance in the restored database creates nothing new" \
    "$(sql "$restored_db" "SELECT count(*) FROM crm_core.run_maintenance(false) WHERE action = 'created'")" 0
tap_check "the retired 2010 audit month comes back detached, append-only, with its row" \
    "$(sql "$restored_db" "SELECT concat_ws('|', c.relispartition, t.by_extension,
                                  (SELECT count(*) FROM crm_core.audit_log_p201001))
                           FROM pg_class c JOIN crm_core.append_only_table t ON t.relid = c.oid
                           WHERE c.oid = 'crm_core.audit_log_p201001'::regclass")" "f|f|1"

tap_check "every ledger table comes back row for row (counts and md5 of the rows)" \
    "$(sql "$restored_db" "$ledger")" "$ledger_before"
tap_check "and holds what the source wrote (2 businesses, 6 accounts, 17 entries, 2 sealed blocks+)" \
    "$(sql "$restored_db" "SELECT concat_ws('|', (SELECT count(*) FROM crm_core.business),
                                  (SELECT count(*) FROM crm_core.account),
                                  (SELECT count(*) FROM crm_core.journal_entry),
                                  (SELECT count(*) FROM crm_core.ledger_block) >= 2)")" "2|6|17|t"
tap_check "account balances are unchanged (the lines were not counted twice)" \
    "$(sql "$restored_db" "$balances")" "$balances_before"
tap_check "check_balances() and unbalanced_entries() are empty" \
    "$(sql "$restored_db" "SELECT (SELECT count(*) FROM crm_core.check_balances()) || '|' ||
                                  (SELECT count(*) FROM crm_core.unbalanced_entries())")" "0|0"
tap_check "the chain verifies against the digest taken before the dump" \
    "$(sql "$restored_db" "SELECT bool_and(ok) || '|' || count(*) FROM crm_core.verify_ledger(NULL, '$digest')")" "true|2"
tap_check "sealed blocks and unsealed rows are as before" \
    "$(sql "$restored_db" "$seal_state")" "$seal_state_before"
tap_check "a new posting takes the next id (identity sequences were dumped)" \
    "$(sql "$restored_db" "SELECT crm_core.post_entry(1, jsonb_build_array(
                                 jsonb_build_object('account_id', (SELECT id FROM crm_core.account WHERE business_id = 1 AND code = 'cash'), 'debit', 3),
                                 jsonb_build_object('account_id', (SELECT id FROM crm_core.account WHERE business_id = 1 AND code = 'revenue'), 'credit', 3)))
                                 > $max_entry")" "t"
tap_check "the closed period and the closed account still refuse postings" \
    "$(psql -X -q -A -t -d "$restored_db" -c "SELECT crm_core.post_entry(1, jsonb_build_array(
            jsonb_build_object('account_id', (SELECT id FROM crm_core.account WHERE business_id = 1 AND code = 'cash'), 'debit', 1),
            jsonb_build_object('account_id', (SELECT id FROM crm_core.account WHERE business_id = 1 AND code = 'revenue'), 'credit', 1)),
            NULL, '2020-03-01')" 2>&1 | grep -c '^ERROR: .*closed')/$(psql -X -q -A -t -d "$restored_db" -c "SELECT crm_core.post_entry(1, jsonb_build_array(
            jsonb_build_object('account_id', (SELECT id FROM crm_core.account WHERE business_id = 1 AND code = 'old'), 'debit', 1),
            jsonb_build_object('account_id', (SELECT id FROM crm_core.account WHERE business_id = 1 AND code = 'revenue'), 'credit', 1)))" 2>&1 | grep -c '^ERROR: .*closed')" "1/1"
tap_check "posted entries stay immutable in the restored database" \
    "$(psql -X -q -A -t -d "$restored_db" -c "DELETE FROM crm_core.journal_line" 2>&1 | grep -c 'refused')" 1
tap_check "sealing continues the chain: everything is sealed, balances and chain check out" \
    "$(sql "$restored_db" "SELECT count(*) FROM crm_core.seal_ledger()" >/dev/null
      sql "$restored_db" "SELECT concat_ws('|', (SELECT sum(unsealed_rows) FROM crm_core.seal_status),
                                  (SELECT bool_and(ok) FROM crm_core.verify_ledger(NULL, '$digest')),
                                  (SELECT count(*) FROM crm_core.check_balances()))")" "0|t|0"
tap_check "replica mode lets no application (a non-superuser role) add lines to a posted entry" \
    "$(psql -X -q -A -t -d "$restored_db" -c "SELECT crm_core.grant_business('crm_core_app', 1)" \
            -c "SET session_replication_role = replica" -c "SET crm_core.business_id = '1'" \
            -c "SET ROLE crm_core_app" -c "INSERT INTO crm_core.journal_line (business_id, entry_id,
                account_id, debit) VALUES (1, 1, 1, 1)" 2>&1 | grep -c 'refused')" 1
tap_check "tenant isolation survives: business grants, an isolated table and all its partitions" \
    "$(sql "$restored_db" "SELECT concat_ws('|',
        (SELECT count(*) FROM crm_core.business_grant WHERE role = 'crm_core_readonly'::regrole AND business_id = 2),
        (SELECT count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity
                                   AND EXISTS (SELECT FROM pg_policy AS p WHERE p.polrelid = c.oid
                                                 AND p.polname = 'crm_core_tenant'))
                = count(*) AND count(*) > 1
           FROM pg_partition_tree('public.payment_event') AS t JOIN pg_class AS c ON c.oid = t.relid))")" \
    "1|t"

tap_done
