-- Tenant isolation inside one transaction (SET ROLE; see 511 for real logins through one pooled
-- connection): what each role sees and may write in every crm_core table, the ledger
-- functions under isolation, business grants, and applications' own tables.
BEGIN;
SELECT plan(113);

-- Two businesses with the same shape of data, written as the superuser (global view).
INSERT INTO crm_core.business (id, name) VALUES (7101, 'tenant A'), (7102, 'tenant B');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency, parent_id) VALUES
    (710101, 7101, 'cash', 'Cash', 'asset', 'EUR', NULL),
    (710102, 7101, 'fees', 'Fees', 'income', 'EUR', NULL),
    (710103, 7101, 'cash-sub', 'Cash drawer', 'asset', 'EUR', 710101),
    (710201, 7102, 'cash', 'Cash', 'asset', 'EUR', NULL),
    (710202, 7102, 'fees', 'Fees', 'income', 'EUR', NULL),
    (710203, 7102, 'cash-sub', 'Cash drawer', 'asset', 'EUR', 710201);
INSERT INTO crm_core.fiscal_period (business_id, name, starts_on, ends_on, closed_at) VALUES
    (7101, 'FY2020', '2020-01-01', '2020-12-31', now()),
    (7102, 'FY2020', '2020-01-01', '2020-12-31', now());
INSERT INTO crm_core.journal_entry (id, business_id, memo) VALUES
    (710111, 7101, 'A posted'), (710211, 7102, 'B posted');
INSERT INTO crm_core.journal_entry (id, business_id, status) VALUES
    (710112, 7101, 'draft'), (710212, 7102, 'draft');
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit) VALUES
    (7101, 710111, 710101, 40, NULL), (7101, 710111, 710102, NULL, 40),
    (7102, 710211, 710201, 70, NULL), (7102, 710211, 710202, NULL, 70),
    (7101, 710112, 710101, 1, NULL), (7102, 710212, 710201, 1, NULL);
-- A loan's subledger (the same subledger id in both businesses).
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (710114, 7101), (710214, 7102);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger) VALUES
    (7101, 710114, 710103, 12, NULL, 55), (7101, 710114, 710102, NULL, 12, NULL),
    (7102, 710214, 710203, 99, NULL, 55), (7102, 710214, 710202, NULL, 99, NULL);
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;

-- Logins: one per tenant, a read-only one, a pooled one for every business, a member of a
-- group granted B, the service, and an application table's owner.
CREATE ROLE tn_a IN ROLE crm_core_app;
CREATE ROLE tn_b IN ROLE crm_core_app;
CREATE ROLE tn_reader IN ROLE crm_core_readonly;
CREATE ROLE tn_pool IN ROLE crm_core_app;
CREATE ROLE tn_group_b;
CREATE ROLE tn_member IN ROLE crm_core_app, tn_group_b;
CREATE ROLE tn_service IN ROLE crm_core_service, crm_core_readonly;
CREATE ROLE tn_service_only IN ROLE crm_core_service;
CREATE ROLE tn_owner;
CREATE ROLE tn_nobody IN ROLE crm_core_app;
SELECT crm_core.grant_business('tn_a', 7101), crm_core.grant_business('tn_b', 7102),
       crm_core.grant_business('tn_reader', 7101), crm_core.grant_business('tn_pool', NULL),
       crm_core.grant_business('tn_group_b', 7102), crm_core.grant_business('tn_owner', 7101);
GRANT EXECUTE ON FUNCTION crm_core.account_balance(bigint), crm_core.account_balance(bigint, timestamptz),
    crm_core.account_rollup_balance(bigint), crm_core.reverse_entry(bigint, text),
    crm_core.subledger_balance(bigint, bigint), crm_core.subledger_balance(bigint, bigint, timestamptz),
    crm_core.post_entry(bigint, jsonb, text, date, text, text, jsonb), crm_core.unbalanced_entries(),
    crm_core.check_balances() TO crm_core_app, crm_core_readonly;
GRANT UPDATE ON crm_core.journal_entry TO tn_service;
-- A role that may read every isolated crm_core table, to look at all of them at once.
CREATE ROLE tn_auditor;
SELECT crm_core.grant_business('tn_auditor', 7101);
GRANT USAGE ON SCHEMA crm_core TO tn_auditor;
SELECT format('GRANT SELECT ON %s TO tn_auditor', polrelid::regclass)
  FROM pg_policy WHERE polname = 'crm_core_tenant' \gexec

