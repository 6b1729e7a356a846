-- crm_core.distribute() on a coordinator with two workers: a ledger that already has history
-- (postings, a draft, a closed period, an overdraft rule, a sealed block) is placed by
-- business_id, co-located, with business as a reference table; its rows move verbatim
-- (balances not counted twice, seals intact), triggers on the shards as on the coordinator.
-- Runs first: the other files use the distributed ledger it leaves (businesses 1 and 2).
\ir lib/setup.sql
SELECT plan(21);

-- The ledger before: two businesses, history, one sealed block each.
INSERT INTO crm_core.business (id, name) VALUES (1, 'Acme Collections'), (2, 'Beta Recovery');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency, overdraft) VALUES
    (1, 1, '1000', 'Cash', 'asset', 'EUR', 'none'),
    (2, 1, '1200', 'Loans receivable', 'asset', 'EUR', 'none'),
    (3, 1, '4000', 'Interest income', 'income', 'EUR', 'none'),
    (4, 1, '2100', 'Customer wallets', 'liability', 'EUR', 'debits_must_not_exceed_credits'),
    (5, 2, '1000', 'Cash', 'asset', 'EUR', 'none'),
    (6, 2, '4000', 'Fees', 'income', 'EUR', 'none');
SELECT setval('crm_core.account_id_seq', 100);
INSERT INTO crm_core.fiscal_period (business_id, name, starts_on, ends_on, closed_at)
VALUES (1, 'FY2020', '2020-01-01', '2020-12-31', now());
SELECT crm_core.post_entry(1, '[{"account_id": 1, "debit": 120}, {"account_id": 2, "credit": 100},
                                {"account_id": 3, "credit": 20}]', memo => 'Payment 42');
SELECT crm_core.post_entry(1, '[{"account_id": 1, "debit": 30}, {"account_id": 4, "credit": 30}]');
SELECT crm_core.post_entry(2, '[{"account_id": 5, "debit": 7.5}, {"account_id": 6, "credit": 7.5}]');
SELECT * FROM crm_core.seal_ledger();
SELECT crm_core.post_entry(2, '[{"account_id": 5, "debit": 2}, {"account_id": 6, "credit": 2}]');
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (1000, 1, 'draft');
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
VALUES (1, 1000, 1, 5, NULL), (1, 1000, 3, NULL, 5);
CREATE TEMP TABLE balances_before AS
    SELECT account_id AS id, balance FROM crm_core.account_balances;
SELECT crm_core.ledger_digest() AS digest_before \gset

SELECT is(pg_temp.outcome('SELECT crm_core.distribute()', 'crm_core_app'),
          '42501: permission denied for function distribute',
          'the application role cannot distribute the ledger');

SET citus.shard_count = 8;
SELECT results_eq(
    'SELECT relation::text, placement, action FROM crm_core.distribute()',
    $$VALUES ('crm_core.business', 'reference', 'created reference table'),
             ('crm_core.account', 'business', 'distributed by business_id'),
             ('crm_core.account_balance_slot', 'business', 'distributed by business_id'),
             ('crm_core.fiscal_period', 'business', 'distributed by business_id'),
             ('crm_core.journal_entry', 'business', 'distributed by business_id'),
             ('crm_core.journal_line', 'business', 'distributed by business_id'),
             ('crm_core.ledger_block', 'business', 'distributed by business_id'),
             ('crm_core.ledger_sealed_entry', 'business', 'distributed by business_id'),
             ('crm_core.seal_progress', 'business', 'distributed by business_id')$$,
    'distribute() makes business a reference table and the rest distributed, each after the tables it references');
RESET citus.shard_count;

SELECT results_eq(
    $$SELECT logicalrelid::text, partmethod::text, column_to_column_name(logicalrelid, partkey)
        FROM pg_dist_partition WHERE logicalrelid::text LIKE 'crm_core.%' ORDER BY 1$$,
    $$VALUES ('crm_core.account', 'h', 'business_id'),
             ('crm_core.account_balance_slot', 'h', 'business_id'),
             ('crm_core.business', 'n', NULL),
             ('crm_core.fiscal_period', 'h', 'business_id'),
             ('crm_core.journal_entry', 'h', 'business_id'),
             ('crm_core.journal_line', 'h', 'business_id'),
             ('crm_core.ledger_block', 'h', 'business_id'),
             ('crm_core.ledger_sealed_entry', 'h', 'business_id'),
             ('crm_core.seal_progress', 'h', 'business_id')$$,
    'Citus metadata: hash-distributed by business_id, business a reference table');
SELECT is((SELECT count(DISTINCT colocationid) FROM pg_dist_partition
            WHERE logicalrelid::text LIKE 'crm_core.%' AND partmethod = 'h'),
          1::bigint, 'the distributed tables are co-located: a business''s rows share one node');
SELECT is((SELECT count(DISTINCT groupid) FROM pg_dist_placement AS p JOIN pg_dist_shard AS s USING (shardid)
            WHERE s.logicalrelid = 'crm_core.journal_line'::regclass),
          2::bigint, 'the journal lines are spread over both workers');

