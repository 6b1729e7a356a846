-- The audit trail: one row per changed row with the changed columns' old and new values,
-- who, when, from where; the log itself is append-only and partitioned by month.
BEGIN;
SELECT plan(50);

CREATE ROLE audit_app NOLOGIN;
CREATE TABLE public.audit_debtor (
    business_id bigint, id bigint, name text, phone text, balance numeric, notes text,
    PRIMARY KEY (business_id, id));
CREATE TABLE public.audit_payment (id bigint PRIMARY KEY, amount numeric);
CREATE VIEW public.audit_debtor_view AS SELECT * FROM public.audit_debtor;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.audit_debtor, public.audit_payment TO audit_app;

SELECT lives_ok($$SELECT crm_core.audit_table('public.audit_debtor', ARRAY['phone', 'balance'])$$,
                'audit_table registers a table with chosen columns');
SELECT lives_ok($$SELECT crm_core.audit_table('public.audit_payment')$$,
                'audit_table registers a table with all columns');
SELECT throws_ok($$SELECT crm_core.audit_table('public.audit_payment')$$, '42710',
                 'table public.audit_payment is already audited', 'registering twice is refused');
SELECT throws_ok($$SELECT crm_core.audit_table('public.audit_debtor_view')$$, '42809',
                 'public.audit_debtor_view is not a table', 'a view is refused');
CREATE TABLE public.audit_other (id bigint PRIMARY KEY, x text);
SELECT throws_ok($$SELECT crm_core.audit_table('public.audit_other', ARRAY['x', 'nope', 'Nope'])$$,
                 '42703', 'table public.audit_other has no column Nope, nope',
                 'unknown columns are named in the error');
SELECT throws_ok($$SELECT crm_core.audit_table('public.audit_other', ARRAY[]::text[])$$, '22023',
                 'columns must list at least one column, or be NULL for all',
                 'an empty column list is refused');
SELECT is((SELECT count(*) FROM crm_core.audited_table WHERE relid = 'public.audit_other'::regclass),
          0::bigint, 'a refused registration leaves nothing behind');
SELECT throws_ok($$SELECT crm_core.audit_table('crm_core.audit_log')$$, '22023',
                 'crm_core.audit_log cannot audit itself', 'the audit log cannot audit itself');

SET LOCAL application_name = 'audit-test';
SET ROLE audit_app;
INSERT INTO public.audit_debtor VALUES (7, 1, 'Ana', '+34 600', 100.50, 'first');
UPDATE public.audit_debtor SET balance = 90.25, notes = 'second' WHERE id = 1;
UPDATE public.audit_debtor SET notes = 'third' WHERE id = 1;
DELETE FROM public.audit_debtor WHERE id = 1;
INSERT INTO public.audit_payment VALUES (1, 5);
RESET ROLE;

SELECT results_eq(
    $$SELECT operation, business_id, row_key, old_values, new_values FROM crm_core.audit_log
       WHERE relid = 'public.audit_debtor'::regclass ORDER BY id$$,
    $$VALUES ('INSERT', 7::bigint, '{"business_id": "7", "id": "1"}'::jsonb, NULL::jsonb,
              '{"phone": "+34 600", "balance": "100.50"}'::jsonb),
             ('UPDATE', 7, '{"business_id": "7", "id": "1"}', '{"balance": "100.50"}',
              '{"balance": "90.25"}'),
             ('DELETE', 7, '{"business_id": "7", "id": "1"}',
              '{"phone": "+34 600", "balance": "90.25"}', NULL)$$,
    'inserts, changes of watched columns and deletes are logged; unwatched changes are not');
SELECT is((SELECT string_agg(DISTINCT concat_ws('|', db_user, session_user_name, application_name,
                                                 table_name), ',')
             FROM crm_core.audit_log WHERE relid = 'public.audit_debtor'::regclass),
          concat_ws('|', 'audit_app', session_user, 'audit-test', 'public.audit_debtor'),
          'the log names current_user, session_user, application_name and the table');
SELECT is((SELECT count(DISTINCT txid) FROM crm_core.audit_log WHERE relid = 'public.audit_debtor'::regclass
             AND txid = txid_current()), 1::bigint, 'the transaction id is recorded');
SELECT is((SELECT count(*) FROM crm_core.audit_log WHERE relid = 'public.audit_debtor'::regclass
             AND logged_at = statement_timestamp()), 0::bigint,
          'logged_at is the statement time of each change (not this statement)');