-- For each isolated crm_core table: (rows, rows of another business than b) as the caller sees it.
CREATE FUNCTION pg_temp.isolated_rows(b bigint)
RETURNS TABLE (relation regclass, visible bigint, foreign_rows bigint) LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT p.polrelid::regclass AS rel,
                    CASE WHEN p.polrelid = 'crm_core.business'::regclass THEN 'id' ELSE 'business_id' END AS key
               FROM pg_policy AS p JOIN pg_class AS c ON c.oid = p.polrelid
              WHERE p.polname = 'crm_core_tenant' AND NOT c.relispartition
                AND p.polrelid::regclass::text LIKE 'crm_core.%' ORDER BY 1 LOOP
        relation := t.rel;
        EXECUTE format('SELECT count(*), count(*) FILTER (WHERE %I IS DISTINCT FROM %s) FROM %s',
                       t.key, coalesce(b::text, 'NULL'), t.rel) INTO visible, foreign_rows;
        RETURN NEXT;
    END LOOP;
END;
$$;
GRANT EXECUTE ON FUNCTION pg_temp.isolated_rows(bigint) TO PUBLIC;
-- Rows a statement changed, as the caller.
CREATE FUNCTION pg_temp.affected(statement text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE statement;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
GRANT EXECUTE ON FUNCTION pg_temp.affected(text) TO PUBLIC;

-- ---------------------------------------------------------------------------------------
-- Catalog: every crm_core table keyed by business is isolated (forced, so its owner too).
SELECT lives_ok($$SELECT crm_core.audit_log_premake(2)$$, 'monthly audit partitions are made');
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace = 'crm_core'::regnamespace AND c.relkind IN ('r', 'p')
                   AND c.relname <> 'business_grant'
                   AND (c.relname = 'business' OR EXISTS (SELECT FROM pg_attribute a
                            WHERE a.attrelid = c.oid AND a.attname = 'business_id' AND NOT a.attisdropped))
                   AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                            AND EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'crm_core_tenant')
                            AND EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'crm_core_global_view'
                                          AND p.polroles = ARRAY['crm_core_service'::regrole::oid]))),
          '{}'::text[], 'every crm_core table keyed by business, and each partition, has forced row security and both policies');
SELECT cmp_ok((SELECT count(*) FROM pg_policy WHERE polname = 'crm_core_tenant'
                AND polrelid::regclass::text LIKE 'crm_core.%'), '>=', 10::bigint,
              'at least the ten ledger, seal and audit tables are isolated');
SELECT is((SELECT min(tgname) FROM pg_trigger t
            WHERE t.tgrelid = r AND (t.tgtype & 2) = 2 AND (t.tgtype & 1) = 1 AND NOT t.tgisinternal),
          '_crm_core_tenant_row'::text,
          format('the tenant row check fires before every other BEFORE ROW trigger on %s', r))
  FROM unnest(ARRAY['crm_core.journal_entry', 'crm_core.journal_line', 'crm_core.account',
                    'crm_core.fiscal_period', 'crm_core.business']::regclass[]) AS r;
SELECT is(ARRAY(SELECT v.oid::regclass::text FROM pg_class v
                 WHERE v.relnamespace = 'crm_core'::regnamespace AND v.relkind = 'v'
                   AND EXISTS (SELECT FROM pg_rewrite r
                                 JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                                 JOIN pg_policy p ON p.polrelid = d.refobjid AND p.polname = 'crm_core_tenant'
                                WHERE r.ev_class = v.oid)
                   AND NOT coalesce('security_invoker=true' = ANY (v.reloptions), false)),
          '{}'::text[], 'every crm_core view over an isolated table reads as the querying role');
SELECT cmp_ok((SELECT count(*) FROM pg_class WHERE relnamespace = 'crm_core'::regnamespace
                AND relkind = 'v' AND 'security_invoker=true' = ANY (reloptions)), '>=', 1::bigint,
              'seal_status at least');

-- ---------------------------------------------------------------------------------------
-- Reads.
SELECT is((SELECT sum(visible) FROM pg_temp.isolated_rows(NULL)) > 0 AND
          (SELECT count(DISTINCT b) FROM (SELECT business_id FROM crm_core.journal_line) AS x(b)) >= 2,
          true, 'a superuser sees every business with no business set');
SET crm_core.business_id = '7101';
SELECT is((SELECT count(*) FROM crm_core.journal_entry WHERE business_id = 7102), 3::bigint,
          'a superuser keeps the global view with a business set');
RESET crm_core.business_id;

