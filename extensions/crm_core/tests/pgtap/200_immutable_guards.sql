-- Append-only guards: every door to change history is refused, for the owner and for
-- application roles, on the table and its partitions, also under session_replication_role.
BEGIN;
SELECT plan(62);

CREATE ROLE imm_owner NOLOGIN;
CREATE ROLE imm_app NOLOGIN;
GRANT CREATE, USAGE ON SCHEMA public TO imm_owner;

CREATE TABLE public.imm_events (id bigint PRIMARY KEY, note text) PARTITION BY RANGE (id);
CREATE TABLE public.imm_events_1 PARTITION OF public.imm_events FOR VALUES FROM (0) TO (100);
CREATE TABLE public.imm_plain (id bigint PRIMARY KEY, note text);
CREATE VIEW public.imm_view AS SELECT 1 AS one;
ALTER TABLE public.imm_events OWNER TO imm_owner;
ALTER TABLE public.imm_events_1 OWNER TO imm_owner;
ALTER TABLE public.imm_plain OWNER TO imm_owner;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON public.imm_events, public.imm_events_1,
    public.imm_plain TO imm_app;
-- A trigger function of the owner's that lets every change through.
SET ROLE imm_owner;
CREATE FUNCTION public.imm_let_through() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END; END$$;
RESET ROLE;

SELECT lives_ok($$SELECT crm_core.make_append_only('public.imm_events')$$,
                'make_append_only accepts a partitioned table');
SELECT lives_ok($$SELECT crm_core.make_append_only('public.imm_plain')$$,
                'make_append_only accepts a plain table');
SELECT throws_ok($$SELECT crm_core.make_append_only('public.imm_plain')$$, '42710',
                 'table public.imm_plain is already append-only', 'registering twice is refused');
SELECT throws_ok($$SELECT crm_core.make_append_only('public.imm_events_1')$$, '42710',
                 'table public.imm_events_1 is a partition of an append-only table',
                 'a partition of a guarded table is already guarded');
SELECT throws_ok($$SELECT crm_core.make_append_only('public.imm_view')$$, '42809',
                 'public.imm_view is not a table', 'a view is refused');

-- A partition created later, and one attached later, get the guards.
SET ROLE imm_owner;
CREATE TABLE public.imm_events_2 PARTITION OF public.imm_events FOR VALUES FROM (100) TO (200);
CREATE TABLE public.imm_events_3 (id bigint PRIMARY KEY, note text);
ALTER TABLE public.imm_events ATTACH PARTITION public.imm_events_3 FOR VALUES FROM (200) TO (300);
RESET ROLE;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON public.imm_events_2, public.imm_events_3 TO imm_app;
SELECT is((SELECT count(*) FROM pg_trigger
            WHERE tgrelid IN ('public.imm_events'::regclass, 'public.imm_events_1'::regclass,
                              'public.imm_events_2'::regclass, 'public.imm_events_3'::regclass)
              AND tgname IN ('crm_core_guard_row', 'crm_core_guard_truncate') AND tgenabled = 'A'),
          8::bigint, 'every partition, old, created or attached, has both guards ENABLE ALWAYS');

INSERT INTO public.imm_events VALUES (1, 'a'), (150, 'b'), (250, 'c');
INSERT INTO public.imm_plain VALUES (1, 'a');
SELECT is((SELECT count(*) FROM public.imm_events), 3::bigint, 'inserting is allowed');

-- Data doors, as the application role.
SET ROLE imm_app;
SELECT throws_ok($$UPDATE public.imm_events SET note = 'x' WHERE id = 1$$, '55000',
                 'UPDATE on public.imm_events_1 is refused: its rows are append-only',
                 'UPDATE through the parent is refused');
SELECT throws_ok($$DELETE FROM public.imm_events_2$$, '55000',
                 'DELETE on public.imm_events_2 is refused: its rows are append-only',
                 'DELETE directly on a created partition is refused');
SELECT throws_ok($$UPDATE public.imm_events_3 SET note = 'x'$$, '55000',
                 'UPDATE on public.imm_events_3 is refused: its rows are append-only',
                 'UPDATE directly on an attached partition is refused');