SELECT results_eq(
    'SELECT account_id, balance FROM crm_core.account_balances ORDER BY 1',
    'SELECT id, balance FROM balances_before ORDER BY id',
    'every balance reads the same from the coordinator after the move (nothing counted twice)');
SELECT results_eq(
    'SELECT id, crm_core.account_balance(id) FROM unnest(ARRAY[1, 2, 3, 4, 5, 6]::bigint[]) AS id',
    'SELECT id, balance FROM balances_before ORDER BY id',
    'account_balance(id) answers the same, called from the coordinator');
SELECT is_empty('SELECT * FROM crm_core.check_balances()',
                'check_balances() finds the kept balances equal to the lines on the shards');
SELECT is_empty('SELECT * FROM crm_core.unbalanced_entries()', 'no unbalanced entry');
SELECT results_eq(
    $$SELECT business_id, ok, blocks_checked, problem FROM crm_core.verify_ledger(NULL, '$$ || :'digest_before' || $$')$$,
    $$VALUES (1::bigint, true, 1::bigint, NULL::text), (2::bigint, true, 1::bigint, NULL::text)$$,
    'the seal chains verify against the digest taken before distributing (rows moved verbatim)');
SELECT results_eq(
    'SELECT id, status FROM crm_core.journal_entry ORDER BY id',
    $$VALUES (1::bigint, 'posted'), (2, 'posted'), (3, 'posted'), (4, 'posted'), (1000, 'draft')$$,
    'every entry moved, the draft still a draft');

-- The triggers are on the shards in the state they have on the coordinator.
SELECT is_empty(
    $$SELECT result FROM run_command_on_workers(
          $q$SELECT string_agg(DISTINCT regexp_replace(g.tgname, '_[0-9]+$', ''), ', ')
               FROM pg_trigger AS g JOIN pg_class AS c ON c.oid = g.tgrelid
              WHERE c.relnamespace = 'crm_core'::regnamespace AND c.relname ~ '_[0-9]+$'
                AND NOT g.tgisinternal AND g.tgenabled = 'D'$q$) WHERE result <> ''$$,
    'no trigger of a shard was left disabled by the move');
SELECT is((SELECT string_agg(DISTINCT result, ',') FROM run_command_on_workers(
              $q$SELECT count(*) FROM pg_trigger AS g JOIN pg_class AS c ON c.oid = g.tgrelid
                  WHERE c.relname ~ '^journal_line_[0-9]+$' AND g.tgname ~ '^crm_core_guard_posted_'
                    AND g.tgenabled = 'A'$q$)),
          '4', 'every journal_line shard carries the posted-lines guard, ENABLE ALWAYS');
SELECT is((SELECT sum(pg_relation_size(c.oid)) FROM pg_class AS c
            WHERE c.oid IN (SELECT relid FROM crm_core.scale_out_table)),
          0::numeric, 'the coordinator keeps no hidden copy of the moved rows');

SELECT is((SELECT string_agg(DISTINCT result, ',') FROM run_command_on_workers(
              $q$SELECT bool_and(s.next > (SELECT groupid::bigint << 48 FROM pg_dist_local_group))
                   FROM (SELECT last_value FROM crm_core.account_id_seq UNION ALL
                         SELECT last_value FROM crm_core.journal_entry_id_seq UNION ALL
                         SELECT last_value FROM crm_core.journal_line_id_seq) AS s(next)$q$)),
          't', 'each worker takes the ledger''s ids from a range of its own (an insert there never collides)');
SELECT cmp_ok(pg_temp.value('SELECT last_value FROM crm_core.journal_entry_id_seq')::bigint, '<', 1::bigint << 48,
              'the coordinator keeps its ids where they were');
SELECT is((SELECT string_agg(DISTINCT action, ', ') FROM crm_core.distribute()), 'already placed',
          'distribute() again changes nothing');
SELECT is(pg_temp.outcome('SELECT crm_core.distribute()', NULL, pg_temp.worker(1)),
          '55000: crm_core.distribute() runs on the Citus coordinator, not on a worker',
          'distribute() refuses to run on a worker');

-- Sealing after the move: each business on the node that holds it.
SELECT results_eq('SELECT business_id, blocks_sealed, rows_sealed FROM crm_core.seal_ledger() ORDER BY 1',
                  $$VALUES (2::bigint, 1, 3::bigint)$$,
                  'seal_ledger() on the coordinator seals what is new, on the worker that holds it');
SELECT results_eq('SELECT business_id, ok, blocks_checked FROM crm_core.verify_ledger() ORDER BY 1',
                  $$VALUES (1::bigint, true, 1::bigint), (2::bigint, true, 2::bigint)$$,
                  'both chains verify, the new block chained to the one sealed before the move');
SELECT results_eq('SELECT business_id, sealed_blocks, unsealed_rows FROM crm_core.seal_status ORDER BY 1',
                  $$VALUES (1::bigint, 1::bigint, 0::bigint), (2::bigint, 2::bigint, 0::bigint)$$,
                  'seal_status reads the distributed chains from the coordinator');

SELECT * FROM finish();