SELECT ok((SELECT bool_and(logged_at <= statement_timestamp() AND logged_at >= now())
             FROM crm_core.audit_log WHERE relid = 'public.audit_debtor'::regclass),
          'logged_at lies within this transaction');
SELECT is((SELECT new_values FROM crm_core.audit_log WHERE relid = 'public.audit_payment'::regclass),
          '{"id": "1", "amount": "5"}'::jsonb, 'without a column list every column is logged');
SELECT ok(NOT has_table_privilege('audit_app', 'crm_core.audit_log', 'INSERT'),
          'writers need no privilege on the log (the trigger writes as its owner)');

-- A partitioned table: changes made through a partition are logged under the registered table.
CREATE TABLE public.audit_call (business_id bigint, id bigint, outcome text,
                                PRIMARY KEY (business_id, id)) PARTITION BY LIST (business_id);
CREATE TABLE public.audit_call_7 PARTITION OF public.audit_call FOR VALUES IN (7);
SELECT crm_core.audit_table('public.audit_call');
CREATE TABLE public.audit_call_8 PARTITION OF public.audit_call FOR VALUES IN (8);
INSERT INTO public.audit_call_7 VALUES (7, 1, 'promise');
INSERT INTO public.audit_call VALUES (8, 2, 'no answer');
SELECT results_eq($$SELECT table_name, business_id FROM crm_core.audit_log
                     WHERE relid = 'public.audit_call'::regclass ORDER BY id$$,
                  $$VALUES ('public.audit_call', 7::bigint), ('public.audit_call', 8::bigint)$$,
                  'rows written into partitions, old or new, are logged under the partitioned table');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgname = 'crm_core_audit' AND tgenabled = 'A'
             AND tgrelid IN ('public.audit_call_7'::regclass, 'public.audit_call_8'::regclass)),
          2::bigint, 'the audit trigger is ENABLE ALWAYS on every partition');

-- Replica mode does not skip auditing.
SET LOCAL session_replication_role = replica;
INSERT INTO public.audit_payment VALUES (2, 6);
SET LOCAL session_replication_role = origin;
SELECT is((SELECT count(*) FROM crm_core.audit_log WHERE relid = 'public.audit_payment'::regclass),
          2::bigint, 'changes under session_replication_role = replica are audited too');

-- The owner of an audited table (not a superuser) writes with a search_path of its own first:
-- the trigger, which writes the log as the log's owner (a superuser here), must run none of the
-- owner's functions or operators.
CREATE ROLE audit_owner NOLOGIN;
CREATE SCHEMA audit_own AUTHORIZATION audit_owner;
SET ROLE audit_owner;
CREATE TABLE audit_own.calls (called_by name, as_superuser boolean);
CREATE FUNCTION audit_own.record_call() RETURNS boolean LANGUAGE plpgsql AS $own$
DECLARE
    elevated boolean := (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
BEGIN
    INSERT INTO audit_own.calls VALUES (current_user, elevated);
    IF elevated THEN
        EXECUTE 'ALTER ROLE audit_owner SUPERUSER';
    END IF;
    RETURN true;
END
$own$;
CREATE FUNCTION audit_own.txid_current() RETURNS bigint LANGUAGE sql
    AS $own$ SELECT CASE WHEN audit_own.record_call() THEN pg_catalog.txid_current() END $own$;
CREATE FUNCTION audit_own.current_setting(text) RETURNS text LANGUAGE sql
    AS $own$ SELECT CASE WHEN audit_own.record_call() THEN pg_catalog.current_setting($1) END $own$;
CREATE FUNCTION audit_own.inet_client_addr() RETURNS inet LANGUAGE sql
    AS $own$ SELECT CASE WHEN audit_own.record_call() THEN pg_catalog.inet_client_addr() END $own$;
CREATE FUNCTION audit_own.regex(text, text) RETURNS boolean LANGUAGE sql
    AS $own$ SELECT audit_own.record_call() AND pg_catalog.textregexeq($1, $2) $own$;
CREATE OPERATOR audit_own.~ (LEFTARG = text, RIGHTARG = text, FUNCTION = audit_own.regex);
GRANT USAGE ON SCHEMA audit_own TO PUBLIC;
GRANT INSERT ON audit_own.calls TO PUBLIC;
CREATE TABLE audit_own.debt (business_id bigint, id bigint, amount numeric, phone text, note text,
                             PRIMARY KEY (business_id, id));
CREATE TABLE audit_own.contact (id bigint PRIMARY KEY, phone text, note text);
CREATE TABLE audit_own.call (business_id bigint, id bigint, outcome text,
                             PRIMARY KEY (business_id, id)) PARTITION BY LIST (business_id);
CREATE TABLE audit_own.call_1 PARTITION OF audit_own.call FOR VALUES IN (1);
CREATE FUNCTION audit_own.nothing() RETURNS trigger LANGUAGE plpgsql AS $own$BEGIN RETURN NULL; END$own$;
RESET ROLE;
SELECT crm_core.audit_table('audit_own.debt');
SELECT crm_core.audit_table('audit_own.contact', ARRAY['phone']);
SELECT crm_core.audit_table('audit_own.call');
SET ROLE audit_owner;
SET LOCAL search_path = audit_own, pg_catalog;
INSERT INTO audit_own.debt VALUES (1, 1, 100, '+34 600', 'x');
RESET search_path;
RESET ROLE;
SELECT is_empty('SELECT * FROM audit_own.calls',
                'the audit trigger ran none of the writer''s functions or operators');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'audit_owner'), false,
          'so the table''s owner did not become a superuser');
