-- Imports, applying rows: matching (fingerprint, then the source's own reference, then the phone
-- alone) and the helpers every source uses. The changes go through the application's tables
-- and functions (customer, debt_account, payment, adjustment INSERTs; crm_core.post_entry), so
-- every rule and every posting is the application's. See docs/migration.md for each source's
-- mapping.

-- Remembers what a source record made and what it said (its digest), for later imports.
CREATE FUNCTION collections._import_remember(batch collections.import_batch, r collections.import_row, target bigint)
    RETURNS void
    LANGUAGE sql SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO collections.import_key AS k (business_id, source, entity, source_key, target_id, digest, batch_id, line_no)
    VALUES ((batch).business_id, (batch).source, (batch).entity, (r).key, target, md5((r).data::text)::uuid, (batch).id, (r).line_no)
    ON CONFLICT (business_id, source, entity, source_key)
    DO UPDATE SET target_id = excluded.target_id, digest = excluded.digest, batch_id = excluded.batch_id,
                  line_no = excluded.line_no, updated_at = now();
END;
REVOKE EXECUTE ON FUNCTION collections._import_remember(collections.import_batch, collections.import_row, bigint) FROM PUBLIC;

-- What an earlier import of a record of entity made (its target), if any.
CREATE FUNCTION collections._import_target(business_id bigint, source text, entity text, source_key text)
    RETURNS bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT k.target_id FROM collections.import_key k
     WHERE k.business_id = _import_target.business_id AND k.source = _import_target.source
       AND k.entity = _import_target.entity AND k.source_key = _import_target.source_key;
END;
REVOKE EXECUTE ON FUNCTION collections._import_target(bigint, text, text, text) FROM PUBLIC;

-- The customer a row is about: the one with its fingerprint, else the one its source
-- reference names (known_customer: the customer of the loan it names, or of the client it
-- imported before), else the only one with its phone where one of the two has no national id;
-- else a new one (when create). conflict says why the row cannot be applied (its reference
-- names another customer than its fingerprint).
CREATE FUNCTION collections._import_customer(batch collections.import_batch, r collections.import_row,
                                             known_customer bigint, create_customer boolean DEFAULT true,
                                             OUT customer_id bigint, OUT method text, OUT conflict text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d jsonb := r.data;
    same_phone bigint[];
BEGIN
    IF r.fingerprint IS NOT NULL THEN
        SELECT c.id INTO customer_id FROM collections.customer c
         WHERE c.business_id = batch.business_id AND c.fingerprint = r.fingerprint;
        IF FOUND THEN
            method := 'fingerprint';
            IF known_customer IS NOT NULL AND known_customer <> customer_id THEN
                conflict := format('%s names customer %s, but its phone and national id are customer %s''s',
                                   r.key, known_customer, customer_id);
            END IF;
            RETURN;
        END IF;
    END IF;
    IF known_customer IS NOT NULL THEN
        customer_id := known_customer;
        method := 'external_ref';
        RETURN;
    END IF;
    IF r.phone_normalized IS NOT NULL THEN
        SELECT array_agg(c.id) INTO same_phone
          FROM (SELECT c.id FROM collections.customer c
                 WHERE c.business_id = batch.business_id AND c.phone = r.phone_normalized
                   AND (c.national_id IS NULL OR d ->> 'national_id' IS NULL)
                 LIMIT 2) c;
        IF cardinality(same_phone) = 1 THEN
            customer_id := same_phone[1];
            method := 'phone';
            RETURN;
        END IF;
    END IF;
    IF create_customer THEN
        INSERT INTO collections.customer AS c (business_id, full_name, phone, national_id, email, source_system,
                                              source_ref, metadata)
        VALUES (batch.business_id, d ->> 'full_name', r.phone_normalized, d ->> 'national_id', d ->> 'email',
                batch.source, d ->> 'source_id',
                jsonb_strip_nulls(jsonb_build_object('address', d -> 'address', 'city', d -> 'city',
                                                     'postal_code', d -> 'postal_code',
                                                     'import_batch', batch.id, 'line_no', r.line_no)))
        RETURNING c.id INTO customer_id;
        method := 'new';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_customer(collections.import_batch, collections.import_row, bigint, boolean) FROM PUBLIC;

-- What a debt owes now, from the ledger (the receivables of its product, subledger = the debt).
CREATE FUNCTION collections._import_owed(debt collections.debt_account) RETURNS numeric
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT crm_core.subledger_balance(p.principal_account_id, (debt).id)
           + crm_core.subledger_balance(p.interest_account_id, (debt).id)
           + crm_core.subledger_balance(p.fee_account_id, (debt).id)
           + crm_core.subledger_balance(p.penalty_account_id, (debt).id)
      FROM collections.product p
     WHERE p.business_id = (debt).business_id AND p.id = (debt).product_id;
END;
REVOKE EXECUTE ON FUNCTION collections._import_owed(collections.debt_account) FROM PUBLIC;

-- Brings what a debt owes to what the source says it owes: a payment of the difference when it
-- owes less (the source saw money the application did not), a fee when it owes more. Returns
-- true when it posted something.
CREATE FUNCTION collections._import_settle(batch collections.import_batch, r collections.import_row,
                                           debt collections.debt_account, owed_now numeric)
    RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owed numeric := collections._import_owed(debt);
BEGIN
    IF owed_now < owed THEN
        INSERT INTO collections.payment (business_id, debt_account_id, reference, amount, channel, metadata)
        VALUES (batch.business_id, debt.id, format('import-%s-%s', batch.id, r.line_no), owed - owed_now, 'import',
                jsonb_build_object('import_batch', batch.id, 'line_no', r.line_no, 'source', batch.source,
                                   'owed_before', owed, 'owed_in_source', owed_now));
        RETURN true;
    END IF;
    IF owed_now > owed THEN
        INSERT INTO collections.adjustment (business_id, debt_account_id, kind, amount, reason)
        VALUES (batch.business_id, debt.id, 'fee', owed_now - owed,
                format('import batch %s line %s: %s owed %s, the source says %s', batch.id, r.line_no,
                       debt.external_ref, owed, owed_now));
        RETURN true;
    END IF;
    RETURN false;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_settle(collections.import_batch, collections.import_row, collections.debt_account, numeric) FROM PUBLIC;

-- Branch, cluster and employee of a debt as the source has them now; true when one changed.
CREATE FUNCTION collections._import_reassign(debt collections.debt_account, d jsonb) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE collections.debt_account x
       SET branch = d ->> 'branch', cluster = d ->> 'cluster', employee = d ->> 'employee'
     WHERE x.business_id = debt.business_id AND x.id = debt.id
       AND (x.branch, x.cluster, x.employee) IS DISTINCT FROM (d ->> 'branch', d ->> 'cluster', d ->> 'employee');
    RETURN FOUND;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_reassign(collections.debt_account, jsonb) FROM PUBLIC;

-- The product of a business for a currency and a preferred code (invoices), if any.
CREATE FUNCTION collections._import_product(business_id bigint, currency text, preferred text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT p.id FROM collections.product p
      JOIN collections.business_settings s ON s.business_id = p.business_id
     WHERE p.business_id = _import_product.business_id AND p.currency = _import_product.currency
       AND p.code IN (_import_product.preferred,
                      CASE WHEN _import_product.currency = s.currency THEN 'standard' ELSE 'standard-' || _import_product.currency END)
     ORDER BY p.code = _import_product.preferred DESC NULLS LAST
     LIMIT 1;
END;
REVOKE EXECUTE ON FUNCTION collections._import_product(bigint, text, text) FROM PUBLIC;
