-- crm_collections on the distributed cluster (its tables placed by 010_distribute): a business
-- set up, its debts opened, paid, charged, written off, reversed and aged, each money event
-- posting to the ledger on the worker that holds the business; positions, subledger balances
-- and checks exact from the coordinator; payments of two businesses on two workers in one
-- transaction; the daily days-past-due job run from the coordinator on every worker; a tenant's
-- login that sees and writes only its business's rows (docs/scale-out.md).
-- Business :a lives on the first worker, :b on the second.
\ir lib/setup.sql
SELECT plan(27);

SELECT pg_temp.business_on(pg_temp.worker(1), 600) AS a, pg_temp.business_on(pg_temp.worker(2), 600) AS b \gset
INSERT INTO crm_core.business (id, name) VALUES (:a, 'Collections A'), (:b, 'Collections B');
SELECT count(*) > 0 AS set_up FROM collections.setup_business(:a) \gset
SELECT count(*) > 0 AS set_up FROM collections.setup_business(:b, 'INR', 'IN') \gset

SELECT is(pg_temp.value($$SELECT pg_get_constraintdef(oid) FROM pg_constraint
                           WHERE conrelid = 'collections.debt_account'::regclass AND conname = 'debt_account_business_id_active_plan_id_fkey'$$),
          'FOREIGN KEY (business_id, active_plan_id) REFERENCES collections.repayment_plan(business_id, id)',
          'the debt''s key to its active plan, set aside to distribute the cycle, is back');
SELECT is((SELECT string_agg(DISTINCT result, ',') FROM run_command_on_workers(
              $q$SELECT count(*) FROM pg_constraint WHERE conname ~ '^debt_account_business_id_active_plan_id_fkey'$q$)),
          '5', 'and on the workers: their copy of the table and each of its four shards');

-- Customers and debts through the coordinator: each debt posts its opening entry on its worker.
INSERT INTO collections.customer (business_id, id, full_name, phone)
VALUES (:a, 6001, 'Jeanne Martin', '0612345678'), (:b, 6002, 'Ravi Kumar', '9876543210');
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, due_on)
VALUES (:a, 6101, 6001, 'LOAN-A', 300, CURRENT_DATE - 45), (:b, 6201, 6002, 'LOAN-B', 5000, CURRENT_DATE - 10);
SELECT is(collections.create_plan(6101, CURRENT_DATE - 45, 3) IS NOT NULL, true,
          'create_plan() from the coordinator: a plan and its installments on the worker');

-- A plain INSERT of a payment allocates it and posts its entry, in the business's shard.
SELECT is(pg_temp.outcome(format($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                                   VALUES (%s, 6101, 'PAY-1', 120)$$, :a)),
          'ok', 'a payment inserted through the coordinator allocates and posts on the worker');
SELECT is(pg_temp.outcome(format($$SELECT collections.record_payment(%s, 6201, 'PAY-2', 700)$$, :b)),
          'ok', 'record_payment() for the business on the other worker');
SELECT results_eq(
    format($$SELECT debt_account_id, principal, outstanding, last_paid_amount FROM collections.debt_position
              WHERE business_id IN (%s, %s) ORDER BY 1$$, :a, :b),
    $$VALUES (6101::bigint, 180.00, 180.00, 120::numeric), (6201, 4300.00, 4300.00, 700)$$,
    'debt_position reads what each debt owes from the ledger on its worker');
SELECT is(pg_temp.value(format($$SELECT sum(principal + interest + fee + penalty)::text FROM collections.payment_allocation
                                  WHERE business_id = %s$$, :a)),
          '120.00', 'the payment''s allocations are on the worker with it');
SELECT is(pg_temp.value(format($$SELECT array_agg(principal_paid ORDER BY seq)::text FROM collections.installment
                                  WHERE business_id = %s$$, :a)),
          '{100.00,20.00,0}', 'and paid the installments oldest first');
SELECT is(crm_core.subledger_balance(
              pg_temp.value(format('SELECT principal_account_id FROM collections.product WHERE business_id = %s', :a))::bigint,
              6101),
          180.00, 'subledger_balance() of the debt, called on the coordinator, agrees');

-- Both businesses in one transaction: two workers, two-phase commit.
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO collections.payment (business_id, debt_account_id, reference, amount) VALUES (%1$s, 6101, 'PAY-3', 30);
    INSERT INTO collections.payment (business_id, debt_account_id, reference, amount) VALUES (%2$s, 6201, 'PAY-4', 300);
    COMMIT;$$, :a, :b)),
          'ok', 'payments for businesses on two workers commit together');
SELECT pg_temp.value(format($$SELECT payment_id FROM collections.payment_reference
                              WHERE business_id = %s AND reference = 'PAY-3'$$, :a)) AS pay3 \gset
SELECT is(pg_temp.outcome(format($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                                   VALUES (%s, 6101, 'PAY-3', 5)$$, :a)),
          format('23505: payment reference "PAY-3" of business %s is already used by payment %s', :a, :pay3),
          'a payment reference is refused twice in its business, on the worker');

-- Charges, write-offs and a reversal: each posts on the worker and keeps the position exact.
SELECT is(pg_temp.outcome('SELECT collections.charge(6101, ''fee'', 15, ''late fee'')'), 'ok', 'a fee charged');
SELECT is(pg_temp.outcome('SELECT collections.write_off(6101, 5, ''goodwill'')'), 'ok', 'a write-off');
SELECT is(pg_temp.outcome(format('SELECT collections.reverse_payment(%s, ''bounced'')', :pay3)),
          'ok', 'a bounced payment reversed');
