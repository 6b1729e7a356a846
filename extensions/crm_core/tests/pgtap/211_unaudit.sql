-- Stopping an audit (crm_core.unaudit_table): a superuser's act that removes the audit trigger,
-- the TRUNCATE guards of the table and its partitions, and the registration; the logged rows
-- stay. (Done before crm_core.distribute() on a Citus cluster: docs/scale-out.md.)
BEGIN;
SELECT plan(9);

CREATE ROLE unaudit_owner NOLOGIN;
CREATE TABLE public.unaudit_debtor (business_id bigint, id bigint, phone text, PRIMARY KEY (business_id, id))
    PARTITION BY LIST (business_id);
CREATE TABLE public.unaudit_debtor_1 PARTITION OF public.unaudit_debtor FOR VALUES IN (1);
ALTER TABLE public.unaudit_debtor OWNER TO unaudit_owner;
ALTER TABLE public.unaudit_debtor_1 OWNER TO unaudit_owner;
GRANT USAGE ON SCHEMA crm_core TO unaudit_owner;
GRANT EXECUTE ON FUNCTION crm_core.unaudit_table(regclass) TO unaudit_owner;
SELECT crm_core.audit_table('public.unaudit_debtor');
INSERT INTO public.unaudit_debtor VALUES (1, 1, '0612345678');

SET LOCAL ROLE crm_core_app;
SELECT throws_ok($$SELECT crm_core.unaudit_table('public.unaudit_debtor')$$, '42501',
                 'permission denied for function unaudit_table',
                 'the application role cannot stop an audit');
RESET ROLE;
SET LOCAL ROLE unaudit_owner;
SELECT throws_ok($$SELECT crm_core.unaudit_table('public.unaudit_debtor')$$, '42501',
                 'only a superuser may stop auditing table public.unaudit_debtor',
                 'not even the table''s owner with EXECUTE: only a superuser');
RESET ROLE;
SELECT throws_ok($$SELECT crm_core.unaudit_table('public.unaudit_debtor_1')$$, '42704',
                 'table public.unaudit_debtor_1 is not audited', 'a table that is not audited is refused');

SELECT lives_ok($$SELECT crm_core.unaudit_table('public.unaudit_debtor')$$, 'a superuser stops the audit');
SELECT is_empty($$SELECT * FROM crm_core.audited_table WHERE relid = 'public.unaudit_debtor'::regclass$$,
                'the registration is gone');
SELECT is_empty($$SELECT tgname FROM pg_trigger
                   WHERE tgrelid IN ('public.unaudit_debtor'::regclass, 'public.unaudit_debtor_1'::regclass)
                     AND tgfoid = 'crm_core.audit_trigger()'::regprocedure$$,
                'the audit trigger and the TRUNCATE guards are gone, from the partition too');
UPDATE public.unaudit_debtor SET phone = '0699999999';
SELECT is((SELECT count(*) FROM crm_core.audit_log WHERE relid = 'public.unaudit_debtor'::regclass),
          1::bigint, 'changes are no longer logged; what was logged stays');
SELECT lives_ok('TRUNCATE public.unaudit_debtor', 'the table may be truncated like any other');
SELECT lives_ok($$SELECT crm_core.audit_table('public.unaudit_debtor')$$, 'and audited again');

SELECT * FROM finish();
ROLLBACK;