SELECT throws_ok($$MERGE INTO public.imm_plain AS t USING (VALUES (1)) AS s(id) ON t.id = s.id
                   WHEN MATCHED THEN UPDATE SET note = 'merged'$$, '55000',
                 'UPDATE on public.imm_plain is refused: its rows are append-only',
                 'MERGE ... UPDATE is refused');
SELECT throws_ok($$MERGE INTO public.imm_plain AS t USING (VALUES (1)) AS s(id) ON t.id = s.id
                   WHEN MATCHED THEN DELETE$$, '55000',
                 'DELETE on public.imm_plain is refused: its rows are append-only',
                 'MERGE ... DELETE is refused');
SELECT throws_ok($$TRUNCATE public.imm_events$$, '55000',
                 'TRUNCATE on public.imm_events is refused: its rows are append-only',
                 'TRUNCATE of the parent is refused');
SELECT throws_ok($$TRUNCATE public.imm_events_2$$, '55000',
                 'TRUNCATE on public.imm_events_2 is refused: its rows are append-only',
                 'TRUNCATE of a created partition is refused');
SELECT throws_ok($$TRUNCATE public.imm_events_3$$, '55000',
                 'TRUNCATE on public.imm_events_3 is refused: its rows are append-only',
                 'TRUNCATE of an attached partition is refused');
SELECT throws_ok($$TRUNCATE public.imm_plain$$, '55000',
                 'TRUNCATE on public.imm_plain is refused: its rows are append-only',
                 'TRUNCATE of a plain table is refused');
SELECT lives_ok($$INSERT INTO public.imm_plain VALUES (2, 'b')$$, 'the application can still insert');
RESET ROLE;

-- Owner doors: the guards cannot be disabled, dropped, renamed or detached.
SET ROLE imm_owner;
SELECT throws_ok($$UPDATE public.imm_plain SET note = 'x'$$, '55000',
                 'UPDATE on public.imm_plain is refused: its rows are append-only',
                 'the owner cannot UPDATE either');
SELECT throws_ok($$ALTER TABLE public.imm_plain DISABLE TRIGGER crm_core_guard_row$$, '42501',
                 'crm_core trigger crm_core_guard_row on public.imm_plain must stay enabled and named as crm_core made it',
                 'DISABLE TRIGGER on a guard is refused to the owner');
SELECT throws_ok($$ALTER TABLE public.imm_events DISABLE TRIGGER ALL$$, '42501',
                 'crm_core trigger crm_core_guard_row on public.imm_events must stay enabled and named as crm_core made it',
                 'DISABLE TRIGGER ALL is refused to the owner');
SELECT throws_ok($$ALTER TABLE public.imm_events_2 DISABLE TRIGGER crm_core_guard_truncate$$, '42501',
                 'crm_core trigger crm_core_guard_truncate on public.imm_events_2 must stay enabled and named as crm_core made it',
                 'disabling a partition''s TRUNCATE guard is refused');
SELECT throws_ok($$ALTER TABLE public.imm_plain ENABLE TRIGGER crm_core_guard_row$$, '42501',
                 'crm_core trigger crm_core_guard_row on public.imm_plain must stay enabled and named as crm_core made it',
                 'ENABLE (origin only, skipped under replica) is refused: guards stay ALWAYS');
SELECT throws_ok($$DROP TRIGGER crm_core_guard_row ON public.imm_plain$$, '42501',
                 'dropping crm_core trigger crm_core_guard_row on public.imm_plain is refused',
                 'DROP TRIGGER on a guard is refused to the owner');
SELECT throws_ok($$DROP TRIGGER crm_core_guard_truncate ON public.imm_events_3$$, '42501',
                 'dropping crm_core trigger crm_core_guard_truncate on public.imm_events_3 is refused',
                 'dropping a partition''s TRUNCATE guard is refused');
SELECT throws_ok($$ALTER TRIGGER crm_core_guard_row ON public.imm_plain RENAME TO harmless$$,
                 '42501',
                 'crm_core trigger harmless on public.imm_plain must stay enabled and named as crm_core made it',
                 'renaming a guard is refused');
