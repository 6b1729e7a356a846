-- Included (\ir) by crm_collections' pgTAP files, inside their transaction: two businesses set
-- up for collections (71 "acme" in EUR/FR, 72 "other" in INR/IN), the application role allowed
-- to act for both, and helpers. Seeded: the random phone numbers and references below (and
-- lib/import.sql's file hashes) are the same at every run.
\set QUIET on
SELECT setseed(0.42) AS seeded \gset
INSERT INTO crm_core.business (id, name) VALUES (71, 'acme'), (72, 'other');
SELECT count(*) AS setup_rows FROM collections.setup_business(71) \gset
SELECT count(*) AS setup_rows FROM collections.setup_business(72, 'INR', 'IN') \gset
SELECT crm_core.grant_business('crm_core_app', NULL) IS NULL AS granted \gset
SELECT crm_core.grant_business('crm_core_readonly', NULL) IS NULL AS granted \gset

-- Acts as the application of a business for the rest of the transaction (RESET ROLE ends it).
CREATE FUNCTION pg_temp.as_app(business bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('crm_core.business_id', business::text, true);
    SET LOCAL ROLE crm_core_app;
END $$;

-- A customer of business 71 with a fresh phone number.
CREATE FUNCTION pg_temp.customer(name text DEFAULT 'Jeanne Martin', phone_suffix int DEFAULT NULL)
    RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO collections.customer (business_id, full_name, phone)
    VALUES (71, name, '06 12 34 ' || lpad(coalesce(phone_suffix, (random() * 9999)::int)::text, 4, '0'))
    RETURNING id
$$;

-- A debt of business 71 (EUR) owing principal, due_on given, with a plan of n installments
-- (none when n is NULL) whose first installment fell due `first_due_ago` days ago.
CREATE FUNCTION pg_temp.debt(principal numeric, n int DEFAULT NULL, first_due_ago int DEFAULT 0,
                             ref text DEFAULT NULL)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    debt_id bigint;
BEGIN
    INSERT INTO collections.debt_account (business_id, customer_id, external_ref, principal, due_on)
    VALUES (71, pg_temp.customer(), coalesce(ref, 'D-' || md5(random()::text)), principal,
            CURRENT_DATE - first_due_ago)
    RETURNING id INTO debt_id;
    IF n IS NOT NULL THEN
        PERFORM collections.create_plan(debt_id, CURRENT_DATE - first_due_ago, n);
    END IF;
    RETURN debt_id;
END $$;

-- Outstanding of a debt from the view, and a payment by plain INSERT.
CREATE FUNCTION pg_temp.outstanding(debt bigint) RETURNS numeric LANGUAGE sql AS $$
    SELECT outstanding FROM collections.debt_position WHERE debt_account_id = debt
$$;
CREATE FUNCTION pg_temp.pay(debt bigint, amount numeric, ref text DEFAULT NULL) RETURNS bigint
    LANGUAGE sql AS $$
    INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
    VALUES (71, debt, coalesce(ref, 'P-' || md5(random()::text)), amount) RETURNING id
$$;
\set QUIET off
