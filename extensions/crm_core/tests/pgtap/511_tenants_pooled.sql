-- Tenant isolation with real logins and real transactions (dblink into a scratch database):
-- one pooled connection switching tenants with SET LOCAL, transaction after transaction; a
-- tenant-A login trying B; grants changed by another session; the read-only role's audits.
BEGIN;
SELECT plan(33);
\set scratch_prefix crm_core_tenants_
\ir lib/scratch.sql

-- Logins are cluster-wide: created (and dropped at the end) through a committed session,
-- after the scratch databases of an earlier run that died before its end.
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I', datname))
  FROM pg_database WHERE datname LIKE 'crm\_core\_tenants\_%' AND datname <> pg_temp.scratch();
SELECT dblink_connect('admin', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('admin', $$
    DROP ROLE IF EXISTS crm_core_tenants_pool, crm_core_tenants_a, crm_core_tenants_reader,
                        crm_core_tenants_group_b;
    CREATE ROLE crm_core_tenants_pool LOGIN IN ROLE crm_core_app;
    CREATE ROLE crm_core_tenants_a LOGIN IN ROLE crm_core_app;
    CREATE ROLE crm_core_tenants_reader LOGIN IN ROLE crm_core_readonly;
    CREATE ROLE crm_core_tenants_group_b;
$$);
SELECT dblink_exec('admin', $$
    CREATE EXTENSION crm_core;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'A'), (2, 'B');
    INSERT INTO crm_core.account (id, business_id, code, name, kind, currency) VALUES
        (11, 1, 'cash', 'Cash', 'asset', 'EUR'), (12, 1, 'fees', 'Fees', 'income', 'EUR'),
        (21, 2, 'cash', 'Cash', 'asset', 'EUR'), (22, 2, 'fees', 'Fees', 'income', 'EUR');
    SELECT crm_core.grant_business('crm_core_tenants_pool', NULL);
    SELECT crm_core.grant_business('crm_core_tenants_a', 1);
    SELECT crm_core.grant_business('crm_core_tenants_reader', 1);
    SELECT crm_core.grant_business('crm_core_tenants_group_b', 2);
    GRANT EXECUTE ON FUNCTION crm_core.post_entry(bigint, jsonb, text, date, text, text, jsonb),
        crm_core.account_balance(bigint), crm_core.reverse_entry(bigint, text),
        crm_core.unbalanced_entries(), crm_core.check_balances() TO crm_core_app;
    GRANT SELECT ON crm_core.seal_progress, crm_core.audit_log TO crm_core_tenants_pool;
    -- Rows of each isolated crm_core table the caller sees: all, and those of another business.
    CREATE FUNCTION public.isolated_rows(b bigint, OUT visible bigint, OUT foreign_rows bigint)
    LANGUAGE plpgsql AS $f$
    DECLARE
        t record;
        v bigint;
        f bigint;
    BEGIN
        visible := 0;
        foreign_rows := 0;
        FOR t IN SELECT p.polrelid::regclass AS rel,
                        CASE WHEN p.polrelid = 'crm_core.business'::regclass THEN 'id' ELSE 'business_id' END AS key
                   FROM pg_policy AS p JOIN pg_class AS c ON c.oid = p.polrelid
                  WHERE p.polname = 'crm_core_tenant' AND NOT c.relispartition LOOP
            EXECUTE format('SELECT count(*), count(*) FILTER (WHERE %I IS DISTINCT FROM %s) FROM %s',
                           t.key, coalesce(b::text, 'NULL'), t.rel) INTO v, f;
            visible := visible + v;
            foreign_rows := foreign_rows + f;
        END LOOP;
    END;
    $f$;
$$);

-- ---------------------------------------------------------------------------------------
-- One pooled connection, 24 transactions, each for a business drawn at random (seeded).
SELECT dblink_connect('pool', pg_temp.connstr(pg_temp.scratch()) || ' user=crm_core_tenants_pool');
SELECT setseed(0.42);
CREATE TEMP TABLE pooled_run (n int, business bigint, posted_in bigint, visible bigint,
                              foreign_rows bigint, balance numeric, other_balance numeric);
DO $$
DECLARE
    b bigint;
    posted bigint;
    result record;