SELECT is((SELECT count(*) FROM crm_core.audit_log WHERE relid = 'audit_own.debt'::regclass), 1::bigint,
          'and the insert is audited');

-- The owner of an audited table cannot switch the audit off, nor remove rows unrecorded.
SET ROLE audit_owner;
SELECT throws_ok($$ALTER TABLE audit_own.debt DISABLE TRIGGER crm_core_audit$$, '42501',
                 'crm_core trigger crm_core_audit on audit_own.debt must stay enabled and named as crm_core made it',
                 'owner: disabling the audit trigger is refused');
SELECT throws_ok($$ALTER TABLE audit_own.debt DISABLE TRIGGER ALL$$, '42501',
                 'crm_core trigger crm_core_audit on audit_own.debt must stay enabled and named as crm_core made it',
                 'owner: DISABLE TRIGGER ALL is refused');
SELECT throws_ok($$ALTER TABLE audit_own.debt ENABLE TRIGGER crm_core_audit$$, '42501',
                 'crm_core trigger crm_core_audit on audit_own.debt must stay enabled and named as crm_core made it',
                 'owner: making it origin-only (skipped under replica) is refused');
SELECT throws_ok($$ALTER TRIGGER crm_core_audit ON audit_own.debt RENAME TO audit_off$$, '42501',
                 'crm_core trigger audit_off on audit_own.debt must stay enabled and named as crm_core made it',
                 'owner: renaming the audit trigger is refused');
SELECT throws_ok($$DROP TRIGGER crm_core_audit ON audit_own.debt$$, '42501',
                 'dropping crm_core trigger crm_core_audit on audit_own.debt is refused',
                 'owner: dropping the audit trigger is refused');
SELECT throws_ok($$CREATE OR REPLACE TRIGGER crm_core_audit AFTER INSERT ON audit_own.debt
                   FOR EACH ROW EXECUTE FUNCTION audit_own.nothing()$$, '42501',
                 'replacing crm_core trigger crm_core_audit on audit_own.debt is refused',
                 'owner: replacing the audit trigger by one of its own is refused');
SELECT throws_ok($$TRUNCATE audit_own.debt$$, '42501',
                 'TRUNCATE on audit_own.debt is refused: the table is audited',
                 'owner: TRUNCATE of an audited table is refused');
SELECT throws_ok($$DROP TRIGGER crm_core_audit_truncate ON audit_own.debt$$, '42501',
                 'dropping crm_core trigger crm_core_audit_truncate on audit_own.debt is refused',
                 'owner: dropping the TRUNCATE guard is refused');
SELECT throws_ok($$DROP TABLE audit_own.debt$$, '42501',
                 'dropping crm_core trigger crm_core_audit on audit_own.debt is refused',
                 'owner: dropping the audited table is refused');
SELECT throws_ok($$ALTER TABLE audit_own.debt ALTER COLUMN amount TYPE numeric USING 0$$, '42501',
                 'rewriting audited table audit_own.debt is refused',
                 'owner: rewriting its values (ALTER COLUMN ... TYPE ... USING) is refused');
SELECT throws_ok($$ALTER TABLE audit_own.contact RENAME COLUMN phone TO mobile$$, '42501',
                 'renaming audited column phone of audit_own.contact is refused',
                 'owner: renaming a watched column (which would stop its auditing) is refused');
