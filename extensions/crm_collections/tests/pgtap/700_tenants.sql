-- Tenant isolation (crm_core, docs/tenants.md) over every crm_collections table and function:
-- a login granted business 71 never reads or writes business 72's customers, debts, plans or
-- payments, by SQL or through any collections function or trigger, and with no business set
-- it sees nothing and writes nothing.
BEGIN;
SELECT plan(47);
\ir lib/fixture.sql

-- Both businesses' data, written as the superuser (global view).
INSERT INTO collections.customer (business_id, id, full_name, phone, national_id)
VALUES (71, 7101, 'Jeanne Martin', '0612345678', 'FR-1'), (72, 7201, 'Ravi Kumar', '98765 43210', 'IN-1');
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, due_on)
VALUES (71, 7801, 7101, 'A-1', 300, CURRENT_DATE), (72, 7802, 7201, 'B-1', 3000, CURRENT_DATE);
SELECT collections.create_plan(7801, CURRENT_DATE, 3) IS NOT NULL AS planned \gset
SELECT collections.create_plan(7802, CURRENT_DATE, 3) IS NOT NULL AS planned \gset
INSERT INTO collections.payment (business_id, id, debt_account_id, reference, amount)
VALUES (71, 7901, 7801, 'PA-1', 10), (72, 7902, 7802, 'PB-1', 100);
INSERT INTO collections.risk_flag (business_id, customer_id, kind) VALUES (71, 7101, 'dispute'), (72, 7201, 'dispute');
INSERT INTO collections.collateral (business_id, id, owner_customer_id, kind, value, currency) VALUES (72, 7951, 7201, 'vehicle', 5000, 'INR');
INSERT INTO collections.guarantor (business_id, debt_account_id, customer_id, role) VALUES (72, 7802, 7201, 'co_borrower');
SELECT count(*) >= 0 AS ran FROM collections.run_dpd() \gset

-- One login per business; the fixture's crm_core_app is granted every business, so these
-- logins are not members of it: each gets crm_core_app's privileges from a group of its own.
CREATE ROLE tc_app NOLOGIN;
GRANT crm_core_app TO tc_app;
CREATE ROLE tc_a LOGIN;
CREATE ROLE tc_b LOGIN;
CREATE ROLE tc_reader_a LOGIN;
SELECT crm_core.revoke_business('crm_core_app') > 0 AS revoked \gset
SELECT crm_core.revoke_business('crm_core_readonly') > 0 AS revoked \gset
GRANT crm_core_app TO tc_a, tc_b;
GRANT crm_core_readonly TO tc_reader_a;
SELECT crm_core.grant_business('tc_a', 71), crm_core.grant_business('tc_b', 72),
       crm_core.grant_business('tc_reader_a', 71);

-- Acts as login for business (NULL: none) for the rest of the transaction.
CREATE FUNCTION pg_temp.act(login name, business bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('crm_core.business_id', coalesce(business::text, ''), true);
    EXECUTE format('SET LOCAL ROLE %I', login);
END $$;
-- For each table of the schema keyed by business: the rows the caller sees, and those of
-- another business than b among them.
CREATE FUNCTION pg_temp.visible_rows(b bigint)
RETURNS TABLE (relation regclass, visible bigint, foreign_rows bigint) LANGUAGE plpgsql AS $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_class c
              WHERE c.relnamespace = 'collections'::regnamespace AND c.relkind IN ('r', 'p')
                AND NOT c.relispartition
                AND has_table_privilege(c.oid, 'SELECT')
                AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                               AND a.attname = 'business_id' AND NOT a.attisdropped)
              ORDER BY 1 LOOP
        relation := t;
        EXECUTE format('SELECT count(*), count(*) FILTER (WHERE business_id IS DISTINCT FROM %s) FROM %s',
                       coalesce(b::text, 'NULL'), t) INTO visible, foreign_rows;
        RETURN NEXT;
    END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.visible_rows(bigint), pg_temp.act(name, bigint) TO PUBLIC;
