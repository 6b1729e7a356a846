-- Sealing and verifying per business on the distributed ledger: each worker seals the
-- businesses it holds with its own transaction ids and snapshot (a posting still in flight
-- there is left for later); the coordinator's seal_ledger() runs them all; verification from
-- the coordinator walks each chain and catches a superuser's edit on a worker's shard.
\ir lib/setup.sql
SELECT plan(15);

SELECT pg_temp.business_on(pg_temp.worker(1), 400) AS d, pg_temp.business_on(pg_temp.worker(2), 400) AS e \gset
INSERT INTO crm_core.business (id, name) VALUES (:d, 'Tenant D'), (:e, 'Tenant E');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (4000, :d, '1000', 'Cash', 'asset', 'EUR'), (4001, :d, '4000', 'Income', 'income', 'EUR'),
    (4100, :e, '1000', 'Cash', 'asset', 'EUR'), (4101, :e, '4000', 'Income', 'income', 'EUR');
SELECT * FROM crm_core.seal_ledger();  -- whatever earlier files left unsealed
BEGIN;
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (8001, :d), (8002, :d), (8101, :e);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (:d, 8001, 4000, 10, NULL), (:d, 8001, 4001, NULL, 10),
    (:d, 8002, 4000, 20, NULL), (:d, 8002, 4001, NULL, 20),
    (:e, 8101, 4100, 30, NULL), (:e, 8101, 4101, NULL, 30);
COMMIT;

-- A worker seals only what it holds.
SELECT is(pg_temp.outcome(format($$SELECT crm_core.seal_ledger(1)$$), NULL, pg_temp.worker(1)), 'ok',
          'seal_ledger() runs on a worker');
SELECT results_eq(
    format('SELECT business_id, count(*) FROM crm_core.ledger_block WHERE business_id IN (%s, %s) GROUP BY 1 ORDER BY 1', :d, :e),
    format('VALUES (%s::bigint, 2::bigint)', :d),
    'the first worker sealed its tenant''s two entries (one per block), not the other worker''s');

-- The coordinator seals on every worker; a posting in flight on a worker waits for the next run.
SELECT dblink_connect('poster', pg_temp.connstr());
SELECT dblink_exec('poster', format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (8102, %1$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 8102, 4100, 5, NULL), (%1$s, 8102, 4101, NULL, 5)$$, :e));
SELECT results_eq(
    format('SELECT business_id, blocks_sealed, rows_sealed FROM crm_core.seal_ledger() WHERE business_id IN (%s, %s)', :d, :e),
    format('VALUES (%s::bigint, 1, 3::bigint)', :e),
    'the coordinator''s seal_ledger() seals on the other worker, and reports it');
SELECT dblink_exec('poster', 'COMMIT');
SELECT dblink_disconnect('poster');
SELECT results_eq(
    format('SELECT business_id, unsealed_rows FROM crm_core.seal_status WHERE business_id IN (%s, %s) ORDER BY 1', :d, :e),
    format('VALUES (%s::bigint, 0::bigint), (%s, 3)', :d, :e),
    'the entry that was in flight during the seal is pending');
SELECT results_eq(
    format('SELECT business_id, blocks_sealed, rows_sealed FROM crm_core.seal_ledger() WHERE business_id IN (%s, %s)', :d, :e),
    format('VALUES (%s::bigint, 1, 3::bigint)', :e),
    'the next run seals it');
SELECT results_eq(
    format('SELECT count(DISTINCT pg_temp.node_of(business_id)) FROM crm_core.ledger_block WHERE business_id IN (%s, %s)', :d, :e),
    'VALUES (2::bigint)', 'each chain is stored with its tenant''s ledger, on its worker');

SELECT results_eq(
    format('SELECT business_id, ok, blocks_checked, rows_checked FROM crm_core.verify_ledger() WHERE business_id IN (%s, %s) ORDER BY 1', :d, :e),
    format('VALUES (%s::bigint, true, 2::bigint, 6::bigint), (%s, true, 2::bigint, 6::bigint)', :d, :e),
    'verify_ledger() on the coordinator walks both chains');
SELECT crm_core.ledger_digest(:e) AS digest \gset
SELECT results_eq(format($$SELECT ok FROM crm_core.verify_ledger(%s, %L)$$, :e, :'digest'),
                  'VALUES (true)', 'a digest taken on the coordinator pins the chain');

-- A superuser on the second worker edits a sealed line in the shard (guard off, then on).
SELECT shard_name('crm_core.journal_line', get_shard_id_for_distribution_column('crm_core.journal_line', :e)) AS line_shard,
       get_shard_id_for_distribution_column('crm_core.journal_line', :e) AS line_shard_id \gset
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    SET LOCAL citus.enable_manual_changes_to_shards = on;
    SET LOCAL session_replication_role = replica;  -- the ledger's own triggers off
    ALTER TABLE %1$s DISABLE TRIGGER crm_core_guard_posted_%2$s;
    UPDATE %1$s SET debit = 300 WHERE entry_id = 8101 AND debit = 30;
    ALTER TABLE %1$s ENABLE ALWAYS TRIGGER crm_core_guard_posted_%2$s;
    COMMIT;$$, :'line_shard', :'line_shard_id'), NULL, pg_temp.node_of(:e)), 'ok',
          'a superuser edits a sealed line directly in the shard');
SELECT results_eq(
    format('SELECT ok, broken_block, broken_row_kind, problem FROM crm_core.verify_ledger(%s)', :e),
    $$VALUES (false, 1::bigint, 'journal_line', 'sealed row was changed')$$,
    'verify_ledger() from the coordinator finds the changed row and its block');
SELECT results_eq(
    format('SELECT ok FROM crm_core.verify_ledger(%s)', :d), 'VALUES (true)',
    'the other tenant''s chain still verifies');
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    SET LOCAL citus.enable_manual_changes_to_shards = on;
    SET LOCAL session_replication_role = replica;
    ALTER TABLE %1$s DISABLE TRIGGER crm_core_guard_posted_%2$s;
    UPDATE %1$s SET debit = 30 WHERE entry_id = 8101 AND debit = 300;
    ALTER TABLE %1$s ENABLE ALWAYS TRIGGER crm_core_guard_posted_%2$s;
    COMMIT;$$, :'line_shard', :'line_shard_id'), NULL, pg_temp.node_of(:e)), 'ok', '(edit undone)');
SELECT results_eq(format($$SELECT ok FROM crm_core.verify_ledger(%s, %L)$$, :e, :'digest'),
                  'VALUES (true)', 'restored, the chain verifies against the digest again');

-- The service role seals the whole cluster from the coordinator with its one grant (EXECUTE on
-- seal_ledger(), which runs as the extension's owner here and on the workers).
BEGIN;
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (8103, :e);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (:e, 8103, 4100, 7, NULL), (:e, 8103, 4101, NULL, 7);
COMMIT;
SELECT is(pg_temp.outcome('SELECT * FROM crm_core.seal_ledger()', 'crm_core_service'), 'ok',
          'crm_core_service runs seal_ledger() on the coordinator');
SELECT results_eq(format('SELECT unsealed_rows FROM crm_core.seal_status WHERE business_id = %s', :e),
                  'VALUES (0::bigint)', 'and it sealed the entry on the worker');

SELECT * FROM finish();