SELECT lives_ok($$ALTER TABLE audit_own.contact RENAME COLUMN note TO remark$$,
                'owner: renaming a column that is not watched is allowed');
CREATE TABLE audit_own.call_2 PARTITION OF audit_own.call FOR VALUES IN (2);
SELECT throws_ok($$TRUNCATE audit_own.call_2$$, '42501',
                 'TRUNCATE on audit_own.call_2 is refused: the table is audited',
                 'owner: TRUNCATE of a partition created later is refused');
SELECT throws_ok($$TRUNCATE ONLY audit_own.call_1$$, '42501',
                 'TRUNCATE on audit_own.call_1 is refused: the table is audited',
                 'owner: TRUNCATE of a partition is refused');
SELECT throws_ok($$ALTER TABLE audit_own.call DETACH PARTITION audit_own.call_1$$, '42501',
                 'detaching audit_own.call_1 from its audited table is refused',
                 'owner: detaching a partition of an audited table is refused');
SELECT throws_ok($$DROP TABLE audit_own.call_1$$, '42501',
                 'dropping crm_core trigger crm_core_audit on audit_own.call_1 is refused',
                 'owner: dropping a partition of an audited table is refused');
UPDATE audit_own.debt SET amount = 90;
DELETE FROM audit_own.debt;
RESET ROLE;
SELECT results_eq($$SELECT operation FROM crm_core.audit_log WHERE relid = 'audit_own.debt'::regclass ORDER BY id$$,
                  $$VALUES ('INSERT'), ('UPDATE'), ('DELETE')$$,
                  'after every refused attempt the owner''s changes are still audited');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_own.call_2'::regclass
              AND tgname IN ('crm_core_audit', 'crm_core_audit_truncate') AND tgenabled = 'A'),
          2::bigint, 'a partition created later carries both audit triggers, ENABLE ALWAYS');
SELECT lives_ok($$TRUNCATE audit_own.debt$$, 'a superuser may still TRUNCATE an audited table');
SELECT lives_ok($$ALTER TABLE audit_own.call DETACH PARTITION audit_own.call_2$$,
                'a superuser may detach a partition of an audited table');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_own.call_2'::regclass
              AND tgfoid = 'crm_core.audit_trigger()'::regprocedure), 0::bigint,
          'the partition a superuser detached leaves the audit with it (no audit trigger left)');
SELECT 'audit_own.contact'::regclass::oid AS contact_oid \gset
DROP TABLE audit_own.contact;
SELECT is((SELECT count(*) FROM crm_core.audited_table WHERE relid = :contact_oid), 0::bigint,
          'a superuser may drop an audited table; its registration goes with it');

-- The log is append-only, and partitioned by month.
SELECT throws_ok($$UPDATE crm_core.audit_log SET db_user = 'nobody'$$, '55000',
                 'UPDATE on crm_core.audit_log_default is refused: its rows are append-only',
                 'the audit log cannot be updated');
SELECT throws_ok($$DELETE FROM crm_core.audit_log$$, '55000',
                 'DELETE on crm_core.audit_log_default is refused: its rows are append-only',
                 'the audit log cannot be deleted from');
SELECT throws_ok($$TRUNCATE crm_core.audit_log$$, '55000',
                 'TRUNCATE on crm_core.audit_log is refused: its rows are append-only',
                 'the audit log cannot be truncated');
-- Before any maintenance run, this month's rows wait in the default partition; premaking
-- skips that month (maintenance defers it) and makes the following ones.
SELECT cmp_ok(crm_core.audit_log_premake(3), '>=', 0, 'audit_log_premake runs right after install');
SELECT ok(to_regclass('crm_core.audit_log_p' || to_char((now() AT TIME ZONE 'UTC') + interval '1 month', 'YYYYMM'))
          IS NOT NULL, 'next month''s partition exists');
SELECT is(crm_core.audit_log_premake(3), 0, 'audit_log_premake creates only the missing months');
SELECT is((SELECT count(*) FROM pg_trigger t JOIN pg_inherits i ON i.inhrelid = t.tgrelid
            WHERE i.inhparent = 'crm_core.audit_log'::regclass
              AND t.tgname = 'crm_core_guard_truncate' AND t.tgenabled = 'A'),
          (SELECT count(*) FROM pg_inherits WHERE inhparent = 'crm_core.audit_log'::regclass),
          'every audit log partition, new ones included, is guarded');

SELECT * FROM finish();
ROLLBACK;
