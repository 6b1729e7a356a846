-- The ledger's invariants on the distributed cluster, as on one node: balanced entries only
-- (transactions on one shard and across shards and nodes), balances exact and readable from
-- the coordinator, posted history immutable, the per-line rules, tenants kept apart.
-- Business :a lives on the first worker, :b on the second. Each transaction runs in a
-- session of its own (pg_temp.outcome), so that the checks run at its real commit.
\ir lib/setup.sql
SELECT plan(43);

SELECT pg_temp.business_on(pg_temp.worker(1), 10) AS a, pg_temp.business_on(pg_temp.worker(2), 10) AS b \gset
INSERT INTO crm_core.business (id, name) VALUES (:a, 'Tenant A'), (:b, 'Tenant B');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency, parent_id, overdraft) VALUES
    (1000, :a, '1000', 'Cash', 'asset', 'EUR', NULL, 'none'),
    (1001, :a, '1200', 'Receivables', 'asset', 'EUR', NULL, 'none'),
    (1002, :a, '1210', 'Receivables: loans', 'asset', 'EUR', 1001, 'none'),
    (1003, :a, '4000', 'Interest income', 'income', 'EUR', NULL, 'none'),
    (1004, :a, '2100', 'Customer wallets', 'liability', 'EUR', NULL, 'debits_must_not_exceed_credits'),
    (1005, :a, '1900', 'Old cash', 'asset', 'EUR', NULL, 'none'),
    (2000, :b, '1000', 'Cash', 'asset', 'EUR', NULL, 'none'),
    (2001, :b, '4000', 'Fees', 'income', 'EUR', NULL, 'none');

SELECT isnt(pg_temp.node_of(:a), pg_temp.node_of(:b), 'the two tenants live on different workers');

-- One business, one shard: plain INSERTs in a transaction.
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id, memo) VALUES (5001, %1$s, 'Payment 1');
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (%1$s, 5001, 1000, 120);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (%1$s, 5001, 1002, 100);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (%1$s, 5001, 1003, 20);
    COMMIT;$$, :a)), 'ok', 'a balanced entry built over several statements commits');
-- Citus commits a one-shard transaction in one phase: the worker's check fails at its COMMIT
-- and the coordinator reports that (the ledger's message comes as a WARNING before it).
SELECT matches(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5002, %1$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (%1$s, 5002, 1000, 100);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (%1$s, 5002, 1003, 90);
    COMMIT;$$, :a)),
    '^XX000: could not commit transaction for shard [0-9]+ on at least one active node$',
    'an unbalanced entry in a one-shard transaction is refused at commit');
SELECT is(pg_temp.value('SELECT count(*) FROM crm_core.journal_entry WHERE id = 5002'), '0',
          '... and nothing of it is committed');
SELECT pg_temp.outcome(format($$SELECT crm_core.post_entry(%s,
           '[{"account_id": 1000, "debit": 5}, {"account_id": 1003, "credit": 4}]')$$, :a)) AS refused \gset
SELECT is(:'refused',
          format('23514: journal entry %s does not balance in EUR: debits 5, credits 4',
                 pg_temp.value($$SELECT last_value FROM crm_core.journal_entry_id_seq$$)),
          'post_entry() of an unbalanced entry is refused with the ledger''s own error (two-phase commit)');
SELECT is(pg_temp.outcome(format($$INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5003, %s)$$, :a)),
          '23514: journal entry 5003 has 0 line(s); a posted entry needs at least two',
          'a posted entry without lines is refused');

-- Several businesses on both workers in one transaction: two-phase commit, all or nothing.
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5010, %1$s), (5011, %2$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 5010, 1000, 50, NULL), (%2$s, 5011, 2000, 7, NULL);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 5010, 1002, NULL, 50), (%2$s, 5011, 2001, NULL, 6);
    COMMIT;$$, :a, :b)),
    '23514: journal entry 5011 does not balance in EUR: debits 7, credits 6',
    'a multi-shard transaction with one unbalanced entry is refused');
