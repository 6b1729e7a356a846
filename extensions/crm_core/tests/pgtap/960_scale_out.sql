-- The scale-out pieces on one node, without Citus: distribute() refuses clearly; the
-- account_balances view answers as account_balance(id); sealing finds every business here
-- and nothing to run on workers. (On a Citus cluster: tests/citus/.)
BEGIN;
SELECT plan(8);

SELECT throws_ok('SELECT crm_core.distribute()', '55000',
                 'crm_core.distribute() needs the citus extension in this database',
                 'distribute() without Citus says what is missing');
SELECT results_eq(
    'SELECT relid::text, placement FROM crm_core.scale_out_table WHERE by_extension ORDER BY 1',
    $$VALUES ('crm_core.account', 'business'), ('crm_core.account_balance_slot', 'business'),
             ('crm_core.business', 'reference'), ('crm_core.business_grant', 'reference'),
             ('crm_core.fiscal_period', 'business'),
             ('crm_core.journal_entry', 'business'), ('crm_core.journal_line', 'business'),
             ('crm_core.ledger_block', 'business'), ('crm_core.ledger_sealed_entry', 'business'),
             ('crm_core.seal_progress', 'business')$$,
    'scale_out_table lists the ledger''s tables: business and its grants reference tables, the rest by business');
SELECT ok(NOT has_function_privilege('crm_core_app', 'crm_core.distribute()', 'EXECUTE'),
          'the application role cannot call distribute()');

INSERT INTO crm_core.business (id, name) VALUES (961, 'Scale A'), (962, 'Scale B');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
    (96101, 961, '1000', 'Cash', 'asset', 'EUR'), (96102, 961, '4000', 'Income', 'income', 'EUR'),
    (96201, 962, '1000', 'Cash', 'asset', 'EUR'), (96202, 962, '2000', 'Wallets', 'liability', 'EUR');
SELECT crm_core.post_entry(961, '[{"account_id": 96101, "debit": 12.5}, {"account_id": 96102, "credit": 12.5}]');
SELECT crm_core.post_entry(962, '[{"account_id": 96201, "debit": 3}, {"account_id": 96202, "credit": 3}]');
SELECT results_eq(
    'SELECT business_id, account_id, balance FROM crm_core.account_balances WHERE business_id IN (961, 962) ORDER BY 2',
    'SELECT business_id, id, crm_core.account_balance(id) FROM crm_core.account WHERE business_id IN (961, 962) ORDER BY id',
    'account_balances shows what account_balance(id) says, in the normal side');
SELECT results_eq(
    'SELECT balance FROM crm_core.account_balances WHERE business_id = 961 ORDER BY account_id',
    $$VALUES (12.5::numeric), (12.5)$$, 'an asset and an income account, both in their normal side');
SELECT ok((SELECT array_agg(b) FROM crm_core._ledger_businesses_here() AS b)
          @> ARRAY[961, 962]::bigint[], 'on one node, every business is sealed here');
SELECT is_empty('SELECT * FROM crm_core._seal_on_workers(1000)', 'and there are no workers to seal on');

-- A maintenance role given what sealing needs seals without a grant on these steps.
CREATE ROLE crm_core_960_sealer;
GRANT USAGE ON SCHEMA crm_core TO crm_core_960_sealer;
GRANT EXECUTE ON FUNCTION crm_core.seal_ledger(integer) TO crm_core_960_sealer;
GRANT SELECT ON ALL TABLES IN SCHEMA crm_core TO crm_core_960_sealer;
GRANT INSERT, UPDATE ON crm_core.ledger_block, crm_core.ledger_sealed_entry, crm_core.seal_progress
    TO crm_core_960_sealer;
SET ROLE crm_core_960_sealer;
SELECT lives_ok('SELECT * FROM crm_core.seal_ledger()',
                'a role allowed to seal runs seal_ledger() and its steps');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