-- Rows a statement changed, as the caller.
CREATE FUNCTION pg_temp.affected(statement text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE statement;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.affected(text) TO PUBLIC;
-- B's money as the superuser sees it: its ledger lines, payments, allocations and adjustments.
CREATE FUNCTION pg_temp.b_money() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s lines, %s payments, %s allocations, %s adjustments, %s plans, %s customers',
                  (SELECT count(*) FROM crm_core.journal_line WHERE business_id = 72),
                  (SELECT count(*) FROM collections.payment WHERE business_id = 72),
                  (SELECT count(*) FROM collections.payment_allocation WHERE business_id = 72),
                  (SELECT count(*) FROM collections.adjustment WHERE business_id = 72),
                  (SELECT count(*) FROM collections.repayment_plan WHERE business_id = 72),
                  (SELECT count(*) FROM collections.customer WHERE business_id = 72))
$$;
SELECT pg_temp.b_money() AS b_before \gset
-- Payments go to monthly partitions, and the tenant check names the table the row goes to.
SELECT tableoid::regclass AS payments FROM collections.payment WHERE id = 7901 \gset

-- ---------------------------------------------------------------------------------------
-- Catalog: every table of the schema keyed by business is isolated, partitions included.
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace = 'collections'::regnamespace AND c.relkind IN ('r', 'p')
                   AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                                  AND a.attname = 'business_id' AND NOT a.attisdropped)
                   AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                            AND EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'crm_core_tenant')
                            AND EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'crm_core_global_view'))),
          '{}'::text[], 'every collections table keyed by business, and each partition, has forced row security and both policies');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c
                 WHERE c.relnamespace = 'collections'::regnamespace AND c.relkind IN ('r', 'p')
                   AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                                      AND a.attname = 'business_id' AND NOT a.attisdropped)
                 ORDER BY c.relname),
          ARRAY['fingerprint_key', 'job_run'],
          'the fingerprint key and the workflow''s job log (no business, no grant to the application) are the only tables without');
SELECT is((SELECT min(tgname) FROM pg_trigger t
            WHERE t.tgrelid = r AND (t.tgtype & 2) = 2 AND (t.tgtype & 1) = 1 AND NOT t.tgisinternal),
          '_crm_core_tenant_row'::text,
          format('the tenant check fires before crm_collections'' own BEFORE ROW triggers on %s', r))
  FROM unnest(ARRAY['collections.customer', 'collections.debt_account', 'collections.repayment_plan',
                    'collections.payment', 'collections.payment_reversal', 'collections.adjustment']::regclass[]) AS r;
SELECT is((SELECT count(*) FROM pg_temp.visible_rows(NULL) WHERE foreign_rows > 0 AND relation IN (
               'collections.customer'::regclass, 'collections.debt_account', 'collections.installment',
               'collections.repayment_plan', 'collections.payment', 'collections.payment_allocation',
               'collections.payment_reference', 'collections.gl_account', 'collections.product',
               'collections.bucket', 'collections.business_settings', 'collections.risk_flag',
               'collections.collateral', 'collections.guarantor')),
          14::bigint, 'the superuser sees both businesses in every table this test looks at');

-- ---------------------------------------------------------------------------------------
-- No business set: nothing visible, every write refused.
SELECT pg_temp.act('tc_a', NULL);
SELECT is((SELECT sum(visible) FROM pg_temp.visible_rows(NULL)), 0::numeric,
          'no business set: no row of any collections table is visible');
SELECT is((SELECT count(*) FROM collections.debt_position), 0::bigint, 'nor any debt position');
SELECT throws_ok($$INSERT INTO collections.customer (business_id, full_name) VALUES (71, 'X')$$, '42501',
                 'INSERT on collections.customer is refused: no business is set',
                 'no business set: a customer is refused');
SELECT throws_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                   VALUES (71, 7801, 'PA-none', 5)$$, '42501',
                 format('INSERT on %s is refused: no business is set', :'payments'),
                 'no business set: a payment is refused before anything is posted');