SET ROLE tn_auditor;
SELECT is((SELECT sum(visible) FROM pg_temp.isolated_rows(NULL)), 0::numeric,
          'no business set: no row of any isolated table is visible');
SELECT is(crm_core.current_business(), NULL, 'no business set: current_business() is NULL');
SET crm_core.business_id = '7101';
SELECT is(crm_core.current_business(), 7101::bigint, 'current_business() returns the business set');
SELECT is((SELECT sum(foreign_rows) FROM pg_temp.isolated_rows(7101)), 0::numeric,
          'business A set: no isolated table shows a row of another business');
SELECT is((SELECT count(*) FROM pg_temp.isolated_rows(7101) WHERE visible > 0)
          >= 6, true, 'business A set: A''s rows are visible (business, accounts, periods, entries, lines, slots)');
SELECT throws_ok($$SET crm_core.business_id = 'abc'$$, '22023',
                 'invalid value for parameter "crm_core.business_id": "abc"',
                 'a business id that is not a whole number is refused when set');
SET crm_core.business_id = '7102';
SELECT throws_ok($$SELECT count(*) FROM crm_core.journal_entry$$, '42501',
                 'role "tn_auditor" may not act for business 7102',
                 'a business the role was not granted: reading is refused');
SELECT throws_ok($$SELECT crm_core.current_business()$$, '42501',
                 'role "tn_auditor" may not act for business 7102',
                 'a business the role was not granted: current_business() refuses it');
RESET ROLE;
RESET crm_core.business_id;

-- The read-only role: the audit log and the seal status show its business only.
CREATE TABLE public.tn_audited (id bigint PRIMARY KEY, business_id bigint, note text);
SELECT crm_core.audit_table('public.tn_audited');
INSERT INTO public.tn_audited VALUES (1, 7101, 'a'), (2, 7102, 'b'), (3, NULL, 'none');
SET ROLE tn_reader;
SET crm_core.business_id = '7101';
SELECT is(ARRAY(SELECT DISTINCT business_id FROM crm_core.audit_log
                 WHERE relid = 'public.tn_audited'::regclass), ARRAY[7101::bigint],
          'crm_core_readonly reads the audit rows of its business only');
SELECT is(ARRAY(SELECT business_id FROM crm_core.seal_status WHERE business_id IN (7101, 7102)),
          ARRAY[7101::bigint], 'seal_status shows the current business only');
RESET ROLE;
RESET crm_core.business_id;

-- The service sees every business with none set, and writes without one.
SET ROLE tn_service;
SELECT is((SELECT count(DISTINCT business_id) FROM crm_core.journal_line
            WHERE business_id IN (7101, 7102)), 2::bigint,
          'crm_core_service sees every business with no business set');
SELECT is((SELECT count(*) FROM crm_core.audit_log WHERE relid = 'public.tn_audited'::regclass),
          3::bigint, 'crm_core_service sees every audit row, with or without a business');
SET crm_core.business_id = '7102';
SELECT is(crm_core.current_business(), 7102::bigint, 'crm_core_service may set any business');
RESET crm_core.business_id;
SET ROLE tn_service_only;
SELECT is(ARRAY(SELECT business_id FROM crm_core.seal_status WHERE business_id IN (7101, 7102) ORDER BY 1),
          ARRAY[7101, 7102]::bigint[], 'crm_core_service alone reads seal_status for every business');
SELECT is(ARRAY(SELECT DISTINCT business_id FROM crm_core.account_balances WHERE business_id IN (7101, 7102) ORDER BY 1),
          ARRAY[7101, 7102]::bigint[], 'and account_balances');
RESET ROLE;
RESET crm_core.business_id;
SELECT lives_ok($$SET LOCAL ROLE tn_service; UPDATE crm_core.journal_entry SET memo = 'svc' WHERE id IN (710112, 710212)$$,
                'crm_core_service writes in every business with none set');
RESET ROLE;
SELECT is((SELECT count(*) FROM crm_core.journal_entry WHERE memo = 'svc'), 2::bigint,
          'both businesses'' drafts were updated by the service');

-- ---------------------------------------------------------------------------------------
-- Writes as the application role. crm_core_app edits drafts column by column and deletes
-- nothing (docs/security.md): tn_a gets the rest here, so that the tenant guard is what refuses.
GRANT DELETE ON crm_core.journal_line TO tn_a;
GRANT UPDATE (business_id) ON crm_core.journal_entry TO tn_a;
SET ROLE tn_a;
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id) VALUES (7101)$$, '42501',
                 'INSERT on crm_core.journal_entry is refused: no business is set',
                 'no business set: INSERT is refused');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET memo = 'x'$$, '42501',
                 'UPDATE on crm_core.journal_entry is refused: no business is set',
                 'no business set: UPDATE is refused, even of no visible row');