SELECT throws_ok($$CREATE OR REPLACE TRIGGER crm_core_guard_row BEFORE UPDATE OR DELETE ON public.imm_plain
                   FOR EACH ROW EXECUTE FUNCTION public.imm_let_through()$$, '42501',
                 'replacing crm_core trigger crm_core_guard_row on public.imm_plain is refused',
                 'replacing a row guard by a trigger of the owner''s (CREATE OR REPLACE TRIGGER) is refused');
SELECT throws_ok($$CREATE OR REPLACE TRIGGER crm_core_guard_truncate BEFORE TRUNCATE ON public.imm_events_2
                   FOR EACH STATEMENT EXECUTE FUNCTION public.imm_let_through()$$, '42501',
                 'replacing crm_core trigger crm_core_guard_truncate on public.imm_events_2 is refused',
                 'replacing a partition''s TRUNCATE guard is refused');
SELECT throws_ok($$ALTER TABLE public.imm_events DETACH PARTITION public.imm_events_2$$, '42501',
                 'detaching public.imm_events_2 from its append-only table is refused',
                 'DETACH PARTITION is refused to the owner');
SELECT throws_ok($$DROP TABLE public.imm_events_3$$, '42501',
                 'dropping crm_core trigger crm_core_guard_row on public.imm_events_3 is refused',
                 'dropping a guarded partition is refused to the owner');
SELECT throws_ok($$DROP TABLE public.imm_plain$$, '42501',
                 'dropping crm_core trigger crm_core_guard_row on public.imm_plain is refused',
                 'dropping a guarded table is refused to the owner');
RESET ROLE;

-- The meaning of guarded rows: a column renamed (then re-added with a default), an enum value
-- or a composite attribute renamed would change what every stored row says. Owner only.
SET ROLE imm_owner;
CREATE TYPE public.imm_state AS ENUM ('open', 'paid');
CREATE TYPE public.imm_channel AS ENUM ('sms', 'call');
CREATE DOMAIN public.imm_channel_code AS public.imm_channel;
CREATE TYPE public.imm_currency AS ENUM ('EUR', 'USD');
CREATE TYPE public.imm_money AS (amount numeric, currency public.imm_currency);
CREATE TYPE public.imm_level AS ENUM ('low', 'high');
CREATE TYPE public.imm_level_range AS RANGE (subtype = public.imm_level);
CREATE TYPE public.imm_unused AS ENUM ('a', 'b');
CREATE TABLE public.imm_address (street text);
CREATE TABLE public.imm_invoice (id bigint PRIMARY KEY, state public.imm_state, amount numeric,
                                 channels public.imm_channel_code[], fee public.imm_money,
                                 billed_to public.imm_address, levels public.imm_level_multirange);
CREATE TABLE public.imm_scratch (id bigint, amount numeric);
RESET ROLE;
SELECT crm_core.make_append_only('public.imm_invoice');
SET ROLE imm_owner;
SELECT throws_ok($$ALTER TABLE public.imm_invoice RENAME COLUMN amount TO old_amount$$, '42501',
                 'renaming column amount of append-only table public.imm_invoice is refused',
                 'renaming a column of an append-only table is refused to the owner');
SELECT throws_ok($$ALTER TABLE public.imm_invoice RENAME state TO old_state$$, '42501',
                 'renaming column state of append-only table public.imm_invoice is refused',
                 'also without the COLUMN keyword');
SELECT throws_ok($$ALTER TYPE public.imm_state RENAME VALUE 'paid' TO 'void'$$, '42501',
                 'renaming a value of type public.imm_state is refused',
                 'renaming a value of an enum an append-only table stores is refused');
SELECT throws_ok($$ALTER TYPE public.imm_channel RENAME VALUE 'sms' TO 'letter'$$, '42501',
                 'renaming a value of type public.imm_channel is refused',
                 'also when the table stores it through an array of a domain over it');
SELECT throws_ok($$ALTER TYPE public.imm_currency RENAME VALUE 'USD' TO 'GBP'$$, '42501',
                 'renaming a value of type public.imm_currency is refused',
                 'also when the table stores it inside a composite type');
SELECT throws_ok($$ALTER TYPE public.imm_level RENAME VALUE 'high' TO 'top'$$, '42501',
                 'renaming a value of type public.imm_level is refused',
                 'also when the table stores it in a multirange of a range over it');
