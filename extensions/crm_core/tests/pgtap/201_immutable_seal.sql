-- Sealing: only committed rows older than every running transaction are sealed, in
-- deterministic blocks; verification passes untouched and catches every tampering.
-- Ledger rows are committed through dblink (sealing needs committed rows) and removed at the end.
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('seal_setup', format('host=%s port=%s dbname=%s',
       split_part(current_setting('unix_socket_directories'), ',', 1),
       current_setting('port'), current_database())) \gset

-- Nothing in this transaction takes a transaction id before the first seal.
BEGIN;
SELECT dblink_exec('seal_setup', $setup$
    INSERT INTO crm_core.business (id, name) VALUES (9001, 'seal test a'), (9002, 'seal test b');
    INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
        (900001, 9001, 'cash', 'Cash', 'asset', 'EUR'), (900002, 9001, 'fees', 'Fees', 'income', 'EUR'),
        (900003, 9002, 'cash', 'Cash', 'asset', 'EUR'), (900004, 9002, 'fees', 'Fees', 'income', 'EUR');
    INSERT INTO crm_core.journal_entry (id, business_id, memo)
    SELECT 900000 + g, 9001, 'entry ' || g FROM generate_series(1, 5) AS g
    UNION ALL SELECT 910000 + g, 9002, 'entry ' || g FROM generate_series(1, 3) AS g;
    INSERT INTO crm_core.journal_line (id, business_id, entry_id, account_id, debit, credit)
    SELECT 900000 + g * 2 - 1, 9001, 900000 + g, 900001, 10.50 * g, NULL FROM generate_series(1, 5) AS g
    UNION ALL SELECT 900000 + g * 2, 9001, 900000 + g, 900002, NULL, 10.50 * g FROM generate_series(1, 5) AS g
    UNION ALL SELECT 910000 + g * 2 - 1, 9002, 910000 + g, 900003, g, NULL FROM generate_series(1, 3) AS g
    UNION ALL SELECT 910000 + g * 2, 9002, 910000 + g, 900004, NULL, g FROM generate_series(1, 3) AS g;
    INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (900050, 9001, 'draft');
$setup$) \gset