SELECT throws_ok($$DELETE FROM crm_core.journal_line WHERE false$$, '42501',
                 'DELETE on crm_core.journal_line is refused: no business is set',
                 'no business set: DELETE is refused');
SET crm_core.business_id = '7101';
SELECT lives_ok($$WITH e AS (INSERT INTO crm_core.journal_entry (id, business_id) VALUES (710113, 7101) RETURNING id)
                  INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
                  SELECT 7101, e.id, 710101, 5, NULL FROM e UNION ALL SELECT 7101, e.id, 710102, NULL, 5 FROM e$$,
                'business A set: A''s login posts in A');
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id) VALUES (7102)$$, '42501',
                 'INSERT on crm_core.journal_entry is refused: the row belongs to business 7102, this transaction acts for business 7101',
                 'an entry of another business is refused');
SELECT throws_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                   VALUES (7102, 710212, 710201, 1)$$, '42501',
                 'INSERT on crm_core.journal_line is refused: the row belongs to business 7102, this transaction acts for business 7101',
                 'a line of another business is refused');
-- Refused before the ledger's own triggers look at B's closed periods (no leak of B's dates).
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id, effective_date) VALUES (7102, '2020-06-01')$$, '42501',
                 'INSERT on crm_core.journal_entry is refused: the row belongs to business 7102, this transaction acts for business 7101',
                 'an entry of another business dated in its closed period: refused first for the tenant');
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id) VALUES (NULL)$$, '42501',
                 'INSERT on crm_core.journal_entry is refused: the row belongs to no business, this transaction acts for business 7101',
                 'a row without a business is refused');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET business_id = 7102 WHERE id = 710112$$, '42501',
                 'UPDATE on crm_core.journal_entry is refused: the row belongs to business 7102, this transaction acts for business 7101',
                 'moving a draft to another business is refused');
SELECT is(pg_temp.affected('UPDATE crm_core.journal_entry SET memo = ''hacked'' WHERE id = 710212'),
          0::bigint, 'another business''s draft cannot be updated (it is invisible)');
SELECT is(pg_temp.affected('DELETE FROM crm_core.journal_line WHERE entry_id = 710212'),
          0::bigint, 'another business''s draft lines cannot be deleted');
SELECT throws_ok($$INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
                   VALUES (7101, 710112, 710201, 1)$$, '23503', NULL,
                 'a line of A on B''s account fails its foreign key like an unknown account');
RESET ROLE;
SELECT is((SELECT memo FROM crm_core.journal_entry WHERE id = 710212), 'svc',
          'B''s draft is unchanged');

-- Tables the application may be granted more on: the same rule, row by row.
GRANT INSERT, UPDATE, DELETE ON crm_core.account, crm_core.fiscal_period, crm_core.business TO tn_a;
SET ROLE tn_a;
SET crm_core.business_id = '7101';
SELECT lives_ok($$INSERT INTO crm_core.account (business_id, code, name, kind, currency)
                  VALUES (7101, 'bank', 'Bank', 'asset', 'EUR')$$, 'A''s login opens an account in A');
SELECT throws_ok($$INSERT INTO crm_core.account (business_id, code, name, kind, currency)
                   VALUES (7102, 'bank', 'Bank', 'asset', 'EUR')$$, '42501',
                 'INSERT on crm_core.account is refused: the row belongs to business 7102, this transaction acts for business 7101',
                 'an account in another business is refused');
SELECT throws_ok($$INSERT INTO crm_core.fiscal_period (business_id, name, starts_on, ends_on)
                   VALUES (7102, 'FY2030', '2030-01-01', '2030-12-31')$$, '42501',
                 'INSERT on crm_core.fiscal_period is refused: the row belongs to business 7102, this transaction acts for business 7101',
                 'a period in another business is refused');
SELECT throws_ok($$INSERT INTO crm_core.business (id, name) VALUES (7103, 'new')$$, '42501',
                 'INSERT on crm_core.business is refused: the row belongs to business 7103, this transaction acts for business 7101',
                 'a new business is refused to a tenant');
SELECT is(pg_temp.affected('UPDATE crm_core.account SET name = ''x'' WHERE business_id = 7102'),
          0::bigint, 'another business''s accounts cannot be updated');