SELECT is(pg_temp.value('SELECT count(*) FROM crm_core.journal_entry WHERE id IN (5010, 5011)'), '0',
          '... and the balanced entry of the other tenant is not committed either');
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5012, %1$s), (5013, %2$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 5012, 1000, 50, NULL), (%2$s, 5013, 2000, 7, NULL),
        (%1$s, 5012, 1002, NULL, 50), (%2$s, 5013, 2001, NULL, 7);
    COMMIT;$$, :a, :b)), 'ok', 'a balanced multi-shard transaction commits on both workers');
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5014, %1$s), (5015, %2$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (%1$s, 5014, 1000, 1), (%2$s, 5015, 2000, 1);
    SAVEPOINT s;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (%1$s, 5014, 1003, 99);
    ROLLBACK TO SAVEPOINT s;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, credit) VALUES (%1$s, 5014, 1003, 1), (%2$s, 5015, 2001, 1);
    COMMIT;$$, :a, :b)), 'ok', 'a line rolled back with its savepoint is forgotten on the shards');

-- Balances: exact, from the coordinator, in every form.
SELECT results_eq(
    format('SELECT account_id, balance FROM crm_core.account_balances WHERE business_id IN (%s, %s) ORDER BY 1', :a, :b),
    $$VALUES (1000::bigint, 171::numeric), (1001, 0), (1002, -150), (1003, 21), (1004, 0), (1005, 0),
             (2000, 8), (2001, 8)$$,
    'account_balances: every balance of both tenants, read on the coordinator');
SELECT results_eq(
    'SELECT crm_core.account_balance(1000), crm_core.account_balance(1002), crm_core.account_balance(2001)',
    $$VALUES (171::numeric, -150::numeric, 8::numeric)$$,
    'account_balance(id) from the coordinator');
SELECT results_eq('SELECT crm_core.account_rollup_balance(1001)', $$VALUES (-150::numeric)$$,
                  'account_rollup_balance() sums the child accounts on the shard');
SELECT results_eq($$SELECT crm_core.account_balance(1000, now() - interval '1 hour')$$,
                  $$VALUES (0::numeric)$$, 'a point-in-time balance before the postings');
-- Subledgers: a receivable per loan, exact from the coordinator.
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5016, %1$s), (5017, %2$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger) VALUES
        (%1$s, 5016, 1002, 40, NULL, 71), (%1$s, 5016, 1002, 2.5, NULL, 72), (%1$s, 5016, 1000, NULL, 42.5, NULL),
        (%2$s, 5017, 2000, 9, NULL, 71), (%2$s, 5017, 2001, NULL, 9, NULL);
    COMMIT;$$, :a, :b)), 'ok', 'lines tagged with subledgers (loans) on both workers');
SELECT results_eq(
    'SELECT crm_core.subledger_balance(1002, 71), crm_core.subledger_balance(1002, 72), '
    '       crm_core.subledger_balance(1002, 73), crm_core.subledger_balance(2000, 71, now())',
    $$VALUES (40::numeric, 2.5::numeric, 0::numeric, 9::numeric)$$,
    'subledger_balance() from the coordinator: each loan on its own, 0 for one without lines');
SELECT is_empty('SELECT * FROM crm_core.check_balances()',
                'check_balances(): kept balances equal the lines, every subledger proven');
SELECT is_empty('SELECT * FROM crm_core.unbalanced_entries()', 'unbalanced_entries(): none');

-- Drafts: edited freely, counted when posted (on the worker, by UPDATE).
SELECT is(pg_temp.outcome(format($$
    INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (5020, %1$s, 'draft'), (5021, %1$s, 'draft');
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 5020, 1000, 9, NULL), (%1$s, 5020, 1003, NULL, 9),
        (%1$s, 5021, 1000, 9, NULL), (%1$s, 5021, 1003, NULL, 8);
    UPDATE crm_core.journal_line SET credit = 9 WHERE business_id = %1$s AND entry_id = 5020 AND credit IS NOT NULL;
    UPDATE crm_core.journal_entry SET status = 'posted' WHERE business_id = %1$s AND id = 5020;$$, :a)),
    'ok', 'a draft is edited, then posted by UPDATE');
SELECT is(pg_temp.value('SELECT crm_core.account_balance(1000)'), '137.5', '... and counted once posted');
SELECT is(pg_temp.outcome(format($$UPDATE crm_core.journal_entry SET status = 'posted' WHERE business_id = %s AND id = 5021$$, :a)),
          '23514: journal entry 5021 does not balance in EUR: debits 9, credits 8',
          'posting an unbalanced draft is refused');

