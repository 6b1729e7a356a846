-- Setting a business up: settings, roles, chart of accounts, stock items and the posting rules
-- of its module, in one idempotent call; and helpers that add products with their stock items.

-- Adds an account unless the business has one with that code; returns its id.
CREATE FUNCTION erp.ensure_account(business_id bigint, code text, name text, kind text, currency text,
                                   role text DEFAULT NULL, overdraft text DEFAULT 'none')
    RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found bigint;
BEGIN
    SELECT a.id INTO found FROM crm_core.account a
     WHERE a.business_id = ensure_account.business_id AND a.code = ensure_account.code;
    IF found IS NULL THEN
        INSERT INTO crm_core.account (business_id, code, name, kind, currency, overdraft)
        VALUES (business_id, code, name, kind, currency, overdraft) RETURNING id INTO found;
    END IF;
    IF role IS NOT NULL THEN
        INSERT INTO erp.account_role (business_id, role, account_id) VALUES (business_id, role, found)
        ON CONFLICT ON CONSTRAINT account_role_pkey DO NOTHING;
    END IF;
    RETURN found;
END;
$$;
REVOKE EXECUTE ON FUNCTION erp.ensure_account(bigint, text, text, text, text, text, text) FROM PUBLIC;

-- Defines a transaction type with its rule lines unless the business has it already.
-- lines: a JSON array of erp.posting_rule rows without business_id, transaction_type, line_no.
CREATE FUNCTION erp.ensure_transaction_type(business_id bigint, code text, name text, lines jsonb)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO erp.transaction_type (business_id, code, name)
    VALUES (business_id, code, name)
    ON CONFLICT ON CONSTRAINT transaction_type_pkey DO NOTHING;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO erp.posting_rule (business_id, transaction_type, line_no, side, account_id, account_column,
                                  item_id, item_column, item_account, amount_column, subledger_column,
                                  memo_column, when_column, when_value)
    SELECT ensure_transaction_type.business_id, ensure_transaction_type.code, l.ordinality::smallint,
           r.side, r.account_id, r.account_column, r.item_id, r.item_column, r.item_account,
           r.amount_column, r.subledger_column, r.memo_column, r.when_column, r.when_value
      FROM jsonb_array_elements(lines) WITH ORDINALITY AS l (line, ordinality),
           jsonb_populate_record(NULL::erp.posting_rule, l.line) AS r;
    -- Defining the lines counted as changes: a new type starts at version 1.
    UPDATE erp.transaction_type t SET rule_version = 1
     WHERE t.business_id = ensure_transaction_type.business_id AND t.code = ensure_transaction_type.code;
END;
$$;
REVOKE EXECUTE ON FUNCTION erp.ensure_transaction_type(bigint, text, text, jsonb) FROM PUBLIC;

-- The rule lines that debit what a customer paid with, by the event's payment_method: cash,
-- the M-Pesa till (the receipt as memo, for reconciliation) or, when credit_allowed, the
-- receivable (the customer as subledger).
CREATE FUNCTION erp.payment_lines(business_id bigint, amount_column text, credit_allowed boolean)
    RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_array(
               jsonb_build_object('side', 'debit', 'account_id', erp.account_of(business_id, 'cash'),
                                  'amount_column', amount_column,
                                  'when_column', 'payment_method', 'when_value', 'cash'),
               jsonb_build_object('side', 'debit', 'account_id', erp.account_of(business_id, 'mpesa'),
                                  'amount_column', amount_column, 'memo_column', 'mpesa_receipt',
                                  'when_column', 'payment_method', 'when_value', 'mpesa'))
           || CASE WHEN credit_allowed THEN jsonb_build_array(
               jsonb_build_object('side', 'debit', 'account_id', erp.account_of(business_id, 'receivable'),
                                  'amount_column', amount_column, 'subledger_column', 'customer_id',
                                  'when_column', 'payment_method', 'when_value', 'credit'))
              ELSE '[]'::jsonb END
$$;

