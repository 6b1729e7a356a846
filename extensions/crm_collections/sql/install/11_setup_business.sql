-- collections.setup_business(): a business set up for collections in one call (the tables it
-- fills: 10_setup.sql).

CREATE FUNCTION collections._is_phone_country(country text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_collections_is_phone_country' LANGUAGE C STRICT IMMUTABLE;

-- Sets a business up for collections: settings, the fingerprint key (once per database), the
-- chart of accounts for currency, default buckets and the product "standard". Idempotent: a
-- second call creates only what is missing; a call with another currency adds that
-- currency's accounts and a product "standard-<currency>". Returns what it created.
CREATE FUNCTION collections.setup_business(business_id bigint, currency text DEFAULT 'EUR',
                                           country text DEFAULT 'FR')
    RETURNS TABLE (object text, code text, id bigint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    settings collections.business_settings;
    chart_role record;
    account crm_core.account;
    product_code text;
BEGIN
    IF business_id IS NULL OR currency IS NULL OR country IS NULL THEN
        RAISE EXCEPTION 'business_id, currency and country are required'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM crm_core.business b WHERE b.id = business_id) THEN
        RAISE EXCEPTION 'business % does not exist', business_id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = format('INSERT INTO crm_core.business (id, name) VALUES (%s, ''...'') first.', business_id);
    END IF;
    PERFORM collections.currency_decimals(currency);
    IF country !~ '^[A-Z]{2}$' OR NOT collections._is_phone_country(country) THEN
        RAISE EXCEPTION 'country % is not an ISO 3166 country code libphonenumber knows', country
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give two upper-case letters, such as FR, IN or US.';
    END IF;
    -- One setup of a business at a time.
    PERFORM pg_advisory_xact_lock(hashtext('collections.setup_business')::bigint << 32 | business_id);

    INSERT INTO collections.business_settings AS s (business_id, currency, country)
    VALUES (business_id, currency, country) ON CONFLICT ON CONSTRAINT business_settings_pkey DO NOTHING;
    IF FOUND THEN
        object := 'business_settings'; code := currency || ' ' || country; id := business_id;
        RETURN NEXT;
    END IF;
    SELECT * INTO settings FROM collections.business_settings s WHERE s.business_id = business_id;
    IF settings.country <> country THEN
        RAISE EXCEPTION 'business % is set up with phone country %, not %', business_id, settings.country, country
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('UPDATE collections.business_settings SET country = %L WHERE business_id = %s; changes it for numbers read from now on.',
                                country, business_id);
    END IF;

    INSERT INTO collections.fingerprint_key (key) VALUES (collections._new_fingerprint_key())
    ON CONFLICT ON CONSTRAINT fingerprint_key_pkey DO NOTHING;
    IF FOUND THEN
        object := 'fingerprint_key'; code := NULL; id := NULL;
        RETURN NEXT;
    END IF;

    FOR chart_role IN
        SELECT * FROM (VALUES
            ('cash', '1010', 'Collections cash', 'asset', 'none'),
            ('principal_receivable', '1210', 'Receivable: principal', 'asset', 'none'),
            ('interest_receivable', '1220', 'Receivable: interest', 'asset', 'none'),
            ('fee_receivable', '1230', 'Receivable: fees', 'asset', 'none'),
            ('penalty_receivable', '1240', 'Receivable: penalties', 'asset', 'none'),
            ('credit_balance', '2410', 'Customer credit balances', 'liability', 'debits_must_not_exceed_credits'),
            ('opening_balance', '3910', 'Opening balances of migrated debts', 'equity', 'none'),
            ('interest_income', '4210', 'Interest income', 'income', 'none'),
            ('fee_income', '4220', 'Fee income', 'income', 'none'),
            ('penalty_income', '4230', 'Penalty income', 'income', 'none'),
            ('write_off_expense', '6810', 'Debts written off', 'expense', 'none')
        ) AS r(role, number, name, kind, overdraft)
    LOOP
        SELECT * INTO account FROM crm_core.account a
         WHERE a.business_id = business_id AND a.code = chart_role.number || '-' || currency;
        IF NOT FOUND THEN
            INSERT INTO crm_core.account AS a (business_id, code, name, kind, currency, overdraft)
            VALUES (business_id, chart_role.number || '-' || currency,
                    chart_role.name || ' (' || currency || ')', chart_role.kind, currency,
                    chart_role.overdraft)
            RETURNING * INTO account;
            object := 'account'; code := account.code; id := account.id;
            RETURN NEXT;
        ELSIF account.kind <> chart_role.kind OR account.currency <> currency THEN
            RAISE EXCEPTION 'account % of business % is a % account in %, not % in %', account.code,
                            business_id, account.kind, account.currency, chart_role.kind, currency
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Rename that account, or insert collections.gl_account rows for this currency yourself.';
        END IF;
        INSERT INTO collections.gl_account AS g (business_id, currency, role, account_id)
        VALUES (business_id, currency, chart_role.role, account.id)
        ON CONFLICT ON CONSTRAINT gl_account_pkey DO NOTHING;
    END LOOP;

    IF NOT EXISTS (SELECT FROM collections.bucket b WHERE b.business_id = business_id) THEN
        INSERT INTO collections.bucket AS b (business_id, code, name, min_days, max_days)
        VALUES (business_id, 'current', 'Current', 0, 0),
               (business_id, '1-30', '1 to 30 days past due', 1, 30),
               (business_id, '31-60', '31 to 60 days past due', 31, 60),
               (business_id, '61-90', '61 to 90 days past due', 61, 90),
               (business_id, '90+', 'More than 90 days past due', 91, NULL);
        object := 'buckets'; code := 'current, 1-30, 31-60, 61-90, 90+'; id := NULL;
        RETURN NEXT;
    END IF;

    product_code := CASE WHEN currency = settings.currency THEN 'standard' ELSE 'standard-' || currency END;
    IF NOT EXISTS (SELECT FROM collections.product p WHERE p.business_id = business_id AND p.code = product_code) THEN
        INSERT INTO collections.product AS p (business_id, code, name, currency)
        VALUES (business_id, product_code, 'Standard (' || currency || ')', currency)
        RETURNING p.id INTO id;
        object := 'product'; code := product_code;
        RETURN NEXT;
    END IF;

    -- Buckets made before any debt need no re-reading of debts.
    UPDATE collections.business_settings s SET dpd_full_run_needed = false
     WHERE s.business_id = business_id AND s.dpd_full_run_needed
       AND NOT EXISTS (SELECT FROM collections.debt_account d WHERE d.business_id = business_id);

    -- This month's partitions and the next ones (payments, allocations, days-past-due history).
    RETURN QUERY
        SELECT 'partition', m.partition_name::text, NULL::bigint
          FROM crm_core.partition_config c
         CROSS JOIN LATERAL crm_core.run_maintenance(false, c.parent) m
         WHERE c.parent IN ('collections.payment'::regclass, 'collections.payment_allocation'::regclass,
                            'collections.dpd_history'::regclass)
           AND m.action = 'created';
END;
$$;
REVOKE EXECUTE ON FUNCTION collections.setup_business(bigint, text, text) FROM PUBLIC;
COMMENT ON FUNCTION collections.setup_business(bigint, text, text) IS
    'Sets a business up for collections (settings, accounts, buckets, product "standard"); idempotent.';
