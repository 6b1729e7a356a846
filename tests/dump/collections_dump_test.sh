#!/usr/bin/env bash
# A crm_collections database survives pg_dump -Fc and the documented restore (docs/install.md,
# "Backup and restore": replica mode, stopping at the first error; the keys that ATTACH
# PARTITION builds on the monthly partitions of the extension's tables are not created twice,
# and every partition ends with its parent's keys and indexes, attached to them): customers and
# their fingerprints (the key is dumped), debts, plans, payments and allocations in monthly and
# default partitions, reversals, adjustments, history; the install's registrations (append-only,
# audit, partitions, dashboards) are made again by CREATE EXTENSION, not duplicated; positions
# and balances still agree, and money events carry on.
# Runs against CRM_CORE_CLUSTER (default "test"); prints TAP; exit status 1 on any failure.
set -euo pipefail
source_db=crm_collections_dump_source
restored_db=crm_collections_dump_restored
source "$(dirname "$0")/lib.sh"

psql -X -q -v ON_ERROR_STOP=1 -d "$source_db" >/dev/null <<'SQL'
CREATE EXTENSION crm_collections CASCADE;
INSERT INTO crm_core.business (id, name) VALUES (1, 'Acme Recouvrement');
SELECT count(*) FROM collections.setup_business(1);
SELECT count(*) FROM collections.prepare_history(CURRENT_DATE - 45);
INSERT INTO collections.customer (business_id, full_name, phone, national_id)
SELECT 1, 'Customer ' || n, '06 12 34 ' || lpad(n::text, 4, '0'), 'ID-' || n FROM generate_series(1, 20) AS n;
INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal, due_on)
SELECT 1, c.id, 'LOAN-' || c.id, 1000 + c.id, CURRENT_DATE - 10 FROM collections.customer c;
SELECT count(collections.create_plan(d.id, CURRENT_DATE - 40, 4)) FROM collections.debt_account d WHERE d.id % 2 = 0;
SELECT count(collections.charge(d.id, 'penalty', 12.5, 'late')) FROM collections.debt_account d WHERE d.id % 3 = 0;
SELECT count(collections.record_payment(1, d.id, 'P-' || d.id, 333.33, now() - interval '40 days'))
  FROM collections.debt_account d;
SELECT count(collections.record_payment(1, d.id, 'Q-' || d.id, 50)) FROM collections.debt_account d WHERE d.id % 4 = 0;
SELECT count(collections.reverse_payment(p.id, 'bounced')) FROM collections.payment p WHERE p.reference LIKE 'Q-%';
SELECT count(collections.write_off(d.id, 100, 'discount')) FROM collections.debt_account d WHERE d.id % 5 = 0;
-- A payment in a month without partition waits in the default partition.
INSERT INTO collections.payment (business_id, debt_account_id, reference, amount, paid_at)
SELECT 1, min(id), 'OLD-1', 10, now() - interval '2 years' FROM collections.debt_account;
SELECT * FROM collections.run_dpd(CURRENT_DATE + 3);
SELECT count(*) FROM crm_core.refresh_due();
SQL

state="SELECT concat_ws('|', (SELECT count(*) FROM collections.customer), (SELECT count(*) FROM collections.debt_account),
                         (SELECT count(*) FROM collections.installment), (SELECT count(*) FROM collections.payment),
                         (SELECT count(*) FROM collections.payment_default), (SELECT count(*) FROM collections.payment_allocation),
                         (SELECT count(*) FROM collections.payment_reversal), (SELECT count(*) FROM collections.adjustment),
                         (SELECT count(*) FROM collections.dpd_history), (SELECT count(*) FROM collections.dpd_due),
                         (SELECT sum(outstanding) FROM collections.debt_position),
                         (SELECT md5(string_agg(fingerprint::text, ',' ORDER BY id)) FROM collections.customer))"