BEGIN
    FOR n IN 1 .. 24 LOOP
        b := 1 + floor(random() * 2)::int;
        PERFORM dblink_exec('pool', format('BEGIN; SET LOCAL crm_core.business_id = %L', b));
        SELECT id INTO posted FROM dblink('pool', format(
            $q$SELECT crm_core.post_entry(%1$s, '[{"account_id": %1$s1, "debit": 10}, {"account_id": %1$s2, "credit": 10}]')$q$,
            b)) AS t(id bigint);
        SELECT * INTO result FROM dblink('pool', format($q$
            SELECT (SELECT e.business_id FROM crm_core.journal_entry e WHERE e.id = %3$s), r.visible,
                   r.foreign_rows, crm_core.account_balance(%1$s1), crm_core.account_balance(%2$s1)
              FROM public.isolated_rows(%1$s) r$q$, b, 3 - b, posted))
            AS t(posted_in bigint, visible bigint, foreign_rows bigint, balance numeric,
                 other_balance numeric);
        INSERT INTO pooled_run VALUES (n, b, result.posted_in, result.visible, result.foreign_rows,
                                       result.balance, result.other_balance);
        PERFORM dblink_exec('pool', 'COMMIT');
    END LOOP;
END;
$$;
SELECT is((SELECT count(DISTINCT business) FROM pooled_run), 2::bigint,
          'the pooled connection served both businesses');
SELECT is((SELECT count(*) FROM pooled_run WHERE posted_in IS DISTINCT FROM business), 0::bigint,
          'every entry was posted in the business its transaction set');
SELECT is((SELECT count(*) FROM pooled_run WHERE foreign_rows IS DISTINCT FROM 0), 0::bigint,
          'no transaction saw a row of the other business in any crm_core table');
SELECT is((SELECT count(*) FROM pooled_run WHERE NOT visible > 0 OR visible IS NULL), 0::bigint,
          'every transaction saw its own business''s rows');
SELECT is((SELECT count(*) FROM pooled_run WHERE other_balance IS NOT NULL), 0::bigint,
          'account_balance() of the other business''s account was unknown in every transaction');
SELECT is((SELECT count(*) FROM pooled_run r
            WHERE balance IS DISTINCT FROM 10 * (SELECT count(*) FROM pooled_run p
                                                  WHERE p.business = r.business AND p.n <= r.n)), 0::bigint,
          'each balance counted exactly that business''s postings so far');
SELECT is((SELECT array_agg(n ORDER BY b) FROM dblink('admin',
              'SELECT business_id, count(*) FROM crm_core.journal_entry GROUP BY 1') AS t(b bigint, n bigint)),
          (SELECT array_agg(n ORDER BY b) FROM (SELECT business, count(*) FROM pooled_run GROUP BY 1) AS x(b, n)),
          'the superuser counts each business''s entries as the pool posted them');

-- Between transactions the pooled connection acts for no business.
SELECT is((SELECT v FROM dblink('pool', 'SELECT visible FROM public.isolated_rows(NULL)') AS t(v bigint)),
          0::bigint, 'after COMMIT no business is set: nothing is visible');
SELECT throws_ok($$SELECT dblink_exec('pool', 'INSERT INTO crm_core.journal_entry (business_id) VALUES (1)')$$,
                 '42501', 'INSERT on crm_core.journal_entry is refused: no business is set',
                 'after COMMIT no business is set: writes are refused');
SELECT throws_ok($$SELECT dblink_exec('pool', 'UPDATE crm_core.journal_entry SET memo = NULL')$$,
                 '42501', 'UPDATE on crm_core.journal_entry is refused: no business is set',
                 'after COMMIT no business is set: updates are refused');
-- Refusals inside a tenant's transaction, and the same connection carrying on.
SELECT dblink_exec('pool', $$BEGIN; SET LOCAL crm_core.business_id = '1'$$);
SELECT throws_ok($$SELECT * FROM dblink('pool', 'SELECT crm_core.post_entry(2, ''[{"account_id": 21, "debit": 1}, {"account_id": 22, "credit": 1}]'')') AS t(id bigint)$$,
                 '42501', 'INSERT on crm_core.journal_entry is refused: the row belongs to business 2, this transaction acts for business 1',
                 'the pool, acting for A, cannot post in B');
SELECT dblink_exec('pool', 'ROLLBACK');
SELECT dblink_exec('pool', $$BEGIN; SET LOCAL crm_core.business_id = '2'$$);
SELECT id AS a_entry FROM dblink('admin', 'SELECT min(id) FROM crm_core.journal_entry WHERE business_id = 1')
    AS t(id bigint) \gset
SELECT throws_ok(format($$SELECT * FROM dblink('pool', 'SELECT crm_core.reverse_entry(%s)') AS t(id bigint)$$, :a_entry),
                 'P0002', format('journal entry %s does not exist', :a_entry),
                 'acting for B, A''s entry cannot be reversed: it does not exist for B');