SELECT throws_ok($$ALTER TYPE public.imm_money RENAME ATTRIBUTE amount TO fee_amount$$, '42501',
                 'renaming attribute amount of type public.imm_money is refused',
                 'renaming an attribute of a composite type an append-only table stores is refused');
SELECT throws_ok($$ALTER TABLE public.imm_address RENAME COLUMN street TO road$$, '42501',
                 'renaming column street of public.imm_address is refused',
                 'renaming a column of a table whose row type an append-only table stores is refused');
SELECT lives_ok($$ALTER TYPE public.imm_unused RENAME VALUE 'a' TO 'c'$$,
                'an enum no guarded table uses can be renamed');
SELECT lives_ok($$ALTER TABLE public.imm_scratch RENAME COLUMN amount TO total$$,
                'a column of an unguarded table can be renamed');
SELECT lives_ok($$ALTER TABLE public.imm_invoice ADD COLUMN note text$$,
                'adding a column to an append-only table stays allowed');
RESET ROLE;

-- Look-alikes: crm_core recognises its guards by the function they call, not by their name. A
-- role's own trigger named like a guard changes nothing for anyone.
CREATE ROLE imm_other NOLOGIN;
GRANT CREATE, USAGE ON SCHEMA public TO imm_other;
SET ROLE imm_other;
CREATE TABLE public.imm_lookalike (id bigint, note text);
CREATE FUNCTION public.imm_other_noop() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER crm_core_guard_truncate BEFORE TRUNCATE ON public.imm_lookalike
    FOR EACH STATEMENT EXECUTE FUNCTION public.imm_other_noop();
CREATE TRIGGER crm_core_guard_row BEFORE UPDATE ON public.imm_lookalike
    FOR EACH ROW EXECUTE FUNCTION public.imm_other_noop();
RESET ROLE;
SET ROLE imm_owner;
SELECT lives_ok($$ALTER TABLE public.imm_scratch ADD COLUMN extra integer$$,
                'another role''s trigger named crm_core_guard_truncate does not block this role''s DDL');
RESET ROLE;
SET ROLE imm_other;
SELECT lives_ok($$ALTER TABLE public.imm_lookalike DISABLE TRIGGER crm_core_guard_row$$,
                'a look-alike can be disabled by its owner');
SELECT lives_ok($$ALTER TABLE public.imm_lookalike ALTER COLUMN note TYPE varchar USING note || '!'$$,
                'a table with look-alikes can be rewritten');
SELECT lives_ok($$ALTER TABLE public.imm_lookalike RENAME COLUMN note TO remark$$,
                'its columns renamed');
SELECT lives_ok($$DROP TRIGGER crm_core_guard_truncate ON public.imm_lookalike$$,
                'a look-alike can be dropped by its owner');
SELECT lives_ok($$DROP TABLE public.imm_lookalike$$, 'and so can its table');
RESET ROLE;
-- Nor does a look-alike stand in for the real guard: a table attached to an append-only table
-- with its own trigger named crm_core_guard_truncate would be left without the real one.
SET ROLE imm_owner;
CREATE TABLE public.imm_events_4 (id bigint PRIMARY KEY, note text);
CREATE TRIGGER crm_core_guard_truncate BEFORE TRUNCATE ON public.imm_events_4
    FOR EACH STATEMENT EXECUTE FUNCTION public.imm_let_through();
SELECT throws_ok($$ALTER TABLE public.imm_events ATTACH PARTITION public.imm_events_4
                   FOR VALUES FROM (300) TO (400)$$, '42710',
                 'table public.imm_events_4 has a trigger named crm_core_guard_truncate that is not crm_core''s',
                 'attaching a partition whose own trigger takes the TRUNCATE guard''s name is refused');
RESET ROLE;

-- Replica mode (what logical replication and some restore tools use) does not skip guards.
SET LOCAL session_replication_role = replica;
SELECT throws_ok($$UPDATE public.imm_plain SET note = 'x'$$, '55000',
                 'UPDATE on public.imm_plain is refused: its rows are append-only',
                 'UPDATE is refused under session_replication_role = replica');
SELECT throws_ok($$TRUNCATE public.imm_events_1$$, '55000',
                 'TRUNCATE on public.imm_events_1 is refused: its rows are append-only',
                 'TRUNCATE is refused under session_replication_role = replica');
