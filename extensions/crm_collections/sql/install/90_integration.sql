-- crm_collections under crm_core's rules: tenant isolation, append-only history, monthly
-- partitions, audit of customer PII and debt status, dashboards per tenant, privileges, and
-- what pg_dump keeps.

-- ---------------------------------------------------------------------------------------
-- Dashboards as each tenant sees them.
CREATE VIEW collections.portfolio_aging WITH (security_barrier) AS
SELECT * FROM collections.portfolio_aging_mv WHERE business_id = crm_core.current_business();
CREATE VIEW collections.collections_per_day WITH (security_barrier) AS
SELECT * FROM collections.collections_per_day_mv WHERE business_id = crm_core.current_business();
CREATE VIEW collections.roll_rates WITH (security_barrier) AS
SELECT * FROM collections.roll_rate_mv WHERE business_id = crm_core.current_business();
COMMENT ON VIEW collections.portfolio_aging IS 'Portfolio aging of the current business (crm_core.business_id).';
COMMENT ON VIEW collections.collections_per_day IS 'Collections per UTC day of the current business.';
COMMENT ON VIEW collections.roll_rates IS 'Month-to-month bucket roll rates of the current business.';

-- ---------------------------------------------------------------------------------------
-- Tenant isolation: crm_core_app and crm_core_readonly see and write the current business's
-- rows only.
SELECT crm_core.enable_tenant_isolation(t::regclass)
  FROM unnest(ARRAY['collections.business_settings', 'collections.gl_account', 'collections.product',
                    'collections.bucket', 'collections.customer', 'collections.income_expense_profile',
                    'collections.risk_flag', 'collections.debt_account', 'collections.collateral',
                    'collections.debt_collateral', 'collections.guarantor', 'collections.repayment_plan',
                    'collections.installment', 'collections.dpd_due', 'collections.payment', 'collections.payment_reference',
                    'collections.payment_allocation', 'collections.payment_reversal',
                    'collections.adjustment', 'collections.dpd_history']) AS t;

-- ---------------------------------------------------------------------------------------
-- Append-only history: no UPDATE, DELETE or TRUNCATE, on every partition present and future.
SELECT crm_core.make_append_only(t::regclass)
  FROM unnest(ARRAY['collections.payment', 'collections.payment_reference',
                    'collections.payment_allocation', 'collections.payment_reversal',
                    'collections.adjustment', 'collections.dpd_history']) AS t;

-- Monthly partitions premade three months ahead by crm_core.run_maintenance(), kept forever
-- (money records; shorten with crm_core.alter_partitioning). Registered without creating
-- partitions: tables made during CREATE EXTENSION would be extension members, whose rows
-- pg_dump skips. Until maintenance runs (setup_business runs it), rows go to the default
-- partitions.
INSERT INTO crm_core.partition_config (parent, control_column, partition_interval, premake, by_extension)
VALUES ('collections.payment', 'paid_at', interval '1 month', 3, true),
       ('collections.payment_allocation', 'paid_at', interval '1 month', 3, true),
       ('collections.dpd_history', 'as_of', interval '1 month', 3, true);