-- Sets up a business run by crm_erp: settings, roles, its module's chart of accounts
-- (codes follow seed 002: 1170 cash, 1180 M-Pesa ...), stock items and posting rules.
-- Idempotent: what exists is kept, what is missing is added.
CREATE FUNCTION erp.setup_business(business_id bigint, kind text, currency text DEFAULT 'KES',
                                   country text DEFAULT 'KE', time_zone text DEFAULT 'Africa/Nairobi')
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    b bigint := setup_business.business_id;
    cash bigint;
    receivable bigint;
    sales bigint;
    raw_water bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM crm_core.business x WHERE x.id = b) THEN
        RAISE EXCEPTION 'business % does not exist', b
            USING ERRCODE = 'foreign_key_violation', HINT = 'INSERT INTO crm_core.business first.';
    END IF;
    IF kind IS NULL OR kind NOT IN ('water', 'laundry', 'retail') THEN
        RAISE EXCEPTION 'business kind % is not water, laundry or retail', coalesce(quote_literal(kind), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO erp.business_settings (business_id, kind, currency, country, time_zone)
    VALUES (b, kind, currency, country, time_zone)
    ON CONFLICT ON CONSTRAINT business_settings_pkey DO NOTHING;
    IF (SELECT s.kind FROM erp.business_settings s WHERE s.business_id = b) <> kind THEN
        RAISE EXCEPTION 'business % is set up as another kind of business', b
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO erp.role (business_id, code, name, permissions) VALUES
        (b, 'owner', 'Owner', '{*}'),
        (b, 'manager', 'Manager', '{sales,payments,stock,production,jobs,customers,reconciliation,reports}'),
        (b, 'cashier', 'Cashier', '{sales,payments,customers}'),
        (b, 'attendant', 'Attendant', '{production,jobs}')
    ON CONFLICT ON CONSTRAINT role_pkey DO NOTHING;

    cash := erp.ensure_account(b, '1170', 'Cash on hand', 'asset', currency, 'cash');
    PERFORM erp.ensure_account(b, '1180', 'M-Pesa till', 'asset', currency, 'mpesa');
    receivable := erp.ensure_account(b, '1200', 'Accounts receivable', 'asset', currency, 'receivable');
    PERFORM erp.ensure_account(b, '2100', 'Accounts payable', 'liability', currency, 'payable');
    PERFORM erp.ensure_account(b, '3000', 'Owner''s equity', 'equity', currency, 'equity');
    PERFORM erp.ensure_account(b, '6000', 'Operating expenses', 'expense', currency, 'expenses');

    IF kind = 'water' THEN
        sales := erp.ensure_account(b, '4100', 'Water sales', 'income', currency, 'sales');
        PERFORM erp.ensure_account(b, '5200', 'Raw water', 'expense', currency, 'raw_water_cost');
        -- Not INSERT ... ON CONFLICT: the item's trigger makes its accounts before the conflict shows.
        SELECT i.id INTO raw_water FROM erp.item i WHERE i.business_id = b AND i.code = 'raw_water';
        IF raw_water IS NULL THEN
            INSERT INTO erp.item (business_id, code, name, uom)
            VALUES (b, 'raw_water', 'Treated raw water', 'l') RETURNING id INTO raw_water;
        END IF;
        PERFORM erp.ensure_transaction_type(b, 'water_raw_intake', 'Raw water intake', jsonb_build_array(
            jsonb_build_object('side', 'debit', 'item_id', raw_water, 'item_account', 'stock', 'amount_column', 'liters'),
            jsonb_build_object('side', 'credit', 'item_id', raw_water, 'item_account', 'movement', 'amount_column', 'liters'),
            jsonb_build_object('side', 'debit', 'account_id', erp.account_of(b, 'raw_water_cost'), 'amount_column', 'cost'),
            jsonb_build_object('side', 'credit', 'account_id', cash, 'amount_column', 'cost')));
        PERFORM erp.ensure_transaction_type(b, 'water_production', 'Water production batch', jsonb_build_array(
            jsonb_build_object('side', 'debit', 'item_column', 'product_size_id', 'item_account', 'stock', 'amount_column', 'quantity'),
            jsonb_build_object('side', 'credit', 'item_column', 'product_size_id', 'item_account', 'movement', 'amount_column', 'quantity'),
            jsonb_build_object('side', 'credit', 'item_id', raw_water, 'item_account', 'stock', 'amount_column', 'raw_water_liters'),
            jsonb_build_object('side', 'debit', 'item_id', raw_water, 'item_account', 'movement', 'amount_column', 'raw_water_liters')));
        PERFORM erp.ensure_transaction_type(b, 'water_sale', 'Water sale',
            erp.payment_lines(b, 'total_amount', true) || jsonb_build_array(
            jsonb_build_object('side', 'credit', 'account_id', sales, 'amount_column', 'total_amount'),
            jsonb_build_object('side', 'credit', 'item_column', 'product_size_id', 'item_account', 'stock', 'amount_column', 'quantity'),
            jsonb_build_object('side', 'debit', 'item_column', 'product_size_id', 'item_account', 'movement', 'amount_column', 'quantity')));
    ELSIF kind = 'laundry' THEN
        sales := erp.ensure_account(b, '4200', 'Laundry services', 'income', currency, 'sales');
        PERFORM erp.ensure_transaction_type(b, 'laundry_job', 'Laundry job taken in', jsonb_build_array(
            jsonb_build_object('side', 'debit', 'account_id', receivable, 'amount_column', 'total_amount',
                               'subledger_column', 'customer_id')));
        PERFORM erp.ensure_transaction_type(b, 'laundry_job_item', 'Laundry job item', jsonb_build_array(
            jsonb_build_object('side', 'credit', 'account_id', sales, 'amount_column', 'line_total')));
        PERFORM erp.ensure_transaction_type(b, 'laundry_payment', 'Laundry payment',
            erp.payment_lines(b, 'amount', false) || jsonb_build_array(
            jsonb_build_object('side', 'credit', 'account_id', receivable, 'amount_column', 'amount',
                               'subledger_column', 'customer_id')));
    ELSE
        sales := erp.ensure_account(b, '4300', 'Retail sales', 'income', currency, 'sales');
        PERFORM erp.ensure_account(b, '4310', 'LPG refills', 'income', currency, 'lpg_sales');
        PERFORM erp.ensure_account(b, '2200', 'Cylinder deposits', 'liability', currency, 'cylinder_deposits');
        PERFORM erp.ensure_account(b, '5100', 'Purchases', 'expense', currency, 'purchases');
        PERFORM erp.ensure_transaction_type(b, 'retail_stock_receipt', 'Stock received', jsonb_build_array(
            jsonb_build_object('side', 'debit', 'item_column', 'item_id', 'item_account', 'stock', 'amount_column', 'quantity'),
            jsonb_build_object('side', 'credit', 'item_column', 'item_id', 'item_account', 'movement', 'amount_column', 'quantity'),
            jsonb_build_object('side', 'debit', 'account_id', erp.account_of(b, 'purchases'), 'amount_column', 'cost'),
            jsonb_build_object('side', 'credit', 'account_id', cash, 'amount_column', 'cost')));
        PERFORM erp.ensure_transaction_type(b, 'retail_sale', 'Retail sale',
            erp.payment_lines(b, 'total_amount', true));
        PERFORM erp.ensure_transaction_type(b, 'retail_sale_item', 'Retail sale item', jsonb_build_array(
            jsonb_build_object('side', 'credit', 'account_id', sales, 'amount_column', 'line_total'),
            jsonb_build_object('side', 'credit', 'item_column', 'product_id', 'item_account', 'stock', 'amount_column', 'quantity'),
            jsonb_build_object('side', 'debit', 'item_column', 'product_id', 'item_account', 'movement', 'amount_column', 'quantity')));
        PERFORM erp.ensure_transaction_type(b, 'lpg_exchange', 'LPG cylinder exchange',
            erp.payment_lines(b, 'total_amount', false) || jsonb_build_array(
            jsonb_build_object('side', 'credit', 'account_id', erp.account_of(b, 'lpg_sales'), 'amount_column', 'refill_amount'),
            jsonb_build_object('side', 'credit', 'account_id', erp.account_of(b, 'cylinder_deposits'),
                               'amount_column', 'deposit_amount', 'subledger_column', 'customer_id'),
            jsonb_build_object('side', 'credit', 'item_column', 'full_item_id', 'item_account', 'stock', 'amount_column', 'quantity'),
            jsonb_build_object('side', 'debit', 'item_column', 'full_item_id', 'item_account', 'movement', 'amount_column', 'quantity'),
            jsonb_build_object('side', 'debit', 'item_column', 'empty_item_id', 'item_account', 'stock', 'amount_column', 'empties_returned'),
            jsonb_build_object('side', 'credit', 'item_column', 'empty_item_id', 'item_account', 'movement', 'amount_column', 'empties_returned')));
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION erp.setup_business(bigint, text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION erp.setup_business(bigint, text, text, text, text) IS
    'Sets up a water, laundry or retail business: settings, roles, accounts, items, transaction types and posting rules. Idempotent.';

-- A product code as an item code: lower case, [a-z0-9_.-].
CREATE FUNCTION erp.item_code(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT left(trim(both '_' FROM regexp_replace(lower($1), '[^a-z0-9_.-]+', '_', 'g')), 40)
$$;

-- Adds a bottle size (and the stock item of its bottles); returns the item id.
CREATE FUNCTION water.add_size(business_id bigint, code text, liters numeric, unit_price numeric)
    RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    item bigint;
BEGIN
    INSERT INTO erp.item (business_id, code, name, uom)
    VALUES (business_id, erp.item_code('water_' || code), 'Water ' || code || ' bottle', 'bottle')
    RETURNING id INTO item;
    INSERT INTO water.product_size (business_id, item_id, code, liters, unit_price)
    VALUES (business_id, item, code, liters, unit_price);
    RETURN item;
END;
$$;
COMMENT ON FUNCTION water.add_size(bigint, text, numeric, numeric) IS
    'Adds a bottle size with its stock item; returns the item id (product_size_id in production and sales).';

-- Adds a product (and its stock item); returns the item id.
CREATE FUNCTION retail.add_product(business_id bigint, sku text, name text, unit_price numeric,
                                   category_id bigint DEFAULT NULL, uom text DEFAULT 'each',
                                   never_negative boolean DEFAULT true)
    RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    item bigint;
BEGIN
    INSERT INTO erp.item (business_id, code, name, uom, never_negative)
    VALUES (business_id, erp.item_code(sku), name, uom, never_negative)
    RETURNING id INTO item;
    INSERT INTO retail.product (business_id, item_id, category_id, sku, unit_price)
    VALUES (business_id, item, category_id, sku, unit_price);
    RETURN item;
END;
$$;
COMMENT ON FUNCTION retail.add_product(bigint, text, text, numeric, bigint, text, boolean) IS
    'Adds a product with its stock item; returns the item id (product_id in sale items).';

-- Adds an LPG cylinder type (its full and empty cylinders as two items); returns its id.
CREATE FUNCTION retail.add_cylinder(business_id bigint, size_kg numeric, brand text,
                                    refill_price numeric, deposit_amount numeric)
    RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    base text := erp.item_code(format('lpg_%s_%skg', brand, trim_scale(size_kg)));
    full_item bigint;
    empty_item bigint;
    cylinder bigint;
BEGIN
    INSERT INTO erp.item (business_id, code, name, uom)
    VALUES (business_id, left(base, 35) || '_full', format('%s %s kg cylinder, full', brand, trim_scale(size_kg)), 'cylinder')
    RETURNING id INTO full_item;
    INSERT INTO erp.item (business_id, code, name, uom)
    VALUES (business_id, left(base, 34) || '_empty', format('%s %s kg cylinder, empty', brand, trim_scale(size_kg)), 'cylinder')
    RETURNING id INTO empty_item;
    INSERT INTO retail.lpg_cylinder (business_id, size_kg, brand, full_item_id, empty_item_id,
                                     refill_price, deposit_amount)
    VALUES (business_id, size_kg, brand, full_item, empty_item, refill_price, deposit_amount)
    RETURNING id INTO cylinder;
    RETURN cylinder;
END;
$$;
COMMENT ON FUNCTION retail.add_cylinder(bigint, numeric, text, numeric, numeric) IS
    'Adds an LPG cylinder type with its full and empty stock items; returns its id.';