-- Posted history never changes.
SELECT matches(pg_temp.outcome(format($$UPDATE crm_core.journal_line SET debit = 1000 WHERE business_id = %s AND entry_id = 5001 AND debit IS NOT NULL$$, :a)),
               '^55000: UPDATE on crm_core\.journal_line_[0-9]+ is refused: lines of posted journal entries are append-only$',
               'a posted line cannot be updated (refused on the shard)');
SELECT matches(pg_temp.outcome(format($$DELETE FROM crm_core.journal_entry WHERE business_id = %s AND id = 5001$$, :a)),
               '^55000: DELETE on crm_core\.journal_entry_[0-9]+ is refused: posted journal entries are append-only$',
               'a posted entry cannot be deleted');
SELECT is(pg_temp.outcome(format($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit) VALUES (%s, 5001, 1000, 1)$$, :a)),
          '55000: journal entry 5001 is already posted; lines cannot be added to it',
          'no line joins an entry posted by an earlier transaction');
SELECT is(pg_temp.outcome('TRUNCATE crm_core.journal_line CASCADE'),
          '55000: TRUNCATE on crm_core.journal_line is refused: its rows are append-only',
          'the journal cannot be truncated');
SELECT is(pg_temp.outcome('TRUNCATE crm_core.account_balance_slot', 'crm_core_app'),
          '42501: permission denied for table account_balance_slot',
          'the application cannot touch the kept balances');
SELECT matches(pg_temp.outcome(format($$UPDATE crm_core.journal_entry SET effective_date = '2021-01-01' WHERE business_id = %s AND id = 5012$$, :a)),
               '^55000: UPDATE on crm_core\.journal_entry_[0-9]+ is refused: posted journal entries are append-only$',
               'a posted entry keeps its date');

-- Corrections and retries.
SELECT is(pg_temp.value('SELECT crm_core.reverse_entry(5001) > 0'), 'true', 'reverse_entry() posts the mirror entry');
SELECT is(pg_temp.outcome('SELECT crm_core.reverse_entry(5001)'),
          format('23505: journal entry 5001 is already reversed by entry %s',
                 pg_temp.value('SELECT id FROM crm_core.journal_entry WHERE reverses_entry_id = 5001')),
          'an entry is reversed once');
SELECT is(pg_temp.value(format($$SELECT crm_core.post_entry(%s, '[{"account_id": 2000, "debit": 3}, {"account_id": 2001, "credit": 3}]',
                                                            idempotency_key => 'k-1')
                                    = crm_core.post_entry(%s, '[{"account_id": 2000, "debit": 3}, {"account_id": 2001, "credit": 3}]',
                                                          idempotency_key => 'k-1')$$, :b, :b)),
          'true', 'a retry with the same idempotency key returns the same entry');
SELECT matches(pg_temp.outcome(format($$SELECT crm_core.post_entry(%s, '[{"account_id": 2000, "debit": 4}, {"account_id": 2001, "credit": 4}]',
                                                                  idempotency_key => 'k-1')$$, :b)),
               '^23505: idempotency key k-1 of business [0-9]+ was already used by entry [0-9]+ with other content$',
               'an idempotency key reused with other content is refused');

-- The rules per line and per account, checked on the shard.
SELECT is(pg_temp.outcome(format($$UPDATE crm_core.account SET closed_at = now() WHERE business_id = %s AND id = 1005$$, :a)),
          'ok', 'an account is closed');
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5030, %1$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 5030, 1005, 1, NULL), (%1$s, 5030, 1003, NULL, 1);
    COMMIT;$$, :a)),
    '55000: account 1900 (id 1005) is closed', 'a closed account takes no posting');
-- post_entry() inserts its lines with INSERT ... SELECT, which Citus sends to the shards by
-- COPY: a refusal keeps its message but comes as XX000.
SELECT is(pg_temp.outcome(format($$SELECT crm_core.post_entry(%s, '[{"account_id": 1005, "debit": 1}, {"account_id": 1003, "credit": 1}]')$$, :a)),
          'XX000: account 1900 (id 1005) is closed', '... nor through post_entry()');
SELECT is(pg_temp.outcome(format($$INSERT INTO crm_core.fiscal_period (business_id, name, starts_on, ends_on, closed_at)
                                   VALUES (%s, 'FY2021', '2021-01-01', '2021-12-31', now())$$, :a)),
          'ok', 'a fiscal period is closed');
