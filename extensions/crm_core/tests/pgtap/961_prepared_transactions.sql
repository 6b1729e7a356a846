-- A prepared transaction (PREPARE TRANSACTION) that posted to an account with an overdraft rule
-- keeps that account's guard slot locked until COMMIT PREPARED or ROLLBACK PREPARED: every other
-- posting to the account waits for it at commit (item 18 of issue 10). crm_core cannot end it
-- for the application, but shows it: crm_core.prepared_ledger_transactions() lists it with the
-- accounts it holds, and crm-core-service turns it into a health warning. Real sessions (dblink)
-- in a scratch database.
BEGIN;
SELECT plan(7);
\set scratch_prefix crm_core_prepared_
\ir lib/scratch.sql

SELECT dblink_connect('app', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_connect('other', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('app', $$
    CREATE EXTENSION crm_core;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'b');
    INSERT INTO crm_core.account (id, business_id, code, name, kind, currency, overdraft) VALUES
        (1, 1, 'wallet', 'Wallet', 'liability', 'EUR', 'debits_must_not_exceed_credits'),
        (2, 1, 'cash', 'Cash', 'asset', 'EUR', 'none');
    -- Fund the wallet once, so that its guard slot exists.
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (1, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 1, 2, 100, NULL), (1, 1, 1, NULL, 100);
$$);

SELECT is((SELECT n FROM dblink('other', 'SELECT count(*) FROM crm_core.prepared_ledger_transactions()')
           AS t(n bigint)), 0::bigint, 'no prepared transaction: nothing listed');

-- The application prepares a payout from the wallet and leaves it prepared (its name is
-- unique in the cluster: this file's scratch database).
SELECT dblink_exec('app', format($$
    BEGIN;
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (2, 1);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (1, 2, 1, 10, NULL), (1, 2, 2, NULL, 10);
    PREPARE TRANSACTION %L;
$$, 'payout-' || pg_temp.scratch()));
SELECT is((SELECT format('%s by %s in %s holds %s', gid, owner, database, ruled_accounts)
             FROM dblink('other', 'SELECT gid, owner, database, ruled_accounts
                                     FROM crm_core.prepared_ledger_transactions()')
                  AS t(gid text, owner name, database name, ruled_accounts bigint[])),
          format('payout-%s by %s in %s holds {1}', pg_temp.scratch(), current_user, pg_temp.scratch()),
          'the prepared payout is listed with the overdraft-rule account it holds');
SELECT ok((SELECT prepared_at <= clock_timestamp() FROM dblink('other',
               'SELECT prepared_at FROM crm_core.prepared_ledger_transactions()') AS t(prepared_at timestamptz)),
          'with the moment it was prepared');

-- Another posting to the wallet waits for it at commit: here it gives up after lock_timeout.
SELECT dblink_exec('other', $$SET lock_timeout = '200ms'$$);
SELECT throws_ok($$SELECT dblink_exec('other', 'INSERT INTO crm_core.journal_entry (id, business_id) VALUES (3, 1);
                     INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
                     VALUES (1, 3, 1, 5, NULL), (1, 3, 2, NULL, 5)')$$,
                 '55P03', 'canceling statement due to lock timeout',
                 'another posting to the wallet waits for the prepared transaction');
SELECT lives_ok($$SELECT dblink_exec('other', 'INSERT INTO crm_core.journal_entry (id, business_id) VALUES (4, 1);
                    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
                    VALUES (1, 4, 2, 5, NULL), (1, 4, 2, NULL, 5)')$$,
                'a posting to an account without a rule does not');

SELECT dblink_exec('other', format('ROLLBACK PREPARED %L', 'payout-' || pg_temp.scratch()));
SELECT is((SELECT n FROM dblink('other', 'SELECT count(*) FROM crm_core.prepared_ledger_transactions()')
           AS t(n bigint)), 0::bigint, 'once rolled back, nothing is listed');
SELECT lives_ok($$SELECT dblink_exec('other', 'INSERT INTO crm_core.journal_entry (id, business_id) VALUES (5, 1);
                    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
                    VALUES (1, 5, 1, 5, NULL), (1, 5, 2, NULL, 5)')$$,
                'and the wallet takes postings again');

SELECT dblink_disconnect('app');
SELECT dblink_disconnect('other');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I', pg_temp.scratch()));
SELECT * FROM finish();
ROLLBACK;