-- A database owner who is not a superuser plants public.to_char(date, text): for a date it is a
-- better match than pg_catalog's, and "$user", public is a superuser's search_path too. Sealing,
-- verifying and digesting (run by a superuser) must never call it. (Roles and functions created
-- here take this transaction's id only now, after the rows above were committed.)
CREATE ROLE seal_db_owner NOLOGIN;
GRANT CREATE, USAGE ON SCHEMA public TO seal_db_owner;
SET ROLE seal_db_owner;
CREATE TABLE public.seal_planted_calls (called_by name, as_superuser boolean);
CREATE FUNCTION public.to_char(day date, format text) RETURNS text LANGUAGE plpgsql AS $planted$
DECLARE
    elevated boolean := (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
BEGIN
    INSERT INTO public.seal_planted_calls VALUES (current_user, elevated);
    IF elevated THEN
        EXECUTE 'ALTER ROLE seal_db_owner SUPERUSER';
    END IF;
    RETURN pg_catalog.to_char(day::timestamp, format);
END
$planted$;
-- And an = for bigints, picked before pg_catalog's by a search_path that names public first.
CREATE FUNCTION public.seal_planted_eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS $planted$
BEGIN
    INSERT INTO public.seal_planted_calls
    VALUES (current_user, (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user));
    RETURN a OPERATOR(pg_catalog.=) b;
END
$planted$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.seal_planted_eq);
GRANT INSERT ON public.seal_planted_calls TO PUBLIC;
RESET ROLE;

CREATE TEMP TABLE first_seal AS
SELECT * FROM crm_core.seal_ledger(2) WHERE business_id IN (9001, 9002);
-- A posting committed after the seal stays unsealed. (That only rows older than every running
-- transaction are sealed, whichever session runs it: tests/isolation/specs/seal_sessions.spec.)
SELECT dblink_exec('seal_setup', $late$
    INSERT INTO crm_core.journal_entry (id, business_id) VALUES (900100, 9001);
    INSERT INTO crm_core.journal_line (id, business_id, entry_id, account_id, debit, credit)
    VALUES (900101, 9001, 900100, 900001, 1, NULL), (900102, 9001, 900100, 900002, NULL, 1);
$late$) \gset

SELECT plan(37);

SELECT results_eq($$SELECT business_id, blocks_sealed, rows_sealed FROM first_seal ORDER BY 1$$,
                  $$VALUES (9001::bigint, 3, 15::bigint), (9002::bigint, 2, 9::bigint)$$,
                  'seal_ledger seals every committed posted entry with its lines, 2 entries a block');
SELECT results_eq($$SELECT entry_id, line_ids, length(line_hashes) FROM crm_core.ledger_sealed_entry
                     WHERE business_id = 9001 AND block_no = 1 ORDER BY position$$,
                  $$VALUES (900001::bigint, '{900001,900002}'::bigint[], 64),
                           (900002, '{900003,900004}', 64)$$,
                  'a block holds each entry followed by its lines, in id order');
SELECT ok(NOT EXISTS (SELECT FROM crm_core.ledger_sealed_entry WHERE business_id = 9001
                       AND entry_id = 900050),
          'a draft is not sealed');
SELECT results_eq($$SELECT sealed_blocks, unsealed_rows FROM crm_core.seal_status WHERE business_id = 9001$$,
                  $$VALUES (3::bigint, 3::bigint)$$, 'seal_status counts blocks and unsealed rows');
SELECT ok((SELECT oldest_unsealed_at IS NOT NULL AND last_sealed_at IS NOT NULL
             FROM crm_core.seal_status WHERE business_id = 9001), 'seal_status shows both times');
SELECT is((SELECT previous_hash FROM crm_core.ledger_block WHERE business_id = 9001 AND block_no = 2),
          (SELECT block_hash FROM crm_core.ledger_block WHERE business_id = 9001 AND block_no = 1),
          'each block carries the previous block''s hash');

-- Rows written by this very transaction are never sealed.
SAVEPOINT own_rows;
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (900200, 9001);
INSERT INTO crm_core.journal_line (id, business_id, entry_id, account_id, debit, credit)
VALUES (900201, 9001, 900200, 900001, 2, NULL), (900202, 9001, 900200, 900002, NULL, 2);
SELECT is((SELECT count(*) FROM crm_core.seal_ledger(2) WHERE business_id = 9001), 0::bigint,
          'rows of a transaction still running (this one) are not sealed');
ROLLBACK TO SAVEPOINT own_rows;

SELECT results_eq($$SELECT business_id, ok, blocks_checked, rows_checked, problem
                      FROM crm_core.verify_ledger() WHERE business_id IN (9001, 9002) ORDER BY 1$$,
                  $$VALUES (9001::bigint, true, 3::bigint, 15::bigint, NULL::text),
                           (9002::bigint, true, 2::bigint, 9::bigint, NULL::text)$$,
                  'verify_ledger passes on an untouched ledger');
SELECT matches(crm_core.ledger_digest(9001), '^crm_core-ledger-v1 9001:3:[0-9a-f]{64}$',
               'ledger_digest names the chain head');
CREATE TEMP TABLE kept AS SELECT crm_core.ledger_digest(9001) AS digest;
SELECT is((SELECT ok FROM crm_core.verify_ledger(9001, (SELECT digest FROM kept))), true,
          'verification against the kept digest passes');
SELECT throws_ok($$SELECT * FROM crm_core.verify_ledger(9001, 'not a digest')$$, '22023',
                 'ledger digest must start with "crm_core-ledger-v1"', 'a malformed digest is refused');
SET LOCAL search_path = public, pg_catalog;
CREATE TEMP TABLE under_hostile_path AS
    SELECT crm_core.ledger_digest() AS digest, (SELECT count(*) FROM crm_core.verify_ledger()) AS verified;
RESET search_path;
SELECT is_empty('SELECT * FROM public.seal_planted_calls',
                'sealing, verifying and digesting never ran the to_char or = a database owner planted in public');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'seal_db_owner'), false,
          'so the database owner did not become a superuser');