SELECT dblink_exec('pool', 'ROLLBACK');
SELECT dblink_exec('pool', $$BEGIN; SET LOCAL crm_core.business_id = '2'$$);
SELECT is((SELECT n FROM dblink('pool', 'SELECT count(*) FROM crm_core.journal_entry WHERE business_id = 1') AS t(n bigint)),
          0::bigint, 'acting for B, A''s entries are invisible, even by business_id');
SELECT is((SELECT n FROM dblink('pool', 'SELECT count(*) FROM crm_core.unbalanced_entries()') AS t(n bigint)),
          0::bigint, 'acting for B, unbalanced_entries() runs over B');
SELECT is((SELECT n FROM dblink('pool', 'SELECT count(*) FROM crm_core.check_balances()') AS t(n bigint)),
          0::bigint, 'acting for B, check_balances() runs over B');
SELECT dblink_exec('pool', 'COMMIT');
-- SET for the whole session (without a pooler): the same rules until RESET.
SELECT dblink_exec('pool', $$SET crm_core.business_id = '2'$$);
SELECT is((SELECT n FROM dblink('pool', 'SELECT count(DISTINCT business_id) FROM crm_core.account') AS t(n bigint)),
          1::bigint, 'a session-level SET acts for one business');
SELECT dblink_exec('pool', 'RESET crm_core.business_id');
SELECT is((SELECT n FROM dblink('pool', 'SELECT count(*) FROM crm_core.account') AS t(n bigint)),
          0::bigint, 'after RESET nothing is visible');

-- ---------------------------------------------------------------------------------------
-- A tenant-A login cannot act for B.
SELECT dblink_connect('a', pg_temp.connstr(pg_temp.scratch()) || ' user=crm_core_tenants_a');
SELECT dblink_exec('a', $$BEGIN; SET LOCAL crm_core.business_id = '1'$$);
SELECT is((SELECT n FROM dblink('a', 'SELECT count(*) FROM crm_core.account') AS t(n bigint)), 2::bigint,
          'A''s login acts for A');
SELECT dblink_exec('a', 'COMMIT');
SELECT dblink_exec('a', $$BEGIN; SET LOCAL crm_core.business_id = '2'$$);
SELECT throws_ok($$SELECT * FROM dblink('a', 'SELECT count(*) FROM crm_core.account') AS t(n bigint)$$,
                 '42501', 'role "crm_core_tenants_a" may not act for business 2',
                 'A''s login setting B cannot read');
SELECT dblink_exec('a', 'ROLLBACK');
SELECT dblink_exec('a', $$SET crm_core.business_id = '2'$$);
SELECT throws_ok($$SELECT dblink_exec('a', 'INSERT INTO crm_core.journal_entry (business_id) VALUES (2)')$$,
                 '42501', 'role "crm_core_tenants_a" may not act for business 2',
                 'A''s login setting B cannot write');
SELECT dblink_exec('a', 'RESET crm_core.business_id');

-- Grants changed by another session apply to A's login's next transaction.
SELECT x FROM dblink('admin', $$SELECT crm_core.revoke_business('crm_core_tenants_a', 1)::text$$) AS t(x text);
SELECT dblink_exec('a', $$BEGIN; SET LOCAL crm_core.business_id = '1'$$);
SELECT throws_ok($$SELECT * FROM dblink('a', 'SELECT count(*) FROM crm_core.account') AS t(n bigint)$$,
                 '42501', 'role "crm_core_tenants_a" may not act for business 1',
                 'a grant revoked by another session stops A''s login at its next transaction');
SELECT dblink_exec('a', 'ROLLBACK');
SELECT x FROM dblink('admin', $$SELECT crm_core.grant_business('crm_core_tenants_a', 1)::text$$) AS t(x text);
SELECT dblink_exec('a', $$BEGIN; SET LOCAL crm_core.business_id = '1'$$);
SELECT is((SELECT n FROM dblink('a', 'SELECT count(*) FROM crm_core.account') AS t(n bigint)), 2::bigint,
          'granted again by another session, A''s login acts for A again');
SELECT dblink_exec('a', 'COMMIT');
SELECT dblink_exec('admin', 'GRANT crm_core_tenants_group_b TO crm_core_tenants_a');
SELECT dblink_exec('a', $$BEGIN; SET LOCAL crm_core.business_id = '2'$$);
SELECT is((SELECT n FROM dblink('a', 'SELECT count(*) FROM crm_core.account') AS t(n bigint)), 2::bigint,
          'made a member of a role granted B by another session, A''s login acts for B');