SELECT is(pg_temp.affected('DELETE FROM crm_core.fiscal_period WHERE business_id = 7102'),
          0::bigint, 'another business''s periods cannot be deleted');
RESET ROLE;
RESET crm_core.business_id;

-- ---------------------------------------------------------------------------------------
-- Ledger functions as A's login: its business only.
SET ROLE tn_a;
SET crm_core.business_id = '7101';
SELECT is(crm_core.account_balance(710101), 45::numeric, 'account_balance of A''s account');
SELECT is(crm_core.account_balance(710201), NULL, 'account_balance of B''s account: unknown');
SELECT is(crm_core.account_balance(710201, now()), NULL, 'account_balance(at) of B''s account: unknown');
SELECT is(crm_core.account_rollup_balance(710101), 57::numeric, 'account_rollup_balance of A''s account');
SELECT is(crm_core.subledger_balance(710103, 55), 12::numeric, 'subledger_balance of A''s loan');
SELECT is(crm_core.subledger_balance(710203, 55), NULL, 'subledger_balance of B''s loan: unknown');
SELECT is(crm_core.subledger_balance(710203, 55, now()), NULL, 'subledger_balance(at) of B''s loan: unknown');
SELECT is(crm_core.account_rollup_balance(710201), NULL, 'account_rollup_balance of B''s account: unknown');
SELECT throws_ok($$SELECT crm_core.reverse_entry(710211)$$, 'P0002', 'journal entry 710211 does not exist',
                 'reverse_entry of B''s entry: it does not exist for A');
SELECT lives_ok($$SELECT crm_core.reverse_entry(710111)$$, 'reverse_entry of A''s entry');
SELECT lives_ok($$SELECT crm_core.post_entry(7101, '[{"account_id": 710101, "debit": 3}, {"account_id": 710102, "credit": 3}]')$$,
                'post_entry in A');
SELECT throws_ok($$SELECT crm_core.post_entry(7102, '[{"account_id": 710201, "debit": 3}, {"account_id": 710202, "credit": 3}]')$$,
                 '42501', 'INSERT on crm_core.journal_entry is refused: the row belongs to business 7102, this transaction acts for business 7101',
                 'post_entry in B is refused');
SELECT is(ARRAY(SELECT DISTINCT business_id FROM crm_core.account_balance_slot), ARRAY[7101::bigint],
          'A sees its own balance slots only');
SELECT is(ARRAY(SELECT DISTINCT business_id FROM crm_core.account_balances), ARRAY[7101::bigint],
          'account_balances shows A''s accounts only');
RESET ROLE;
-- Damage both businesses (as a restore would), then audit as each.
SET session_replication_role = replica;
INSERT INTO crm_core.journal_entry (id, business_id) VALUES (710199, 7101), (710299, 7102);
INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit)
VALUES (7101, 710199, 710101, 9), (7102, 710299, 710201, 9);
RESET session_replication_role;
SET ROLE tn_a;
SELECT is(ARRAY(SELECT DISTINCT business_id FROM crm_core.unbalanced_entries()), ARRAY[7101::bigint],
          'unbalanced_entries() reports A''s entries only');
SELECT is(ARRAY(SELECT DISTINCT business_id FROM crm_core.check_balances()), ARRAY[7101::bigint],
          'check_balances() reports A''s accounts only');
RESET ROLE;
RESET crm_core.business_id;
SELECT is(ARRAY(SELECT DISTINCT business_id FROM crm_core.unbalanced_entries()
                 WHERE business_id IN (7101, 7102) ORDER BY 1), ARRAY[7101, 7102]::bigint[],
          'the superuser''s unbalanced_entries() reports both');

-- ---------------------------------------------------------------------------------------
-- Grants.
SET ROLE tn_pool;
SET crm_core.business_id = '7101';
SELECT is((SELECT count(*) FROM crm_core.account WHERE business_id IN (7101, 7102)), 4::bigint,
          'the pooled login (every business) acts for A');
SET crm_core.business_id = '7102';
SELECT is((SELECT count(*) FROM crm_core.account WHERE business_id IN (7101, 7102)), 3::bigint,
          'the pooled login acts for B');
RESET ROLE;
SET ROLE tn_member;
SELECT is((SELECT count(*) FROM crm_core.account), 3::bigint,
          'a member of a role granted B acts for B');
SET crm_core.business_id = '7101';
SELECT throws_ok($$SELECT count(*) FROM crm_core.account$$, '42501',
                 'role "tn_member" may not act for business 7101', 'but not for A');