-- History older than this month (an import of past payments, demo data) needs its months
-- before it arrives: rows of a month without a partition wait in the default partition, and
-- crm_core cannot move append-only rows out of it. Creates the missing monthly partitions of
-- payments, allocations and days-past-due history from since's month to this one (none for a
-- month whose rows already wait in a default partition). Returns what it created.
CREATE FUNCTION collections.prepare_history(since date)
    RETURNS TABLE (parent regclass, partition_name text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    config crm_core.partition_config;
    month timestamp;
    slot record;
BEGIN
    IF since IS NULL OR since < CURRENT_DATE - interval '50 years' THEN
        RAISE EXCEPTION 'since must be a date within the last 50 years, not %', coalesce(since::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR config IN
        SELECT * FROM crm_core.partition_config c
         WHERE c.parent IN ('collections.payment'::regclass, 'collections.payment_allocation'::regclass,
                            'collections.dpd_history'::regclass)
         ORDER BY c.parent::text
    LOOP
        FOR month IN SELECT generate_series(date_trunc('month', since::timestamp),
                                            date_trunc('month', now() AT TIME ZONE 'UTC'), interval '1 month')
        LOOP
            SELECT * INTO slot FROM crm_core._partition_slot(
                (SELECT c.relname::text FROM pg_catalog.pg_class c WHERE c.oid = config.parent),
                config.partition_interval, month);
            CONTINUE WHEN EXISTS (SELECT FROM crm_core._partition_bounds(config.parent) b
                                   WHERE NOT b.is_default AND b.lower_bound < slot.upper_bound
                                     AND slot.lower_bound < b.upper_bound);
            CONTINUE WHEN crm_core._default_has_rows(
                (SELECT b.relid::regclass FROM crm_core._partition_bounds(config.parent) b WHERE b.is_default),
                config.control_column, slot.lower_bound, slot.upper_bound);
            PERFORM crm_core._create_partition(config.parent, 'collections', slot.partition_name,
                                               config.control_column, slot.lower_bound, slot.upper_bound);
            parent := config.parent;
            partition_name := slot.partition_name;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections.prepare_history(date) FROM PUBLIC;
COMMENT ON FUNCTION collections.prepare_history(date) IS
    'Creates the monthly partitions of payments, allocations and history from since to now, before past rows are loaded.';

-- Customer PII and debt status changes go to crm_core.audit_log; risk flags entirely.
SELECT crm_core.audit_table('collections.customer', ARRAY['full_name', 'phone', 'national_id', 'email']);
SELECT crm_core.audit_table('collections.debt_account', ARRAY['status']);
SELECT crm_core.audit_table('collections.risk_flag');

-- The registrations above are the extension's: CREATE EXTENSION makes them again on restore.
UPDATE crm_core.append_only_table SET by_extension = true
 WHERE relid IN (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = 'collections'::regnamespace);
UPDATE crm_core.audited_table SET by_extension = true
 WHERE relid IN (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = 'collections'::regnamespace);
UPDATE crm_core.matview SET by_extension = true
 WHERE view IN (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = 'collections'::regnamespace);

-- ---------------------------------------------------------------------------------------
-- Privileges. The application writes what it owns (customers, debts, plans by INSERT, money
-- events by INSERT) and reads the rest; crm_collections' triggers write the kept columns and
-- tables (allocations, installments, references, history) as the extension's owner.
GRANT SELECT ON ALL TABLES IN SCHEMA collections TO crm_core_app, crm_core_readonly;
REVOKE SELECT ON collections.fingerprint_key FROM crm_core_app, crm_core_readonly;
REVOKE SELECT ON collections.portfolio_aging_mv, collections.collections_per_day_mv,
                 collections.roll_rate_mv FROM crm_core_app, crm_core_readonly;

GRANT INSERT, DELETE ON collections.product, collections.bucket, collections.collateral,
    collections.debt_collateral, collections.guarantor TO crm_core_app;
GRANT UPDATE (name, allocation_order, allocation_strategy, grace_days) ON collections.product TO crm_core_app;
GRANT UPDATE (code, name, min_days, max_days) ON collections.bucket TO crm_core_app;
GRANT UPDATE (kind, description, value, currency, valuation_date, source_system, source_ref, last_synced_at)
    ON collections.collateral TO crm_core_app;
GRANT UPDATE (pledged_amount) ON collections.debt_collateral TO crm_core_app;
GRANT UPDATE (role, guaranteed_amount, relationship) ON collections.guarantor TO crm_core_app;

GRANT INSERT (business_id, id, full_name, phone, national_id, email, state, source_system, source_ref,
              last_synced_at, last_contact_at, metadata, created_at),
      UPDATE (full_name, phone, national_id, email, state, source_system, source_ref, last_synced_at,
              last_contact_at, metadata),
      DELETE ON collections.customer TO crm_core_app;
GRANT INSERT, UPDATE (assessed_on, currency, monthly_income, monthly_expenses, employment_status, employer,
                      dependents, housing, note)
    ON collections.income_expense_profile TO crm_core_app;
GRANT INSERT, UPDATE (cleared_at, cleared_by, cleared_note) ON collections.risk_flag TO crm_core_app;

GRANT INSERT (business_id, id, customer_id, external_ref, product_id, kind, currency, principal,
              opening_balance, opened_on, due_on, branch, cluster, employee, source_system,
              last_synced_at, metadata, created_at),
      UPDATE (status, due_on, branch, cluster, employee, source_system, last_synced_at, metadata)
    ON collections.debt_account TO crm_core_app;
GRANT INSERT (business_id, id, debt_account_id, first_due, installments, every, supersedes_plan_id, reason)
    ON collections.repayment_plan TO crm_core_app;
GRANT INSERT (business_id, id, debt_account_id, reference, amount, currency, paid_at, channel, metadata)
    ON collections.payment TO crm_core_app;
GRANT INSERT (business_id, payment_id, reason, reversed_at) ON collections.payment_reversal TO crm_core_app;
GRANT INSERT (business_id, id, debt_account_id, kind, amount, reason, effective_on)
    ON collections.adjustment TO crm_core_app;

GRANT EXECUTE ON FUNCTION collections._debt(bigint), collections._payment(bigint),
    collections.customer_fingerprint(bigint, text, text) TO crm_core_app;
REVOKE EXECUTE ON FUNCTION collections._debt(bigint), collections._payment(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION collections.check_positions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION collections.check_positions() TO crm_core_app, crm_core_readonly;
-- crm-core-service's /healthz runs check_positions() for every business (crm_core_service sees
-- every business's rows, docs/tenants.md): it reads what the check reads, and nothing else.
GRANT USAGE ON SCHEMA collections TO crm_core_service;
GRANT EXECUTE ON FUNCTION collections.check_positions() TO crm_core_service;
GRANT SELECT ON collections.debt_account, collections.product, collections.installment,
    collections.payment_allocation, collections.adjustment, collections._ledger_position
    TO crm_core_service;

-- ---------------------------------------------------------------------------------------
-- pg_dump: the tables are extension members, so their rows are dumped only when marked (the
-- partitions maintenance creates later are not members and are dumped as they are). The
-- fingerprint key is dumped too: restored fingerprints stay valid; protect dumps accordingly.
-- (One call per statement: each call rewrites the extension's catalog row.)
SELECT pg_catalog.pg_extension_config_dump('collections.business_settings', '');
SELECT pg_catalog.pg_extension_config_dump('collections.fingerprint_key', '');
SELECT pg_catalog.pg_extension_config_dump('collections.gl_account', '');
SELECT pg_catalog.pg_extension_config_dump('collections.product', '');
SELECT pg_catalog.pg_extension_config_dump('collections.product_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.bucket', '');
SELECT pg_catalog.pg_extension_config_dump('collections.bucket_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.customer', '');
SELECT pg_catalog.pg_extension_config_dump('collections.customer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.income_expense_profile', '');
SELECT pg_catalog.pg_extension_config_dump('collections.income_expense_profile_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.risk_flag', '');
SELECT pg_catalog.pg_extension_config_dump('collections.risk_flag_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.debt_account', '');
SELECT pg_catalog.pg_extension_config_dump('collections.debt_account_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.collateral', '');
SELECT pg_catalog.pg_extension_config_dump('collections.collateral_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.debt_collateral', '');
SELECT pg_catalog.pg_extension_config_dump('collections.guarantor', '');
SELECT pg_catalog.pg_extension_config_dump('collections.guarantor_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.repayment_plan', '');
SELECT pg_catalog.pg_extension_config_dump('collections.repayment_plan_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.installment', '');
SELECT pg_catalog.pg_extension_config_dump('collections.installment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.dpd_due', '');
SELECT pg_catalog.pg_extension_config_dump('collections.payment_default', '');
SELECT pg_catalog.pg_extension_config_dump('collections.payment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.payment_reference', '');
SELECT pg_catalog.pg_extension_config_dump('collections.payment_allocation_default', '');
SELECT pg_catalog.pg_extension_config_dump('collections.payment_allocation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.payment_reversal', '');
SELECT pg_catalog.pg_extension_config_dump('collections.adjustment', '');
SELECT pg_catalog.pg_extension_config_dump('collections.adjustment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.dpd_history_default', '');
SELECT pg_catalog.pg_extension_config_dump('collections.dpd_history_id_seq', '');