-- An auditor (crm_core_readonly) verifies the chain against a kept digest, and gains nothing else.
SELECT crm_core.ledger_digest(9001) AS kept_digest \gset
-- (tenant isolation: the auditor acts for the business it verifies)
SELECT crm_core.grant_business('crm_core_readonly', 9001);
SET crm_core.business_id = '9001';
SET ROLE crm_core_readonly;
SELECT results_eq(format('SELECT ok, blocks_checked FROM crm_core.verify_ledger(9001, %L)', :'kept_digest'),
                  $$VALUES (true, 3::bigint)$$,
                  'crm_core_readonly can run verify_ledger() with a digest');
SELECT is(crm_core.ledger_digest(9001), :'kept_digest', 'and ledger_digest()');
RESET ROLE;
RESET crm_core.business_id;
SELECT ok(NOT has_function_privilege('crm_core_readonly', 'crm_core.seal_ledger(integer)', 'EXECUTE')
          AND NOT has_table_privilege('crm_core_readonly', 'crm_core.ledger_sealed_entry', 'INSERT, UPDATE, DELETE, TRUNCATE')
          AND NOT has_table_privilege('crm_core_readonly', 'crm_core.ledger_block', 'INSERT, UPDATE, DELETE, TRUNCATE')
          AND NOT has_table_privilege('crm_core_readonly', 'crm_core.seal_progress', 'SELECT, INSERT, UPDATE, DELETE')
          AND NOT has_table_privilege('crm_core_readonly', 'crm_core.journal_line', 'INSERT, UPDATE, DELETE, TRUNCATE'),
          'crm_core_readonly still cannot seal nor write the ledger or its seals');
CREATE TEMP TABLE kept_all AS SELECT crm_core.ledger_digest() AS digest;

-- The seal tables are append-only themselves.
SELECT throws_ok($$UPDATE crm_core.ledger_block SET sealed_by = 'me'$$, '55000',
                 'UPDATE on crm_core.ledger_block is refused: its rows are append-only',
                 'blocks cannot be updated');
SELECT throws_ok($$DELETE FROM crm_core.ledger_sealed_entry$$, '55000',
                 'DELETE on crm_core.ledger_sealed_entry is refused: its rows are append-only',
                 'sealed rows cannot be deleted');

-- What a superuser can still do, and how verification catches it.
CREATE FUNCTION pg_temp.verdict(business bigint DEFAULT 9001)
RETURNS TABLE (broken_block bigint, broken_row_kind text, broken_row_id bigint, problem text)
LANGUAGE sql AS $$
    SELECT broken_block, broken_row_kind, broken_row_id, problem
      FROM crm_core.verify_ledger(business, (SELECT digest FROM kept)) WHERE NOT ok
$$;
CREATE FUNCTION pg_temp.verdict_of_all(business bigint)
RETURNS TABLE (ok boolean, broken_block bigint, broken_row_kind text, broken_row_id bigint, problem text)
LANGUAGE sql AS $$
    SELECT ok, broken_block, broken_row_kind, broken_row_id, problem
      FROM crm_core.verify_ledger(NULL, (SELECT digest FROM kept_all)) WHERE business_id = business
$$;
SET LOCAL session_replication_role = replica;  -- skips the ledger's own and FK triggers

SAVEPOINT tamper;
ALTER TABLE crm_core.journal_line DISABLE TRIGGER crm_core_guard_posted;
UPDATE crm_core.journal_line SET debit = 999 WHERE id = 900005;
SELECT results_eq('SELECT * FROM pg_temp.verdict()',
                  $$VALUES (2::bigint, 'journal_line', 900005::bigint, 'sealed row was changed')$$,
                  'an amount edited with the guards disabled is caught, block and row named');
ROLLBACK TO SAVEPOINT tamper;

ALTER TABLE crm_core.journal_entry DISABLE TRIGGER crm_core_guard_posted;
UPDATE crm_core.journal_entry SET memo = 'rewritten' WHERE id = 900005;
SELECT results_eq('SELECT * FROM pg_temp.verdict()',
                  $$VALUES (3::bigint, 'journal_entry', 900005::bigint, 'sealed row was changed')$$,
                  'an edited entry is caught');
ROLLBACK TO SAVEPOINT tamper;