SELECT matches(pg_temp.outcome(format($$SELECT crm_core.post_entry(%s, '[{"account_id": 1000, "debit": 1}, {"account_id": 1003, "credit": 1}]',
                                                                  effective_date => '2021-06-30')$$, :a)),
               '^55000: journal entry [0-9]+ is dated 2021-06-30, inside a closed fiscal period \(2021-01-01 to 2021-12-31\)$',
               'a posting dated in a closed period is refused');
SELECT is(pg_temp.outcome(format($$SELECT crm_core.post_entry(%s, '[{"account_id": 1004, "debit": 5}, {"account_id": 1000, "credit": 5}]')$$, :a)),
          '23514: account 2100 (id 1004) would have debits 5 exceeding credits 0',
          'an overdraft rule is enforced at commit');
SELECT is(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5031, %1$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, currency) VALUES
        (%1$s, 5031, 1000, 1, NULL, 'USD'), (%1$s, 5031, 1003, NULL, 1, NULL);
    COMMIT;$$, :a)),
    '23514: journal line currency USD differs from account 1000''s currency EUR',
    'a line in another currency than its account is refused');

-- Tenants stay apart: a line of one business cannot use another's account; a query for one
-- business reads one shard; the application role posts and reads through the coordinator.
SELECT matches(pg_temp.outcome(format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5032, %1$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
        (%1$s, 5032, 2000, 1, NULL), (%1$s, 5032, 1003, NULL, 1);
    COMMIT;$$, :a)),
               format('^23503: account 2000 does not exist in business %s$', :a),
               'a line cannot use another tenant''s account');
SELECT is((SELECT string_agg(trim(line), ' ') FROM pg_temp.plan_of(format(
               'SELECT * FROM crm_core.journal_line WHERE business_id = %s', :a)) AS line
            WHERE line ~ 'Task Count'),
          'Task Count: 1', 'a query with the tenant in it reads one shard');
CREATE ROLE citus_test_clerk LOGIN IN ROLE crm_core_app;
SELECT crm_core.grant_business('citus_test_clerk', :b);
-- Tenant isolation (docs/tenants.md): the business is set for the transaction, and Citus
-- passes the setting on to the workers, where the shards' policies read it. One statement per
-- message: Citus propagates a SET LOCAL by sending the whole query string it came in. (Plain
-- INSERTs: Citus sends post_entry()'s INSERT ... SELECT to the shards as COPY, which
-- PostgreSQL refuses under row-level security.)
SELECT dblink_connect('clerk', pg_temp.connstr());
SELECT dblink_exec('clerk', 'SET ROLE citus_test_clerk');
SELECT dblink_exec('clerk', 'BEGIN');
SELECT dblink_exec('clerk', $$SET LOCAL citus.propagate_set_commands = 'local'$$);
SELECT dblink_exec('clerk', format($$SET LOCAL crm_core.business_id = '%s'$$, :b));
SELECT is(pg_temp.outcome_on('clerk', format($$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5040, %1$s);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (%1$s, 5040, 2000, 2, NULL), (%1$s, 5040, 2001, NULL, 2);
    DO $d$
    DECLARE
        mine bigint;
        others bigint;
    BEGIN
        SELECT count(*) INTO mine FROM crm_core.journal_line WHERE business_id = %1$s AND entry_id = 5040;
        SELECT count(*) INTO others FROM crm_core.journal_line WHERE business_id <> %1$s;
        IF mine <> 2 OR others <> 0 OR crm_core.account_balance(2000) IS NULL THEN
            RAISE EXCEPTION 'the clerk sees %% of its lines and %% of other businesses', mine, others;
        END IF;
    END $d$;
    COMMIT;$$, :b)),
          'ok', 'a login of the application role, acting for its business, posts and reads balances through the coordinator, and sees no other business''s rows on the workers');
SELECT dblink_disconnect('clerk');
SELECT is(pg_temp.outcome(format($$INSERT INTO crm_core.account_balance_slot (business_id, account_id, slot, debits) VALUES (%s, 2000, 99, 1000)$$, :b),
                          'citus_test_clerk'),
          '42501: permission denied for table account_balance_slot',
          '... and cannot write the kept balances');
SELECT is_empty('SELECT * FROM crm_core.check_balances()', 'after all of it, every kept balance equals its lines');
DROP ROLE citus_test_clerk;

SELECT * FROM finish();