SELECT dblink_exec('a', 'COMMIT');
SELECT dblink_exec('admin', 'REVOKE crm_core_tenants_group_b FROM crm_core_tenants_a');
SELECT dblink_exec('a', $$BEGIN; SET LOCAL crm_core.business_id = '2'$$);
SELECT throws_ok($$SELECT * FROM dblink('a', 'SELECT count(*) FROM crm_core.account') AS t(n bigint)$$,
                 '42501', 'role "crm_core_tenants_a" may not act for business 2',
                 'that membership revoked by another session stops A''s login at its next transaction');
SELECT dblink_exec('a', 'ROLLBACK');
-- The global view follows crm_core_service membership the same way.
SELECT dblink_exec('admin', 'GRANT crm_core_service TO crm_core_tenants_a');
SELECT lives_ok($$SELECT dblink_exec('a', 'UPDATE crm_core.journal_entry SET memo = memo WHERE false')$$,
                'made a member of crm_core_service, A''s login writes with no business set');
SELECT dblink_exec('admin', 'REVOKE crm_core_service FROM crm_core_tenants_a');
SELECT throws_ok($$SELECT dblink_exec('a', 'UPDATE crm_core.journal_entry SET memo = memo WHERE false')$$,
                 '42501', 'UPDATE on crm_core.journal_entry is refused: no business is set',
                 'no longer a member, it is refused again');

-- A value that is not a business id, set before the library loaded: dropped with a warning
-- when it loads, so it acts for no business.
SELECT dblink_connect('fresh', pg_temp.connstr(pg_temp.scratch()) || ' user=crm_core_tenants_pool');
SELECT dblink_exec('fresh', $$SET crm_core.business_id = 'abc'$$);
SELECT is((SELECT n FROM dblink('fresh', 'SELECT count(*) FROM crm_core.account') AS t(n bigint)), 0::bigint,
          'an invalid value set before the library loaded shows nothing');
SELECT throws_ok($$SELECT dblink_exec('fresh', 'INSERT INTO crm_core.journal_entry (business_id) VALUES (1)')$$,
                 '42501', 'INSERT on crm_core.journal_entry is refused: no business is set',
                 'and writes nothing');
SELECT dblink_disconnect('fresh');

-- ---------------------------------------------------------------------------------------
-- The read-only login audits its business: the seal chain, its digest, the audit log.
SELECT n AS sealed FROM dblink('admin', 'SELECT count(*) FROM crm_core.seal_ledger()') AS t(n bigint) \gset
SELECT dblink_connect('reader', pg_temp.connstr(pg_temp.scratch()) || ' user=crm_core_tenants_reader');
SELECT dblink_exec('reader', $$SET crm_core.business_id = '1'$$);
SELECT is((SELECT array_agg(b ORDER BY b) FROM dblink('reader', 'SELECT business_id FROM crm_core.verify_ledger() WHERE ok')
             AS t(b bigint)), ARRAY[1::bigint], 'verify_ledger() as the read-only login verifies its business');
SELECT is((SELECT d FROM dblink('reader', 'SELECT crm_core.ledger_digest()') AS t(d text)) ~ ' 2:', false,
          'ledger_digest() as the read-only login names its business only');
SELECT is((SELECT d FROM dblink('admin', 'SELECT crm_core.ledger_digest()') AS t(d text)) ~ ' 1:.* 2:', true,
          'the superuser''s digest names both businesses');
SELECT is((SELECT n FROM dblink('reader', 'SELECT count(*) FROM crm_core.ledger_block WHERE business_id = 2') AS t(n bigint)),
          0::bigint, 'B''s sealed blocks are invisible to A''s reader');
SELECT is((SELECT n FROM dblink('reader', 'SELECT sealed_blocks FROM crm_core.seal_status') AS t(n bigint)),
          (SELECT n FROM dblink('admin', 'SELECT count(*) FROM crm_core.ledger_block WHERE business_id = 1') AS t(n bigint)),
          'seal_status counts A''s blocks for A''s reader');

SELECT dblink_disconnect('pool');
SELECT dblink_disconnect('a');
SELECT dblink_disconnect('reader');
SELECT dblink_disconnect('admin');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I', pg_temp.scratch()));
SELECT dblink_exec(pg_temp.connstr('postgres'), 'DROP ROLE crm_core_tenants_pool, crm_core_tenants_a,
    crm_core_tenants_reader, crm_core_tenants_group_b');
SELECT * FROM finish();
ROLLBACK;