ALTER TABLE crm_core.journal_line DISABLE TRIGGER crm_core_guard_posted;
DELETE FROM crm_core.journal_line WHERE id = 900006;
SELECT results_eq('SELECT * FROM pg_temp.verdict()',
                  $$VALUES (2::bigint, 'journal_line', 900006::bigint, 'sealed row is missing (deleted)')$$,
                  'a deleted row is caught');
ROLLBACK TO SAVEPOINT tamper;

ALTER TABLE crm_core.journal_line DISABLE TRIGGER crm_core_guard_posted;
INSERT INTO crm_core.journal_line (id, business_id, entry_id, account_id, debit, credit)
VALUES (900099, 9001, 900001, 900001, 5, NULL);
SELECT results_eq('SELECT * FROM pg_temp.verdict()',
                  $$VALUES (1::bigint, 'journal_line', 900099::bigint, 'row inserted into a sealed entry')$$,
                  'a row inserted into a sealed range is caught');
ROLLBACK TO SAVEPOINT tamper;

ALTER TABLE crm_core.ledger_block DISABLE TRIGGER crm_core_guard_row;
UPDATE crm_core.ledger_block SET block_no = 100 + block_no WHERE business_id = 9001 AND block_no IN (1, 2);
UPDATE crm_core.ledger_block SET block_no = 103 - block_no WHERE business_id = 9001 AND block_no > 100;
SELECT results_eq('SELECT broken_block, problem FROM pg_temp.verdict()',
                  $$VALUES (1::bigint, 'block does not chain to the previous block''s hash (blocks reordered or replaced)')$$,
                  'reordered blocks are caught');
ROLLBACK TO SAVEPOINT tamper;

ALTER TABLE crm_core.ledger_block DISABLE TRIGGER crm_core_guard_row;
UPDATE crm_core.ledger_block SET block_hash = sha256('forged') WHERE business_id = 9001 AND block_no = 2;
SELECT results_eq('SELECT broken_block, problem FROM pg_temp.verdict()',
                  $$VALUES (2::bigint, 'block hash does not match its rows (block replaced or rows reordered)')$$,
                  'a replaced block hash is caught');
ROLLBACK TO SAVEPOINT tamper;

ALTER TABLE crm_core.ledger_sealed_entry DISABLE TRIGGER crm_core_guard_row;
UPDATE crm_core.ledger_sealed_entry
   SET line_ids = ARRAY[line_ids[2], line_ids[1]],
       line_hashes = substr(line_hashes, 33, 32) || substr(line_hashes, 1, 32)
 WHERE business_id = 9001 AND entry_id = 900005;
SELECT results_eq('SELECT broken_block, problem FROM pg_temp.verdict()',
                  $$VALUES (3::bigint, 'block hash does not match its rows (block replaced or rows reordered)')$$,
                  'rows reordered inside a block are caught');
ROLLBACK TO SAVEPOINT tamper;

ALTER TABLE crm_core.ledger_block DISABLE TRIGGER crm_core_guard_row;
DELETE FROM crm_core.ledger_block WHERE business_id = 9001 AND block_no = 2;
SELECT results_eq('SELECT broken_block, problem FROM pg_temp.verdict()',
                  $$VALUES (2::bigint, 'block 2 is missing (chain jumps to block 3)')$$,
                  'a deleted block is caught');
ROLLBACK TO SAVEPOINT tamper;

ALTER TABLE crm_core.ledger_block DISABLE TRIGGER crm_core_guard_row;
ALTER TABLE crm_core.ledger_sealed_entry DISABLE TRIGGER crm_core_guard_row;
DELETE FROM crm_core.ledger_sealed_entry WHERE business_id = 9001 AND block_no = 3;
DELETE FROM crm_core.ledger_block WHERE business_id = 9001 AND block_no = 3;
SELECT results_eq('SELECT broken_block, problem FROM pg_temp.verdict()',
                  $$VALUES (3::bigint, 'block differs from the digest kept outside the database')$$,
                  'a chain cut short is caught by the kept digest');
ROLLBACK TO SAVEPOINT tamper;