registrations="SELECT concat_ws(' / ',
    (SELECT string_agg(relid::text || ':' || by_extension, ',' ORDER BY relid::text) FROM crm_core.append_only_table WHERE relid::text LIKE 'collections.%'),
    (SELECT string_agg(relid::text || ':' || by_extension, ',' ORDER BY relid::text) FROM crm_core.audited_table WHERE relid::text LIKE 'collections.%'),
    (SELECT string_agg(parent::text || ':' || by_extension, ',' ORDER BY parent::text) FROM crm_core.partition_config WHERE parent::text LIKE 'collections.%'),
    (SELECT string_agg(view::text || ':' || by_extension, ',' ORDER BY view::text) FROM crm_core.matview WHERE view::text LIKE 'collections.%'))"
# Every index of every partition of a collections table, with its parent index.
partition_indexes="SELECT string_agg(concat_ws(':', i.indrelid::regclass, i.indexrelid::regclass,
                                               pg_get_indexdef(i.indexrelid), c.contype,
                                               (SELECT a.inhparent::regclass FROM pg_inherits AS a
                                                 WHERE a.inhrelid = i.indexrelid)),
                                     ' / ' ORDER BY i.indexrelid::regclass::text)
                     FROM pg_index AS i JOIN pg_class AS t ON t.oid = i.indrelid
                     LEFT JOIN pg_constraint AS c ON c.conindid = i.indexrelid
                    WHERE t.relispartition AND t.relnamespace = 'collections'::regnamespace"
state_before=$(sql "$source_db" "$state")
partition_indexes_before=$(sql "$source_db" "$partition_indexes")
registrations_before=$(sql "$source_db" "$registrations")

restore_log=$(mktemp)
if dump_and_restore "$source_db" "$restored_db" "$restore_log"; then
    tap_check "the dump restores (replica mode) with ON_ERROR_STOP=1" ok ok
else
    tap_check "the dump restores (replica mode) with ON_ERROR_STOP=1" "$(head -c 400 "$restore_log")" ok
fi
rm -f "$restore_log"
tap_check "customers, fingerprints, debts, installments, payments (monthly and default partitions), allocations, reversals, adjustments, history and positions come back" \
    "$(sql "$restored_db" "$state")" "$state_before"
tap_check "the install's registrations are made once, by CREATE EXTENSION" \
    "$(sql "$restored_db" "$registrations")" "$registrations_before"
tap_check "check_positions() and check_balances() are empty" \
    "$(sql "$restored_db" "SELECT (SELECT count(*) FROM collections.check_positions()) || '|' ||
                                  (SELECT count(*) FROM crm_core.check_balances())")" "0|0"
tap_check "the fingerprint key came back: the same person is recognised" \
    "$(sql "$restored_db" "SELECT collections.find_or_create_customer(1, 'C.', '+33612340007', 'id-7')
                           = (SELECT id FROM collections.customer WHERE national_id = 'ID-7')")" "t"
tap_check "a payment allocates and posts in the restored database" \
    "$(sql "$restored_db" "INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                           SELECT 1, min(id), 'AFTER-1', 20 FROM collections.debt_account WHERE id % 2 = 0;
                           SELECT count(*) FROM collections.payment_allocation a JOIN collections.payment p
                             ON p.business_id = a.business_id AND p.id = a.payment_id WHERE p.reference = 'AFTER-1'")" "1"
tap_check "positions still agree after it" \
    "$(sql "$restored_db" "SELECT count(*) FROM collections.check_positions()")" "0"
tap_check "payments stay append-only" \
    "$(psql -X -q -A -t -d "$restored_db" -c "DELETE FROM collections.payment" 2>&1 | grep -c 'refused')" 1
tap_check "a duplicate reference is still refused" \
    "$(psql -X -q -A -t -d "$restored_db" -c "INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                                               SELECT 1, min(id), 'P-' || min(id), 1 FROM collections.debt_account" 2>&1 | grep -c 'already used')" 1
tap_check "every partition has its parent's keys and indexes once, attached to the parent's, under the source's names" \
    "$(sql "$restored_db" "$partition_indexes")" "$partition_indexes_before"
tap_done
