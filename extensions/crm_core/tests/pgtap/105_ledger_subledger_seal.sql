-- A line's subledger is sealed with it: moving a sealed payment to another loan (as a superuser
-- with the guards off) is caught by verify_ledger(), and lines without a subledger keep the
-- hashes they had before the column existed (tests/unit: added_columns_are_sealed_only_when_set).
-- Sealing needs committed rows: a scratch database through dblink, dropped at the end. No
-- transaction block here: a transaction id held by this session would keep the rows unsealable.
SELECT plan(3);
\set scratch_prefix crm_core_subledger_seal_
\ir lib/scratch.sql

CREATE FUNCTION pg_temp.q(sql text) RETURNS text LANGUAGE sql AS $$
    SELECT v FROM dblink('s', sql) AS t(v text)
$$;
SELECT dblink_connect('s', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('s', $setup$
    CREATE EXTENSION crm_core;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'lender');
    INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
    VALUES (1, 1, '1000', 'Cash', 'asset', 'EUR'), (2, 1, '1200', 'Loans', 'asset', 'EUR');
    DO $$BEGIN
        PERFORM crm_core.post_entry(1, '[{"account_id": 2, "debit": 100, "subledger": 501},
                                         {"account_id": 1, "credit": 100}]');
        PERFORM crm_core.post_entry(1, '[{"account_id": 2, "debit": 50, "subledger": 502},
                                         {"account_id": 1, "credit": 50}]');
    END$$$setup$);
SELECT is(pg_temp.q('SELECT sum(rows_sealed) FROM crm_core.seal_ledger()'), '6',
          'entries with subledger lines are sealed');
SELECT is(pg_temp.q('SELECT bool_and(ok) FROM crm_core.verify_ledger()'), 't',
          'and verify as sealed');
SELECT is(pg_temp.q($$
    SET session_replication_role = replica;
    ALTER TABLE crm_core.journal_line DISABLE TRIGGER crm_core_guard_posted;
    UPDATE crm_core.journal_line SET subledger = 502 WHERE subledger = 501;
    SELECT string_agg(broken_row_kind || ' ' || problem, '; ') FROM crm_core.verify_ledger() WHERE NOT ok$$),
    'journal_line sealed row was changed',
    'a sealed line moved to another subledger is caught');

SELECT dblink_disconnect('s');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