RESET ROLE;
SET crm_core.business_id = '7101';
SET ROLE tn_nobody;
SELECT throws_ok($$SELECT count(*) FROM crm_core.account$$, '42501',
                 'role "tn_nobody" may not act for business 7101',
                 'crm_core_app alone grants no business');
RESET ROLE;

-- A SECURITY DEFINER function of the pooled login does not let A's login act for B.
CREATE FUNCTION public.tn_pool_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS 'SELECT count(*) FROM crm_core.journal_entry';
ALTER FUNCTION public.tn_pool_count() OWNER TO tn_pool;
SET ROLE tn_a;
SET crm_core.business_id = '7101';
SELECT is(public.tn_pool_count() > 0, true, 'A''s login calls the pooled login''s function for A');
SET crm_core.business_id = '7102';
SELECT throws_ok($$SELECT public.tn_pool_count()$$, '42501', 'role "tn_a" may not act for business 7102',
                 'through a SECURITY DEFINER function, the caller''s grants decide');
RESET ROLE;
RESET crm_core.business_id;

SELECT throws_ok($$SET LOCAL ROLE tn_a; SELECT crm_core.grant_business('tn_a', 7102)$$, '42501',
                 'permission denied for function grant_business', 'a tenant cannot grant itself');
RESET ROLE;
SELECT throws_ok($$SELECT crm_core.grant_business('tn_a', 7999)$$, '23503', 'business 7999 does not exist',
                 'granting an unknown business is refused');
SELECT throws_ok($$SELECT crm_core.grant_business('tn_not_a_role', 7101)$$, '42704',
                 'role "tn_not_a_role" does not exist', 'granting to an unknown role is refused');
SELECT throws_ok($$SELECT crm_core.grant_business(NULL, 7101)$$, '22004', 'role must not be NULL',
                 'granting to NULL is refused');
SELECT lives_ok($$SELECT crm_core.grant_business('tn_a', 7101)$$, 'granting twice is harmless');
SELECT is((SELECT count(*) FROM crm_core.business_grant WHERE role = 'tn_a'::regrole), 1::bigint,
          'one grant row');
-- A grant revoked in this transaction applies to the next statement.
SELECT is(crm_core.revoke_business('tn_a', 7101), true, 'revoke_business removes the grant');
SELECT is(crm_core.revoke_business('tn_a', 7101), false, 'revoking it again finds nothing');
SET ROLE tn_a;
SET crm_core.business_id = '7101';
SELECT throws_ok($$SELECT count(*) FROM crm_core.account$$, '42501',
                 'role "tn_a" may not act for business 7101', 'a revoked grant no longer lets A''s login in');
RESET ROLE;
SELECT crm_core.grant_business('tn_a', 7101);
SET ROLE tn_a;
SELECT is((SELECT count(*) FROM crm_core.account), 4::bigint, 'granted again, it acts for A again');
RESET ROLE;
RESET crm_core.business_id;
SELECT is(crm_core.revoke_business('tn_pool'), 1::bigint, 'revoke_business(role) removes every grant of a role');
-- Grants of dropped roles are pruned.
CREATE ROLE tn_dropped;
SELECT crm_core.grant_business('tn_dropped', 7101);
DROP ROLE tn_dropped;
SELECT crm_core.grant_business('tn_b', 7102);
SELECT is((SELECT count(*) FROM crm_core.business_grant g
            WHERE NOT EXISTS (SELECT FROM pg_roles r WHERE r.oid = g.role)), 0::bigint,
          'grants of dropped roles are removed by the next grant');

-- ---------------------------------------------------------------------------------------
-- An application's own table.
CREATE SCHEMA tn_app;
GRANT USAGE, CREATE ON SCHEMA tn_app TO tn_owner;
GRANT USAGE ON SCHEMA tn_app TO crm_core_app;
GRANT USAGE ON SCHEMA crm_core TO tn_owner;
CREATE TABLE tn_app.loan (id bigint PRIMARY KEY, business_id bigint NOT NULL, amount numeric,
                          status text NOT NULL DEFAULT 'open');