-- A business deleted or renumbered (replica mode skips the foreign keys) is not skipped: every
-- chain found, and every business the digest names, is reported.
DELETE FROM crm_core.business WHERE id = 9002;
SELECT results_eq('SELECT * FROM pg_temp.verdict_of_all(9002)',
                  $$VALUES (false, NULL::bigint, 'business', 9002::bigint,
                            'business row is missing (deleted or renumbered) but its sealed chain is here')$$,
                  'a deleted business row is reported broken, not skipped');
SELECT matches(crm_core.ledger_digest(), ' 9002:2:[0-9a-f]{64}',
               'ledger_digest still covers the chain of a business whose row is gone');
ROLLBACK TO SAVEPOINT tamper;

UPDATE crm_core.business SET id = 9003 WHERE id = 9002;
SELECT results_eq('SELECT * FROM pg_temp.verdict_of_all(9002)',
                  $$VALUES (false, NULL::bigint, 'business', 9002::bigint,
                            'business row is missing (deleted or renumbered) but its sealed chain is here')$$,
                  'a renumbered business is reported under the number its chain was sealed with');
ROLLBACK TO SAVEPOINT tamper;

ALTER TABLE crm_core.ledger_block DISABLE TRIGGER crm_core_guard_row;
ALTER TABLE crm_core.ledger_sealed_entry DISABLE TRIGGER crm_core_guard_row;
DELETE FROM crm_core.ledger_sealed_entry WHERE business_id = 9002;
DELETE FROM crm_core.ledger_block WHERE business_id = 9002;
DELETE FROM crm_core.business WHERE id = 9002;
SELECT results_eq('SELECT * FROM pg_temp.verdict_of_all(9002)',
                  $$VALUES (false, 2::bigint, 'business', 9002::bigint,
                            'business in the digest is missing with its whole chain (deleted or renumbered)')$$,
                  'a business removed with its whole chain is reported broken by the digest');
SELECT is((SELECT count(*) FROM crm_core.verify_ledger(9002)), 0::bigint,
          'without the digest nothing is left to verify for it');
ROLLBACK TO SAVEPOINT tamper;

SELECT results_eq($$SELECT business_id, ok FROM crm_core.verify_ledger(NULL, (SELECT digest FROM kept_all))
                     WHERE business_id IN (9001, 9002) ORDER BY 1$$,
                  $$VALUES (9001::bigint, true), (9002::bigint, true)$$,
                  'untouched, every business verifies against the digest of all');
SELECT is((SELECT count(*) FROM pg_temp.verdict(9002)), 0::bigint,
          'tampering in one business leaves the other verified');
SELECT is((SELECT count(*) FROM pg_temp.verdict()), 0::bigint,
          'after rolling the tampering back the chain verifies again');

SELECT throws_ok($$SELECT * FROM crm_core.seal_ledger(0)$$, '22023',
                 'entries_per_block must be between 1 and 100000, not 0', 'a block size of 0 is refused');
SELECT ok(NOT has_function_privilege('crm_core_readonly', 'crm_core.seal_ledger(integer)', 'EXECUTE')
          AND has_function_privilege('crm_core_readonly', 'crm_core.verify_ledger(bigint, text)', 'EXECUTE'),
          'the read-only role verifies but does not seal');

SELECT * FROM finish();
ROLLBACK;

-- Remove the committed test rows (as a superuser, the only one who may).
SELECT dblink_exec('seal_setup', $cleanup$
    SET session_replication_role = replica;
    ALTER TABLE crm_core.journal_line DISABLE TRIGGER crm_core_guard_posted;
    ALTER TABLE crm_core.journal_entry DISABLE TRIGGER crm_core_guard_posted;
    DELETE FROM crm_core.journal_line WHERE business_id IN (9001, 9002);
    DELETE FROM crm_core.journal_entry WHERE business_id IN (9001, 9002);
    DELETE FROM crm_core.account_balance_slot WHERE business_id IN (9001, 9002);
    DELETE FROM crm_core.account WHERE business_id IN (9001, 9002);
    DELETE FROM crm_core.business WHERE id IN (9001, 9002);
    ALTER TABLE crm_core.journal_line ENABLE ALWAYS TRIGGER crm_core_guard_posted;
    ALTER TABLE crm_core.journal_entry ENABLE ALWAYS TRIGGER crm_core_guard_posted;
$cleanup$) \gset
SELECT dblink_disconnect('seal_setup') \gset