SELECT throws_ok($$SELECT collections.charge(7801, 'fee', 5, 'x')$$, '23503', 'debt account 7801 does not exist',
                 'no business set: charge() finds no debt');
RESET ROLE;

-- ---------------------------------------------------------------------------------------
-- Business A's login: its own rows only.
SELECT pg_temp.act('tc_a', 71);
SELECT is((SELECT sum(foreign_rows) FROM pg_temp.visible_rows(71)), 0::numeric,
          'A''s login sees no row of another business in any collections table');
SELECT cmp_ok((SELECT count(*) FROM pg_temp.visible_rows(71) WHERE visible > 0), '>=', 10::bigint,
              'and sees its own rows (customers, debts, plans, installments, payments, allocations ...)');
SELECT is(ARRAY(SELECT debt_account_id FROM collections.debt_position ORDER BY 1), ARRAY[7801::bigint],
          'debt_position shows A''s debts only');
SELECT is(ARRAY(SELECT DISTINCT business_id FROM collections.portfolio_aging), ARRAY[]::bigint[],
          'portfolio_aging shows no other business (nothing refreshed yet)');
SELECT throws_ok($$SELECT collections.find_or_create_customer(72, 'X', '0611111111', NULL)$$, '42501',
                 'INSERT on collections.customer is refused: the row belongs to business 72, this transaction acts for business 71',
                 'find_or_create_customer() for B is refused to A');
SELECT isnt(collections.find_or_create_customer(71, 'Ravi Kumar', '+91 98765 43210', 'IN-1'), 7201::bigint,
            'find_or_create_customer() with B''s customer''s phone and id never returns B''s customer');
SELECT throws_ok($$INSERT INTO collections.customer (business_id, full_name) VALUES (72, 'X')$$, '42501',
                 'INSERT on collections.customer is refused: the row belongs to business 72, this transaction acts for business 71',
                 'a customer in B is refused');
SELECT throws_ok($$INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal)
                   VALUES (72, 7201, 'A-in-B', 100)$$, '42501',
                 'INSERT on collections.debt_account is refused: the row belongs to business 72, this transaction acts for business 71',
                 'a debt in B is refused before its opening entry is posted');
SELECT throws_ok($$INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal)
                   VALUES (71, 7201, 'A-for-B', 100)$$, '23503', NULL,
                 'a debt of A for B''s customer fails its foreign key like an unknown customer');
SELECT throws_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                   VALUES (72, 7802, 'PB-by-A', 5)$$, '42501',
                 format('INSERT on %s is refused: the row belongs to business 72, this transaction acts for business 71', :'payments'),
                 'a payment in B is refused before anything is allocated or posted');
SELECT throws_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                   VALUES (71, 7802, 'PA-on-B', 5)$$, '23503',
                 'debt account 7802 does not exist in business 71',
                 'a payment of A on B''s debt is refused as an unknown debt');
SELECT throws_ok($$SELECT collections.record_payment(72, 7802, 'PB-rec', 5)$$, '42501',
                 format('INSERT on %s is refused: the row belongs to business 72, this transaction acts for business 71', :'payments'),
                 'record_payment() for B is refused');
SELECT throws_ok($$SELECT collections.record_payment(72, 7802, 'PB-1', 100)$$, '42501',
                 format('INSERT on %s is refused: the row belongs to business 72, this transaction acts for business 71', :'payments'),
                 'record_payment() with B''s existing reference does not return B''s payment');
SELECT throws_ok($$SELECT collections.reverse_payment(7902, 'bounced')$$, '23503', 'payment 7902 does not exist',
                 'reverse_payment() of B''s payment: unknown to A');
SELECT throws_ok($$SELECT collections.charge(7802, 'fee', 5, 'x')$$, '23503', 'debt account 7802 does not exist',
                 'charge() on B''s debt: unknown to A');