CREATE TABLE tn_app.note (id bigint PRIMARY KEY, body text);
CREATE TABLE tn_app.by_text (id bigint PRIMARY KEY, business_id text);
CREATE VIEW tn_app.loan_view AS SELECT * FROM tn_app.loan;
ALTER TABLE tn_app.loan OWNER TO tn_owner;
ALTER TABLE tn_app.note OWNER TO tn_owner;
ALTER TABLE tn_app.by_text OWNER TO tn_owner;
-- Before-trigger of the application that would read what it should not for a foreign row.
CREATE FUNCTION tn_app.loan_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'application trigger ran for business %', NEW.business_id;
END;
$$;
CREATE TRIGGER loan_stamp BEFORE INSERT ON tn_app.loan FOR EACH ROW WHEN (NEW.status = 'trap')
    EXECUTE FUNCTION tn_app.loan_stamp();
INSERT INTO tn_app.loan VALUES (1, 7101, 100), (2, 7102, 200), (3, 7102, 300);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON tn_app.loan TO crm_core_app;

SELECT throws_ok($$SET LOCAL ROLE tn_a; SELECT crm_core.enable_tenant_isolation('tn_app.loan')$$, '42501',
                 'must be owner of table loan', 'only the table''s owner isolates it');
RESET ROLE;
SELECT throws_ok($$SELECT crm_core.enable_tenant_isolation('tn_app.note')$$, '42703',
                 'table tn_app.note has no business_id column', 'a table without business_id is refused');
SELECT throws_ok($$SELECT crm_core.enable_tenant_isolation('tn_app.by_text')$$, '42804',
                 'column tn_app.by_text.business_id is text, not an integer business id',
                 'a business_id that is not an integer is refused');
SELECT throws_ok($$SELECT crm_core.enable_tenant_isolation('tn_app.loan_view')$$, '42809',
                 'tn_app.loan_view is not a table', 'a view is refused');
SELECT throws_ok($$SELECT crm_core.enable_tenant_isolation(NULL)$$, '22004',
                 'relation must not be NULL', 'NULL is refused');
SET ROLE tn_owner;
SELECT lives_ok($$SELECT crm_core.enable_tenant_isolation('tn_app.loan')$$, 'the owner isolates its table');
SELECT lives_ok($$SELECT crm_core.enable_tenant_isolation('tn_app.loan')$$, 'isolating again is harmless');
SELECT is((SELECT count(*) FROM tn_app.loan), 0::bigint, 'the owner, no business set, sees no row');
SET crm_core.business_id = '7101';
SELECT is((SELECT array_agg(id ORDER BY id) FROM tn_app.loan), ARRAY[1::bigint],
          'the owner sees its current business''s rows only');
RESET ROLE;
SET ROLE tn_a;
SELECT is((SELECT array_agg(id ORDER BY id) FROM tn_app.loan), ARRAY[1::bigint], 'A''s login sees A''s loans');
SELECT throws_ok($$INSERT INTO tn_app.loan (id, business_id, amount, status) VALUES (4, 7102, 1, 'trap')$$, '42501',
                 'INSERT on tn_app.loan is refused: the row belongs to business 7102, this transaction acts for business 7101',
                 'a loan of another business is refused before the application''s own trigger');
SELECT throws_ok($$TRUNCATE tn_app.loan$$, '42501',
                 'TRUNCATE on tn_app.loan is refused: it would remove the rows of every business',
                 'TRUNCATE of an isolated table is refused to a tenant');
SELECT is(pg_temp.affected('UPDATE tn_app.loan SET amount = 0'), 1::bigint,
          'UPDATE reaches A''s loans only');
RESET ROLE;
SELECT is((SELECT array_agg(amount ORDER BY id) FROM tn_app.loan), ARRAY[0, 200, 300]::numeric[],
          'B''s loans are unchanged');
-- With the owner's triggers off, the policy still refuses (PostgreSQL's message).
ALTER TABLE tn_app.loan DISABLE TRIGGER _crm_core_tenant_row;
SET ROLE tn_a;
SELECT throws_ok($$INSERT INTO tn_app.loan (id, business_id) VALUES (5, 7102)$$, '42501',
                 'new row violates row-level security policy for table "loan"',
                 'the policy itself refuses rows of another business');
SELECT throws_ok($$UPDATE tn_app.loan SET business_id = 7102$$, '42501',
                 'new row violates row-level security policy for table "loan"',
                 'the policy itself refuses moving a row to another business');
RESET ROLE;
ALTER TABLE tn_app.loan ENABLE TRIGGER _crm_core_tenant_row;
SELECT throws_ok($$SET LOCAL ROLE tn_a; SELECT crm_core.disable_tenant_isolation('tn_app.loan')$$, '42501',
                 'must be owner of relation loan', 'only the owner undoes it');
