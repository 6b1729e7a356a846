-- Adversarial cases: doors an attacker or a careless application would try, each refused.
-- Real sessions (dblink) in a scratch database where a race needs two committed transactions.
BEGIN;
SELECT plan(4);
CREATE EXTENSION IF NOT EXISTS dblink;

CREATE FUNCTION pg_temp.connstr(database text) RETURNS text LANGUAGE sql AS $$
    SELECT format('host=%s port=%s user=%s dbname=%s',
                  split_part(current_setting('unix_socket_directories'), ',', 1),
                  current_setting('port'), current_user, database)
$$;
CREATE FUNCTION pg_temp.scratch() RETURNS text LANGUAGE sql AS $$
    SELECT 'crm_core_adversarial_' || pg_backend_pid()
$$;

SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE IF EXISTS %I', pg_temp.scratch()));
SELECT dblink_exec(pg_temp.connstr('postgres'), format('CREATE DATABASE %I', pg_temp.scratch()));
SELECT dblink_connect('poster', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_connect('closer', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('closer', $$
    CREATE EXTENSION crm_core;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'b');
    INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
        (1, 1, 'cash', 'Cash', 'asset', 'EUR'), (2, 1, 'fees', 'Fees', 'income', 'EUR');
    INSERT INTO crm_core.fiscal_period (business_id, name, starts_on, ends_on)
    VALUES (1, '2021', '2021-01-01', '2021-12-31');
$$);

-- A REPEATABLE READ transaction whose snapshot predates a period's closing (the closer waited
-- for in-flight postings; this one started after) must not post into the closed period.
SELECT dblink_exec('poster', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT n FROM dblink('poster', 'SELECT count(*) FROM crm_core.fiscal_period') AS t(n bigint);
SELECT dblink_exec('closer', $$UPDATE crm_core.fiscal_period SET closed_at = now() WHERE name = '2021'$$);
SELECT throws_like(
    $$SELECT dblink_exec('poster', 'INSERT INTO crm_core.journal_entry (id, business_id, effective_date)
                                   VALUES (1, 1, ''2021-06-01'')')$$,
    '%inside a closed fiscal period%',
    'REPEATABLE READ: a period closed after the snapshot refuses postings dated inside it');
SELECT dblink_exec('poster', 'ROLLBACK');

-- The same for an account closed after the snapshot.
SELECT dblink_exec('poster', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT n FROM dblink('poster', 'SELECT count(*) FROM crm_core.account') AS t(n bigint);
SELECT dblink_exec('closer', 'UPDATE crm_core.account SET closed_at = now() WHERE id = 2');
SELECT throws_like(
    $$SELECT dblink_exec('poster', 'INSERT INTO crm_core.journal_entry (id, business_id) VALUES (2, 1);
        INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
        VALUES (1, 2, 1, 5, NULL), (1, 2, 2, NULL, 5)')$$,
    '%closed%',
    'REPEATABLE READ: an account closed after the snapshot refuses postings');
SELECT dblink_exec('poster', 'ROLLBACK');

SELECT is((SELECT n FROM dblink('poster', 'SELECT 1') AS t(n int)), 1, 'the poster session is still usable');
SELECT is((SELECT n FROM dblink('poster', 'SELECT count(*) FROM crm_core.journal_entry') AS t(n bigint)),
          0::bigint, 'nothing was posted');

SELECT dblink_disconnect('poster');
SELECT dblink_disconnect('closer');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));
SELECT * FROM finish();
ROLLBACK;