SET LOCAL session_replication_role = origin;

-- The ledger: drafts are editable, posting is the one transition, posted rows never change.
SELECT throws_ok($$TRUNCATE crm_core.journal_line CASCADE$$, '55000',
                 'TRUNCATE on crm_core.journal_line is refused: its rows are append-only',
                 'TRUNCATE of journal_line is refused');
INSERT INTO crm_core.business (id, name) VALUES (9101, 'guards');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
VALUES (910101, 9101, 'cash', 'Cash', 'asset', 'EUR'), (910102, 9101, 'fees', 'Fees', 'income', 'EUR');
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES (910101, 9101, 'draft');
INSERT INTO crm_core.journal_line (id, business_id, entry_id, account_id, debit, credit)
VALUES (910101, 9101, 910101, 910101, 5, NULL), (910102, 9101, 910101, 910102, NULL, 5);
SELECT lives_ok($$UPDATE crm_core.journal_line SET debit = 7 WHERE id = 910101$$,
                'a draft entry''s line can be edited');
SELECT lives_ok($$UPDATE crm_core.journal_line SET credit = 7 WHERE id = 910102$$,
                'and its other line too');
SELECT lives_ok($$UPDATE crm_core.journal_entry SET status = 'posted' WHERE id = 910101$$,
                'posting a draft is allowed');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET status = 'draft' WHERE id = 910101$$, '55000',
                 'UPDATE on crm_core.journal_entry is refused: posted journal entries are append-only',
                 'un-posting is refused');
SELECT throws_ok($$UPDATE crm_core.journal_line SET debit = 8 WHERE id = 910101$$, '55000',
                 'UPDATE on crm_core.journal_line is refused: lines of posted journal entries are append-only',
                 'editing a posted line is refused');
SELECT throws_ok($$DELETE FROM crm_core.journal_line WHERE id = 910102$$, '55000',
                 'DELETE on crm_core.journal_line is refused: lines of posted journal entries are append-only',
                 'deleting a posted line is refused');
SELECT throws_ok($$DELETE FROM crm_core.journal_entry WHERE id = 910101$$, '55000',
                 'DELETE on crm_core.journal_entry is refused: posted journal entries are append-only',
                 'deleting a posted entry is refused');
SELECT is((SELECT count(*) FROM pg_trigger
            WHERE tgrelid IN ('crm_core.journal_entry'::regclass, 'crm_core.journal_line'::regclass)
              AND tgname IN ('crm_core_guard_posted', 'crm_core_guard_replica_insert',
                             'crm_core_guard_truncate') AND tgenabled = 'A'),
          5::bigint, 'the ledger guards are ENABLE ALWAYS');
-- tgtype: 1 row, 2 before, 4 insert, 8 delete, 16 update.
SELECT is((SELECT string_agg(format('%s %s %s', tgname, tgtype, encode(tgargs, 'escape')), ', '
                             ORDER BY tgname)
             FROM pg_trigger WHERE tgrelid = 'crm_core.journal_line'::regclass
                               AND tgfoid = 'crm_core.ledger_guard()'::regprocedure),
          format('crm_core_guard_posted %s line\000, crm_core_guard_replica_insert %s line\000',
                 1 | 2 | 8 | 16, 2 | 4),
          'journal_line: the posted-lines guard per row on UPDATE and DELETE, the replica-mode refusal once per INSERT statement');

-- Roles: least privilege.
SELECT ok(has_table_privilege('crm_core_app', 'crm_core.journal_line', 'INSERT')
          AND NOT has_table_privilege('crm_core_app', 'crm_core.journal_line', 'TRUNCATE'),
          'crm_core_app inserts lines but cannot truncate');
SELECT ok(NOT has_table_privilege('crm_core_readonly', 'crm_core.journal_entry', 'INSERT')
          AND has_table_privilege('crm_core_readonly', 'crm_core.journal_entry', 'SELECT')
          AND NOT has_table_privilege('crm_core_app', 'crm_core.audit_log', 'INSERT')
          AND NOT has_function_privilege('crm_core_app', 'crm_core.seal_ledger(integer)', 'EXECUTE'),
          'crm_core_readonly only reads; the application cannot write the audit log or seal');

SELECT * FROM finish();
ROLLBACK;