RESET ROLE;
SELECT throws_ok($$SELECT crm_core.disable_tenant_isolation('crm_core.journal_line')$$, '42501',
                 'crm_core.journal_line is a table of crm_core: it stays isolated',
                 'crm_core''s own tables stay isolated');
-- A partitioned table: its partitions, present, created or attached later, read directly,
-- show the current business only.
CREATE TABLE tn_app.payment (business_id bigint NOT NULL, id bigint, paid_on date NOT NULL)
    PARTITION BY RANGE (paid_on);
CREATE TABLE tn_app.payment_2024 PARTITION OF tn_app.payment FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT crm_core.enable_tenant_isolation('tn_app.payment');
CREATE TABLE tn_app.payment_2025 PARTITION OF tn_app.payment FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE tn_app.payment_2026 (business_id bigint NOT NULL, id bigint, paid_on date NOT NULL);
ALTER TABLE tn_app.payment ATTACH PARTITION tn_app.payment_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO tn_app.payment VALUES (7101, 1, '2024-05-01'), (7102, 2, '2024-05-01'),
    (7101, 3, '2025-05-01'), (7102, 4, '2025-05-01'), (7101, 5, '2026-05-01'), (7102, 6, '2026-05-01');
GRANT SELECT, INSERT ON tn_app.payment, tn_app.payment_2024, tn_app.payment_2025, tn_app.payment_2026 TO tn_a;
SET ROLE tn_a;
SELECT is(ARRAY(SELECT id FROM tn_app.payment_2024 UNION ALL SELECT id FROM tn_app.payment_2025
                UNION ALL SELECT id FROM tn_app.payment_2026 ORDER BY 1), ARRAY[1, 3, 5]::bigint[],
          'partitions read directly, old, created and attached, show A''s rows only');
SELECT throws_ok($$INSERT INTO tn_app.payment_2025 VALUES (7102, 7, '2025-06-01')$$, '42501',
                 'INSERT on tn_app.payment_2025 is refused: the row belongs to business 7102, this transaction acts for business 7101',
                 'a partition written directly refuses another business''s row');
RESET ROLE;
SELECT lives_ok($$SELECT crm_core.disable_tenant_isolation('tn_app.payment')$$, 'disabling covers the partitions');
SELECT is((SELECT count(*) FROM pg_policy WHERE polrelid IN ('tn_app.payment_2024'::regclass,
              'tn_app.payment_2025'::regclass, 'tn_app.payment_2026'::regclass)), 0::bigint,
          'no policy is left on any partition');

-- The guard trigger used where it does not belong, or left behind without its column.
CREATE TRIGGER tn_misplaced AFTER INSERT ON tn_app.note FOR EACH ROW EXECUTE FUNCTION crm_core.tenant_guard();
SELECT throws_ok($$INSERT INTO tn_app.note VALUES (1, 'x')$$, '39P01',
                 'crm_core.tenant_guard() must run BEFORE, per statement or per inserted or updated row',
                 'tenant_guard() refuses to run AFTER');
SELECT throws_ok($$SELECT crm_core.tenant_guard()$$, '39P01', 'crm_core.tenant_guard() must be called as a trigger',
                 'tenant_guard() is a trigger only');
CREATE TABLE tn_app.gone (id bigint, business_id bigint);
SELECT crm_core.enable_tenant_isolation('tn_app.gone');
ALTER TABLE tn_app.gone DROP COLUMN business_id CASCADE;
ALTER TABLE tn_app.gone OWNER TO tn_owner;
SELECT throws_ok($$SET LOCAL ROLE tn_owner; INSERT INTO tn_app.gone VALUES (1)$$, '42703',
                 'tn_app.gone has no column "business_id" for its business',
                 'a guard trigger left without its column refuses writes');
RESET ROLE;
SET ROLE tn_owner;
SELECT lives_ok($$SELECT crm_core.disable_tenant_isolation('tn_app.loan')$$, 'the owner undoes isolation');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_policy WHERE polrelid = 'tn_app.loan'::regclass)
          + (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tn_app.loan'::regclass AND tgname LIKE '_crm_core%'),
          0::bigint, 'its policies and triggers are gone');
SELECT is((SELECT relrowsecurity OR relforcerowsecurity FROM pg_class WHERE oid = 'tn_app.loan'::regclass),
          false, 'and row security is off again');
SET ROLE tn_a;
SELECT is((SELECT count(*) FROM tn_app.loan), 3::bigint, 'A''s login sees every loan again');
RESET ROLE;
RESET crm_core.business_id;

SELECT * FROM finish();
ROLLBACK;