SELECT throws_ok($$SELECT collections.write_off(7802, 5, 'x')$$, '23503', 'debt account 7802 does not exist',
                 'write_off() of B''s debt: unknown to A');
SELECT throws_ok($$SELECT collections.restructure_plan(7802, CURRENT_DATE, 6)$$, '23503', 'debt account 7802 does not exist',
                 'restructure_plan() of B''s debt: unknown to A');
SELECT throws_ok($$INSERT INTO collections.adjustment (business_id, debt_account_id, kind, amount, reason)
                   VALUES (72, 7802, 'fee', 5, 'x')$$, '42501',
                 'INSERT on collections.adjustment is refused: the row belongs to business 72, this transaction acts for business 71',
                 'an adjustment in B is refused');
SELECT throws_ok($$INSERT INTO collections.payment_reversal (business_id, payment_id, reason) VALUES (72, 7902, 'x')$$, '42501',
                 'INSERT on collections.payment_reversal is refused: the row belongs to business 72, this transaction acts for business 71',
                 'a reversal in B is refused');
SELECT is(pg_temp.affected($$UPDATE collections.customer SET full_name = 'hacked' WHERE id = 7201$$), 0::bigint,
          'B''s customer cannot be updated (it is invisible)');
SELECT is(pg_temp.affected($$DELETE FROM collections.customer WHERE id = 7201$$), 0::bigint,
          'nor deleted');
SELECT is(pg_temp.affected($$UPDATE collections.debt_account SET branch = 'hacked' WHERE id = 7802$$), 0::bigint,
          'B''s debt cannot be updated');
SELECT lives_ok($$SELECT collections.charge(7801, 'fee', 5, 'late letter')$$, 'A charges a fee on its own debt');
SELECT lives_ok($$INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
                  VALUES (71, 7801, 'PA-2', 20)$$, 'and records a payment on it');
SELECT is((SELECT count(*) FROM collections.check_positions()), 0::bigint, 'check_positions() is empty for A');
RESET ROLE;

-- The read-only login of A.
SELECT pg_temp.act('tc_reader_a', 71);
SELECT is((SELECT sum(foreign_rows) FROM pg_temp.visible_rows(71)), 0::numeric,
          'A''s read-only login sees no row of another business');
RESET ROLE;

-- A's login setting B.
SELECT pg_temp.act('tc_a', 72);
SELECT throws_ok($$SELECT count(*) FROM collections.customer$$, '42501', 'role "tc_a" may not act for business 72',
                 'A''s login setting B reads nothing: refused');
RESET ROLE;

-- B's login sees its payment untouched; the superuser sees B's money as it was.
SELECT pg_temp.act('tc_b', 72);
SELECT is((SELECT outstanding FROM collections.debt_position WHERE debt_account_id = 7802), 2900.00,
          'B''s login sees its debt as before');
SELECT is((SELECT string_agg(full_name, ',') FROM collections.customer), 'Ravi Kumar', 'and its one customer');
RESET ROLE;
RESET crm_core.business_id;
SELECT is(pg_temp.b_money(), :'b_before', 'nothing of B''s money, plans or customers changed');
SELECT is((SELECT count(*) FROM collections.check_positions()), 0::bigint, 'every position agrees with the ledger');

-- crm-core-service's health check sees every business, with no business set.
CREATE ROLE tc_service IN ROLE crm_core_service;
-- A drift in B (a write no application could make): the service's check must find it.
UPDATE collections.installment SET principal_paid = principal_paid + 1
 WHERE business_id = 72 AND id = (SELECT min(id) FROM collections.installment WHERE business_id = 72);
SET LOCAL ROLE tc_service;
SELECT is(ARRAY(SELECT DISTINCT business_id FROM collections.check_positions()), ARRAY[72::bigint],
          'crm_core_service runs check_positions() over every business and finds B''s drift');
RESET ROLE;
SELECT pg_temp.act('tc_a', 71);
SELECT is((SELECT count(*) FROM collections.check_positions()), 0::bigint,
          'A''s login does not see B''s drift');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