SELECT results_eq(
    format($$SELECT principal, fee, outstanding FROM collections.debt_position WHERE business_id = %s$$, :a),
    $$VALUES (180.00, 10.00, 190.00)$$,
    'the debt owes what the ledger says after charge, write-off and reversal');
SELECT is_empty('SELECT * FROM collections.check_positions()',
                'check_positions(): installments, allocations, adjustments and the ledger agree on every worker');
SELECT is_empty('SELECT * FROM crm_core.check_balances()', 'the kept balances equal the lines on every shard');

-- The close of business from the coordinator: every worker ages the debts of the businesses it holds.
SELECT results_eq(format('SELECT debts_examined, buckets_changed FROM collections.run_dpd(%L)', CURRENT_DATE + 40),
                  $$VALUES (2::bigint, 2::bigint)$$,
                  'run_dpd() on the coordinator moves the debts of both workers into their buckets');
SELECT results_eq(
    format($$SELECT debt_account_id, days_past_due FROM collections.dpd_history
              WHERE business_id IN (%s, %s) AND cause = 'run_dpd' ORDER BY 1$$, :a, :b),
    $$VALUES (6101::bigint, 54), (6201, 50)$$,
    'their history is written on their workers and read from the coordinator');
SELECT results_eq(format('SELECT debts_examined, buckets_changed FROM collections.run_dpd(%L)', CURRENT_DATE + 40),
                  $$VALUES (0::bigint, 0::bigint)$$, 'run_dpd() again the same day changes nothing');

-- A deleted bucket leaves its debts without one (a trigger, since Citus refuses ON DELETE SET NULL).
DELETE FROM collections.bucket WHERE business_id = :a
   AND id = (SELECT bucket_id FROM collections.debt_account WHERE business_id = :a AND id = 6101);
SELECT is(pg_temp.value(format('SELECT bucket_id FROM collections.debt_account WHERE business_id = %s AND id = 6101', :a)),
          NULL, 'deleting a debt''s bucket on the cluster leaves the debt without one');
SELECT is(pg_temp.value(format('SELECT dpd_full_run_needed FROM collections.business_settings WHERE business_id = %s', :a)),
          'true', 'and flags the business for the next run, on its worker');

-- Tenant isolation on the cluster (docs/scale-out.md): a login of the application role granted
-- business :a, acting for it with SET LOCAL crm_core.business_id (passed on to the workers by
-- citus.propagate_set_commands = 'local', one statement per message), where the shards'
-- policies and tenant guard read it.
CREATE ROLE citus_test_collector LOGIN IN ROLE crm_core_app;
SELECT crm_core.grant_business('citus_test_collector', :a);
SELECT dblink_connect('collector', pg_temp.connstr());
SELECT dblink_exec('collector', 'SET ROLE citus_test_collector');
SELECT dblink_exec('collector', 'BEGIN');
SELECT dblink_exec('collector', $$SET LOCAL citus.propagate_set_commands = 'local'$$);
SELECT dblink_exec('collector', format($$SET LOCAL crm_core.business_id = '%s'$$, :a));
SELECT is((SELECT array_agg(id ORDER BY id) FROM dblink('collector',
              'SELECT id FROM collections.customer') AS t(id bigint)),
          '{6001}'::bigint[], 'acting for its business, the login sees that business''s customers only, through the coordinator');
SELECT is(pg_temp.outcome_on('collector', format($$INSERT INTO collections.customer (business_id, full_name, phone)
                                                   VALUES (%s, 'Paul Durand', '0611223344');
                                                   COMMIT$$, :a)),
          'ok', 'and writes its business''s rows on the worker');
SELECT dblink_exec('collector', 'BEGIN');
SELECT dblink_exec('collector', $$SET LOCAL citus.propagate_set_commands = 'local'$$);
SELECT dblink_exec('collector', format($$SET LOCAL crm_core.business_id = '%s'$$, :a));
SELECT is(pg_temp.outcome_on('collector', format($$INSERT INTO collections.customer (business_id, full_name, phone)
                                                   VALUES (%s, 'Intruder', '9876500000')$$, :b)),
          format('42501: INSERT on collections.customer_%s is refused: the row belongs to business %s, this transaction acts for business %s',
                 pg_temp.value(format($$SELECT get_shard_id_for_distribution_column('collections.customer', %s)$$, :b)), :b, :a),
          'a row for another business is refused on its worker');
SELECT dblink_exec('collector', 'BEGIN');
SELECT dblink_exec('collector', $$SET LOCAL citus.propagate_set_commands = 'local'$$);
SELECT is((SELECT count(*) FROM dblink('collector', 'SELECT id FROM collections.customer') AS t(id bigint)),
          0::bigint, 'with no business set the login sees nothing (fail closed)');
SELECT is(pg_temp.outcome_on('collector', format($$INSERT INTO collections.customer (business_id, full_name, phone)
                                                   VALUES (%s, 'Nobody', '0600000000')$$, :a)),
          format('42501: INSERT on collections.customer_%s is refused: no business is set',
                 pg_temp.value(format($$SELECT get_shard_id_for_distribution_column('collections.customer', %s)$$, :a))),
          'and writes nothing');
SELECT dblink_disconnect('collector');

SELECT * FROM finish();
