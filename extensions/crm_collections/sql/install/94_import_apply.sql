-- Applying import rows, per source: matching (fingerprint, then the source's own reference,
-- then the phone alone) and the changes, made through the application's tables and functions
-- (customer, debt_account, payment, adjustment INSERTs; crm_core.post_entry), so every rule
-- and every posting is the application's. Each function returns what the row did
-- (collections._import_outcome). See docs/migration.md for each source's mapping.

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

-- ---------------------------------------------------------------------------------------
-- voice_csv (seed 003): one row per loan and day; amount is what the loan owes now.
CREATE FUNCTION collections._import_voice_loan(batch collections.import_batch, r collections.import_row)
    RETURNS collections._import_outcome
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d jsonb := r.data;
    debt collections.debt_account;
    who record;
    changed boolean := false;
BEGIN
    SELECT * INTO debt FROM collections.debt_account x
     WHERE x.business_id = batch.business_id AND x.external_ref = d ->> 'external_ref';
    who := collections._import_customer(batch, r, debt.customer_id);
    IF who.conflict IS NOT NULL THEN
        RETURN ROW('skipped', 'loan_id: ' || who.conflict, who.customer_id, debt.id, who.method, NULL)::collections._import_outcome;
    END IF;
    IF debt.id IS NULL THEN
        INSERT INTO collections.debt_account AS x (business_id, customer_id, external_ref, principal, opening_balance,
                                                   opened_on, due_on, branch, cluster, employee, source_system, metadata)
        VALUES (batch.business_id, who.customer_id, d ->> 'external_ref', greatest((d ->> 'amount')::numeric, 0.01),
                (d ->> 'amount')::numeric, least(CURRENT_DATE, (d ->> 'due_on')::date), (d ->> 'due_on')::date,
                d ->> 'branch', d ->> 'cluster', d ->> 'employee', batch.source,
                jsonb_build_object('import_batch', batch.id, 'line_no', r.line_no))
        RETURNING * INTO debt;
        changed := true;
    ELSIF debt.status IN ('closed', 'written_off') THEN
        RETURN ROW('skipped', format('loan_id: %s is %s in this business; reopen it in the application to import it',
                                  debt.external_ref, replace(debt.status, '_', ' ')),
                who.customer_id, debt.id, who.method, NULL)::collections._import_outcome;
    ELSE
        changed := collections._import_reassign(debt, d);
        changed := collections._import_settle(batch, r, debt, (d ->> 'amount')::numeric) OR changed;
    END IF;
    PERFORM collections._import_remember(batch, r, debt.id);
    RETURN ROW(CASE WHEN changed THEN 'applied' ELSE 'duplicate' END, NULL, who.customer_id, debt.id,
            CASE WHEN who.method = 'new' OR debt.customer_id = who.customer_id THEN who.method END, NULL)::collections._import_outcome;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_voice_loan(collections.import_batch, collections.import_row) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------
-- debt_accounts_json (seed 000): a Mongo DebtAccount document per line; currentPrincipal is
-- what it owes now; the plan it proposes is kept as a draft (activate_draft_plan()).
CREATE FUNCTION collections._import_debt_account(batch collections.import_batch, r collections.import_row)
    RETURNS collections._import_outcome
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d jsonb := r.data;
    debt collections.debt_account;
    who record;
    product bigint;
    currency text := coalesce(d ->> 'currency', batch.currency);
    changed boolean := false;
BEGIN
    SELECT * INTO debt FROM collections.debt_account x
     WHERE x.business_id = batch.business_id AND x.external_ref = d ->> 'external_ref';
    IF debt.id IS NULL AND d ->> 'status' IN ('paid', 'closed', 'written_off') THEN
        RETURN ROW('skipped', format('status: the account is %s in the source: nothing to collect', d ->> 'status'),
                NULL, NULL, NULL, NULL)::collections._import_outcome;
    END IF;
    who := collections._import_customer(batch, r, debt.customer_id);
    IF who.conflict IS NOT NULL THEN
        RETURN ROW('skipped', 'accountNumber: ' || who.conflict, who.customer_id, debt.id, who.method, NULL)::collections._import_outcome;
    END IF;
    IF debt.id IS NULL THEN
        product := collections._import_product(batch.business_id, currency);
        IF product IS NULL THEN
            RETURN ROW('skipped', format('currency: business %s has no product in %s (SELECT collections.setup_business(%s, %L);)',
                                      batch.business_id, currency, batch.business_id, currency),
                    who.customer_id, NULL, who.method, NULL)::collections._import_outcome;
        END IF;
        INSERT INTO collections.debt_account AS x (business_id, customer_id, external_ref, product_id, principal,
                                                   opening_balance, opened_on, due_on, source_system, metadata)
        VALUES (batch.business_id, who.customer_id, d ->> 'external_ref', product, (d ->> 'principal')::numeric,
                (d ->> 'opening_balance')::numeric, coalesce((d ->> 'opened_on')::date, CURRENT_DATE),
                (d ->> 'due_on')::date, batch.source,
                jsonb_strip_nulls(jsonb_build_object(
                    'source_id', d -> 'source_id', 'lender', d -> 'lender', 'lender_ref', d -> 'lender_ref',
                    'interest_rate', d -> 'interest_rate', 'import_batch', batch.id, 'line_no', r.line_no,
                    'draft_plan', CASE WHEN d ->> 'plan_installments' IS NOT NULL OR d ->> 'plan_first_due' IS NOT NULL THEN
                        jsonb_strip_nulls(jsonb_build_object(
                            'status', 'DRAFT', 'installments', (d ->> 'plan_installments')::integer,
                            'every', d -> 'plan_every', 'first_due', d -> 'plan_first_due')) END)))
        RETURNING * INTO debt;
        changed := true;
    ELSIF debt.status IN ('closed', 'written_off') THEN
        RETURN ROW('skipped', format('accountNumber: %s is %s in this business; reopen it in the application to import it',
                                  debt.external_ref, replace(debt.status, '_', ' ')),
                who.customer_id, debt.id, who.method, NULL)::collections._import_outcome;
    ELSIF d ->> 'status' = 'written_off' THEN
        IF collections._import_owed(debt) > 0 THEN
            PERFORM collections.write_off(debt.id, collections._import_owed(debt),
                                          format('written off in the source (import batch %s line %s)', batch.id, r.line_no));
            changed := true;
        END IF;
    ELSE
        changed := collections._import_settle(batch, r, debt,
                                              CASE WHEN d ->> 'status' = 'paid' THEN 0 ELSE (d ->> 'opening_balance')::numeric END);
        IF d ->> 'status' = 'closed' THEN
            UPDATE collections.debt_account x SET status = 'closed'
             WHERE x.business_id = debt.business_id AND x.id = debt.id AND x.status = 'active';
            changed := changed OR FOUND;
        END IF;
    END IF;
    PERFORM collections._import_remember(batch, r, debt.id);
    RETURN ROW(CASE WHEN changed THEN 'applied' ELSE 'duplicate' END, NULL, who.customer_id, debt.id, who.method, NULL)::collections._import_outcome;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_debt_account(collections.import_batch, collections.import_row) FROM PUBLIC;

-- Seed 000's placeholder plan (status DRAFT, kept in the debt's metadata by the import) made
-- the debt's active plan. Returns the plan.
CREATE FUNCTION collections.activate_draft_plan(debt_account_id bigint) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    draft jsonb;
BEGIN
    SELECT d.metadata -> 'draft_plan' INTO draft FROM collections._debt(debt_account_id) AS d;
    IF draft IS NULL THEN
        RAISE EXCEPTION 'debt account % has no draft plan', debt_account_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Draft plans come from seed 000''s debt accounts (import source debt_accounts_json); otherwise use collections.create_plan().';
    END IF;
    RETURN collections.create_plan(debt_account_id, coalesce((draft ->> 'first_due')::date, CURRENT_DATE + 30),
                                   coalesce((draft ->> 'installments')::integer, 1),
                                   coalesce((draft ->> 'every')::interval, interval '1 month'));
END;
$$;
COMMENT ON FUNCTION collections.activate_draft_plan(bigint) IS
    'Makes the draft plan an imported seed-000 debt account proposed (metadata.draft_plan) its active repayment plan.';

-- ---------------------------------------------------------------------------------------
-- recouvrement (seed 001): clients, invoices, payments, relance templates and rules.
CREATE FUNCTION collections._import_recouvrement(batch collections.import_batch, r collections.import_row)
    RETURNS collections._import_outcome
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d jsonb := r.data;
    who record;
    debt collections.debt_account;
    known bigint;
    made bigint;
    existing record;
BEGIN
    IF batch.entity = 'clients' THEN
        who := collections._import_customer(batch, r,
                   collections._import_target(batch.business_id, batch.source, 'clients', r.key));
        IF who.conflict IS NOT NULL THEN
            RETURN ROW('skipped', 'id: client ' || who.conflict, who.customer_id, NULL, who.method, NULL)::collections._import_outcome;
        END IF;
        PERFORM collections._import_remember(batch, r, who.customer_id);
        RETURN ROW('applied', NULL, who.customer_id, NULL, who.method, NULL)::collections._import_outcome;
    END IF;

    IF batch.entity = 'invoices' THEN
        known := collections._import_target(batch.business_id, batch.source, 'clients', d ->> 'client_id');
        IF known IS NULL THEN
            RETURN ROW('skipped', format('client_id: no client %s was imported (import clients.csv first; was its line invalid?)',
                                      d ->> 'client_id'), NULL, NULL, NULL, NULL)::collections._import_outcome;
        END IF;
        SELECT * INTO debt FROM collections.debt_account x
         WHERE x.business_id = batch.business_id AND x.external_ref = d ->> 'external_ref';
        IF debt.id IS NOT NULL THEN
            IF debt.customer_id <> known THEN
                RETURN ROW('skipped', format('invoice_number: %s is customer %s''s debt, not client %s''s (customer %s)',
                                          d ->> 'external_ref', debt.customer_id, d ->> 'client_id', known),
                        known, debt.id, 'external_ref', NULL)::collections._import_outcome;
            END IF;
            IF debt.principal <> (d ->> 'principal')::numeric THEN
                RETURN ROW('skipped', format('amount: invoice %s was imported with %s, not %s: correct it in the application',
                                          d ->> 'external_ref', debt.principal, d ->> 'principal'),
                        known, debt.id, 'external_ref', NULL)::collections._import_outcome;
            END IF;
            IF d ->> 'status' = 'cancelled' AND debt.status = 'active' THEN
                UPDATE collections.debt_account x SET status = 'closed'
                 WHERE x.business_id = debt.business_id AND x.id = debt.id;
                PERFORM collections._import_remember(batch, r, debt.id);
                RETURN ROW('applied', NULL, known, debt.id, 'external_ref', NULL)::collections._import_outcome;
            END IF;
            PERFORM collections._import_remember(batch, r, debt.id);
            RETURN ROW('duplicate', NULL, known, debt.id, 'external_ref', NULL)::collections._import_outcome;
        END IF;
        IF d ->> 'status' = 'cancelled' THEN
            RETURN ROW('skipped', 'status: the invoice is cancelled: nothing to collect', known, NULL, 'external_ref', NULL)::collections._import_outcome;
        END IF;
        INSERT INTO collections.debt_account AS x (business_id, customer_id, external_ref, product_id, kind, principal,
                                                   opening_balance, opened_on, due_on, source_system, metadata)
        VALUES (batch.business_id, known, d ->> 'external_ref', collections._import_product(batch.business_id, batch.currency, 'invoice'),
                'invoice', (d ->> 'principal')::numeric, (d ->> 'principal')::numeric, (d ->> 'opened_on')::date,
                (d ->> 'due_on')::date, batch.source,
                jsonb_strip_nulls(jsonb_build_object('source_id', d -> 'source_id', 'description', d -> 'description',
                                                     'import_batch', batch.id, 'line_no', r.line_no)))
        RETURNING * INTO debt;
        PERFORM collections._import_remember(batch, r, debt.id);
        RETURN ROW('applied', NULL, known, debt.id, 'external_ref', NULL)::collections._import_outcome;
    END IF;

    IF batch.entity = 'payments' THEN
        known := collections._import_target(batch.business_id, batch.source, 'invoices', d ->> 'invoice_id');
        SELECT * INTO debt FROM collections.debt_account x WHERE x.business_id = batch.business_id AND x.id = known;
        IF debt.id IS NULL THEN
            RETURN ROW('skipped', format('invoice_id: no invoice %s was imported (import invoices.csv first; was its line invalid or skipped?)',
                                      d ->> 'invoice_id'), NULL, NULL, NULL, NULL)::collections._import_outcome;
        END IF;
        IF debt.status IN ('closed', 'written_off') THEN
            RETURN ROW('skipped', format('invoice_id: invoice %s is %s in this business', debt.external_ref, replace(debt.status, '_', ' ')),
                    debt.customer_id, debt.id, 'external_ref', NULL)::collections._import_outcome;
        END IF;
        SELECT p.id, p.amount INTO existing
          FROM collections.payment_reference x
          JOIN collections.payment p ON p.business_id = x.business_id AND p.id = x.payment_id AND p.paid_at = x.paid_at
         WHERE x.business_id = batch.business_id AND x.reference = 'recouvrement-' || r.key;
        IF FOUND THEN
            RETURN ROW('skipped', format('id: payment %s was imported before as payment %s (%s); reverse it in the application to change it',
                                      r.key, existing.id, existing.amount), debt.customer_id, debt.id, 'external_ref', existing.id)::collections._import_outcome;
        END IF;
        INSERT INTO collections.payment AS p (business_id, debt_account_id, reference, amount, paid_at, channel, metadata)
        VALUES (batch.business_id, debt.id, 'recouvrement-' || r.key, (d ->> 'amount')::numeric,
                ((d ->> 'paid_on')::date + time '12:00')::timestamptz, d ->> 'channel',
                jsonb_strip_nulls(jsonb_build_object('source_reference', d -> 'reference', 'import_batch', batch.id,
                                                     'line_no', r.line_no)))
        RETURNING p.id INTO made;
        PERFORM collections._import_remember(batch, r, made);
        RETURN ROW('applied', NULL, debt.customer_id, debt.id, 'external_ref', made)::collections._import_outcome;
    END IF;

    -- Relance templates and rules become dunning templates and rules (the workflow part of
    -- crm_collections), through its own tables.
    IF batch.entity = 'relance_templates' THEN
        SELECT t.id INTO made FROM collections.dunning_template t
         WHERE t.business_id = batch.business_id AND t.code = d ->> 'name';
        IF made IS NULL THEN
            INSERT INTO collections.dunning_template (business_id, code, channel, subject, body)
            VALUES (batch.business_id, d ->> 'name', d ->> 'channel', d ->> 'subject', d ->> 'body')
            RETURNING id INTO made;
        ELSIF made IS DISTINCT FROM collections._import_target(batch.business_id, batch.source, batch.entity, r.key) THEN
            RETURN ROW('skipped', format('name: business %s already has a dunning template %L', batch.business_id, d ->> 'name'),
                    NULL, NULL, NULL, made)::collections._import_outcome;
        ELSE
            UPDATE collections.dunning_template
               SET channel = d ->> 'channel', subject = d ->> 'subject', body = d ->> 'body'
             WHERE business_id = batch.business_id AND id = made;
        END IF;
        PERFORM collections._import_remember(batch, r, made);
        RETURN ROW('applied', NULL, NULL, NULL, NULL, made)::collections._import_outcome;
    END IF;

    -- relance_rules
    known := collections._import_target(batch.business_id, batch.source, 'relance_templates', d ->> 'template_id');
    IF known IS NULL THEN
        RETURN ROW('skipped', format('template_id: no relance template %s was imported (import relance_templates.csv first)',
                                  d ->> 'template_id'), NULL, NULL, NULL, NULL)::collections._import_outcome;
    END IF;
    made := collections._import_target(batch.business_id, batch.source, batch.entity, r.key);
    IF made IS NULL THEN
        INSERT INTO collections.dunning_rule (business_id, name, template_id, min_dpd, min_amount, active)
        VALUES (batch.business_id, d ->> 'name', known, (d ->> 'min_dpd')::integer,
                (d ->> 'min_amount')::numeric, (d ->> 'active')::boolean)
        RETURNING id INTO made;
    ELSE
        UPDATE collections.dunning_rule
           SET name = d ->> 'name', template_id = known, min_dpd = (d ->> 'min_dpd')::integer,
               min_amount = (d ->> 'min_amount')::numeric, active = (d ->> 'active')::boolean
         WHERE business_id = batch.business_id AND id = made;
    END IF;
    PERFORM collections._import_remember(batch, r, made);
    RETURN ROW('applied', NULL, NULL, NULL, NULL, made)::collections._import_outcome;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_recouvrement(collections.import_batch, collections.import_row) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------
-- erp_ledger (seed 002): the chart of accounts with opening balances, then journal lines,
-- one balanced crm_core entry per entry number.
CREATE FUNCTION collections._import_erp_ledger(batch collections.import_batch, r collections.import_row)
    RETURNS collections._import_outcome
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d jsonb := r.data;
    account crm_core.account;
    parent bigint;
    entry bigint;
    lines jsonb;
    missing text;
BEGIN
    IF batch.entity = 'accounts' THEN
        SELECT * INTO account FROM crm_core.account a WHERE a.business_id = batch.business_id AND a.code = d ->> 'code';
        IF account.id IS NOT NULL THEN
            IF account.kind <> d ->> 'kind' OR account.currency <> d ->> 'currency' THEN
                RETURN ROW('skipped', format('account_number: account %s exists as %s in %s, not %s in %s',
                                          account.code, account.kind, account.currency, d ->> 'kind', d ->> 'currency'),
                        NULL, NULL, 'external_ref', account.id)::collections._import_outcome;
            END IF;
            PERFORM collections._import_remember(batch, r, account.id);
            RETURN ROW('duplicate', NULL, NULL, NULL, 'external_ref', account.id)::collections._import_outcome;
        END IF;
        IF d ->> 'parent_code' IS NOT NULL THEN
            SELECT a.id INTO parent FROM crm_core.account a
             WHERE a.business_id = batch.business_id AND a.code = d ->> 'parent_code';
            IF parent IS NULL THEN
                RETURN ROW('skipped', format('parent_account_number: account %s does not exist (list parents before their children)',
                                          d ->> 'parent_code'), NULL, NULL, NULL, NULL)::collections._import_outcome;
            END IF;
        END IF;
        INSERT INTO crm_core.account AS a (business_id, code, name, kind, currency, parent_id, metadata)
        VALUES (batch.business_id, d ->> 'code', d ->> 'name', d ->> 'kind', d ->> 'currency', parent,
                jsonb_build_object('import_batch', batch.id, 'line_no', r.line_no, 'legacy_active', (d ->> 'active')::boolean))
        RETURNING * INTO account;
        PERFORM collections._import_remember(batch, r, account.id);
        RETURN ROW('applied', NULL, NULL, NULL, 'new', account.id)::collections._import_outcome;
    END IF;

    -- journal_lines: the first line of an entry posts the whole entry (every valid line of it
    -- in this batch, which validation found balanced); its other lines follow it.
    SELECT e.id INTO entry FROM crm_core.journal_entry e
     WHERE e.business_id = batch.business_id AND e.idempotency_key = 'erp_ledger:' || r.key;
    IF entry IS NOT NULL THEN
        UPDATE collections.import_row x SET status = 'duplicate', target_id = entry, match_method = 'external_ref'
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = r.key
           AND x.status = 'valid' AND x.line_no <> r.line_no;
        RETURN ROW('duplicate', NULL, NULL, NULL, 'external_ref', entry)::collections._import_outcome;
    END IF;
    SELECT string_agg(DISTINCT x.data ->> 'account_code', ', ') FILTER (WHERE a.id IS NULL),
           jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'account_id', a.id, x.data ->> 'side', (x.data ->> 'amount')::numeric,
               'memo', x.data ->> 'line_memo')) ORDER BY x.line_no)
      INTO missing, lines
      FROM collections.import_row x
      LEFT JOIN crm_core.account a ON a.business_id = x.business_id AND a.code = x.data ->> 'account_code'
     WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = r.key AND x.status = 'valid';
    IF missing IS NOT NULL THEN
        UPDATE collections.import_row x
           SET status = 'skipped', error = format('account_number: entry %s uses account %s, which does not exist (import accounts.csv first)', r.key, missing)
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = r.key
           AND x.status = 'valid' AND x.line_no <> r.line_no;
        RETURN ROW('skipped', format('account_number: entry %s uses account %s, which does not exist (import accounts.csv first)', r.key, missing),
                NULL, NULL, NULL, NULL)::collections._import_outcome;
    END IF;
    entry := crm_core.post_entry(batch.business_id, lines, d ->> 'memo', (d ->> 'effective_date')::date,
                                 'erp_ledger:' || r.key, r.key,
                                 jsonb_strip_nulls(jsonb_build_object('transaction_type', d -> 'transaction_type',
                                                                      'reference', d -> 'reference',
                                                                      'import_batch', batch.id)));
    UPDATE collections.import_row x SET status = 'applied', target_id = entry, match_method = 'new'
     WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = r.key
       AND x.status = 'valid' AND x.line_no <> r.line_no;
    RETURN ROW('applied', NULL, NULL, NULL, 'new', entry)::collections._import_outcome;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_erp_ledger(collections.import_batch, collections.import_row) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------
-- The steps' per-source hooks.

-- Applies rows (line numbers, in order) of a batch; returns one outcome per line. isolate:
-- each row in its own subtransaction, a failing row skipped with its error (the slow path,
-- taken when a chunk failed as a whole).
CREATE FUNCTION collections._import_apply_rows(batch collections.import_batch, lines bigint[], isolate boolean)
    RETURNS collections._import_outcome[]
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r collections.import_row;
    outcome collections._import_outcome;
    outcomes collections._import_outcome[] := '{}';
    line bigint;
BEGIN
    FOREACH line IN ARRAY lines LOOP
        SELECT * INTO r FROM collections.import_row x
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.line_no = line;
        IF r.status <> 'valid' THEN
            -- Applied with an earlier line of the same entry.
            outcome := (r.status, r.error, r.match_customer_id, r.match_debt_account_id, r.match_method, r.target_id);
        ELSIF NOT isolate THEN
            outcome := collections._import_apply_row(batch, r);
        ELSE
            BEGIN
                outcome := collections._import_apply_row(batch, r);
            EXCEPTION WHEN OTHERS THEN
                outcome := ('skipped', SQLERRM, NULL, NULL, NULL, NULL);
            END;
        END IF;
        outcomes := outcomes || outcome;
    END LOOP;
    RETURN outcomes;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_apply_rows(collections.import_batch, bigint[], boolean) FROM PUBLIC;

CREATE FUNCTION collections._import_apply_row(batch collections.import_batch, r collections.import_row)
    RETURNS collections._import_outcome
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- A record repeated within the batch: identical to what its first line applied.
    IF batch.entity <> 'journal_lines' AND EXISTS (
           SELECT FROM collections.import_key k
            WHERE k.business_id = batch.business_id AND k.source = batch.source AND k.entity = batch.entity
              AND k.source_key = r.key AND k.digest = md5(r.data::text)::uuid) THEN
        RETURN ROW('duplicate', NULL,
                CASE WHEN batch.entity = 'clients' THEN collections._import_target(batch.business_id, batch.source, batch.entity, r.key) END,
                CASE WHEN batch.entity IN ('loans', 'debt_accounts', 'invoices') THEN collections._import_target(batch.business_id, batch.source, batch.entity, r.key) END,
                'external_ref',
                CASE WHEN batch.entity NOT IN ('loans', 'debt_accounts', 'invoices', 'clients') THEN collections._import_target(batch.business_id, batch.source, batch.entity, r.key) END)::collections._import_outcome;
    END IF;
    RETURN CASE batch.source
        WHEN 'voice_csv' THEN collections._import_voice_loan(batch, r)
        WHEN 'debt_accounts_json' THEN collections._import_debt_account(batch, r)
        WHEN 'recouvrement' THEN collections._import_recouvrement(batch, r)
        ELSE collections._import_erp_ledger(batch, r) END;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_apply_row(collections.import_batch, collections.import_row) FROM PUBLIC;

-- Checks a batch as a whole once every row is validated; the batch becomes validated, or
-- refused (a ledger source that does not balance is refused, never "fixed").
CREATE FUNCTION collections._import_check_batch(batch collections.import_batch) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    refusal text;
BEGIN
    IF batch.source = 'erp_ledger' THEN
        -- A ledger source is imported whole or not at all: one invalid line refuses it.
        SELECT format('line %s is invalid (%s): a ledger source is imported whole or not at all', x.line_no, x.error)
          INTO refusal
          FROM collections.import_row x
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'invalid'
         ORDER BY x.line_no LIMIT 1;
    END IF;
    IF refusal IS NULL AND batch.entity = 'journal_lines' THEN
        -- Every entry has two lines or more, one date, and balances.
        WITH per_entry AS (
            SELECT x.key, count(*) AS lines, count(DISTINCT x.data ->> 'effective_date') AS dates,
                   coalesce(sum((x.data ->> 'amount')::numeric) FILTER (WHERE x.data ->> 'side' = 'debit'), 0) AS debits,
                   coalesce(sum((x.data ->> 'amount')::numeric) FILTER (WHERE x.data ->> 'side' = 'credit'), 0) AS credits
              FROM collections.import_row x
             WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid'
             GROUP BY x.key
        ), wrong AS (
            SELECT p.key, CASE WHEN p.lines < 2 THEN 'has one line'
                               WHEN p.dates > 1 THEN 'has lines on different dates'
                               ELSE format('does not balance: debits %s, credits %s', p.debits, p.credits) END AS why
              FROM per_entry p
             WHERE p.lines < 2 OR p.dates > 1 OR p.debits <> p.credits
        ), marked AS (
            UPDATE collections.import_row x SET status = 'invalid', error = format('entry_number: entry %s %s', w.key, w.why)
              FROM wrong w
             WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = w.key AND x.status = 'valid'
            RETURNING x.key
        )
        SELECT format('%s of its entries cannot be posted as they are (entry %s %s); nothing of it is imported',
                      count(*), min(w.key), (array_agg(w.why ORDER BY w.key))[1])
          INTO refusal FROM wrong w HAVING count(*) > 0;
    ELSIF refusal IS NULL AND batch.entity = 'accounts' THEN
        WITH sides AS (
            SELECT x.data ->> 'currency' AS currency,
                   sum(CASE WHEN x.data ->> 'kind' IN ('asset', 'expense') THEN 1 ELSE -1 END
                       * (x.data ->> 'opening_balance')::numeric) AS net,
                   sum(greatest(CASE WHEN x.data ->> 'kind' IN ('asset', 'expense') THEN 1 ELSE -1 END
                                * (x.data ->> 'opening_balance')::numeric, 0)) AS debits
              FROM collections.import_row x
             WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid'
             GROUP BY 1
        )
        SELECT format('its opening balances do not balance in %s: debits %s, credits %s', s.currency, s.debits, s.debits - s.net)
          INTO refusal FROM sides s WHERE s.net <> 0 ORDER BY s.currency LIMIT 1;
        IF refusal IS NULL AND EXISTS (
               SELECT FROM collections.import_row x
                WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid'
                  AND (x.data ->> 'opening_balance')::numeric <> 0)
           AND EXISTS (SELECT FROM crm_core.journal_entry e
                        WHERE e.business_id = batch.business_id AND e.idempotency_key = 'erp_ledger:opening') THEN
            refusal := 'the business already has its opening balances (entry erp_ledger:opening): import later movements as journal lines';
        END IF;
    ELSIF batch.source <> 'erp_ledger' THEN
        -- A record repeated with other content: the first line wins, the others are invalid.
        -- One pass over the batch's rows (a window per key), computed once (MATERIALIZED),
        -- then the repeats by primary key: never a join of the batch with itself, which a plan
        -- made before the new rows' statistics turns into a nested loop over every pair.
        WITH repeats AS MATERIALIZED (
            SELECT r.line_no, r.key, r.first_line
              FROM (SELECT x.line_no, x.key, first_value(x.line_no) OVER per_key AS first_line,
                           x.data IS DISTINCT FROM first_value(x.data) OVER per_key AS differs
                      FROM collections.import_row x
                     WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid'
                    WINDOW per_key AS (PARTITION BY x.key ORDER BY x.line_no)) AS r
             WHERE r.line_no > r.first_line AND r.differs
        )
        UPDATE collections.import_row x
           SET status = 'invalid',
               error = format('%s: %s is on line %s with other content', CASE batch.entity WHEN 'loans' THEN 'loan_id'
                              WHEN 'debt_accounts' THEN 'accountNumber' ELSE 'id' END, f.key, f.first_line)
          FROM repeats f
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.line_no = f.line_no;
    END IF;
    UPDATE collections.import_batch b
       SET status = CASE WHEN refusal IS NULL THEN 'validated' ELSE 'refused' END, refusal = refusal,
           finished_at = CASE WHEN refusal IS NOT NULL THEN now() END
     WHERE b.business_id = batch.business_id AND b.id = batch.id;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_check_batch(collections.import_batch) FROM PUBLIC;

-- Before the first row of a batch is applied: the months of past payments get their
-- partitions (rows of a month without one would wait in the default partition for good),
-- when the caller may make them.
CREATE FUNCTION collections._import_prepare(batch collections.import_batch) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    since date;
BEGIN
    IF batch.source = 'recouvrement' AND batch.entity = 'payments' THEN
        SELECT min((x.data ->> 'paid_on')::date) INTO since FROM collections.import_row x
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid';
        IF since < date_trunc('month', CURRENT_DATE) THEN
            IF has_function_privilege('collections.prepare_history(date)', 'EXECUTE') THEN
                PERFORM collections.prepare_history(since);
            ELSE
                RAISE NOTICE 'payments of batch % go back to %: their months have no partitions yet', batch.id, since
                    USING HINT = format('An administrator runs SELECT * FROM collections.prepare_history(%L); before applying.', since);
            END IF;
        END IF;
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_prepare(collections.import_batch) FROM PUBLIC;

-- After the last row of a batch: an erp_ledger chart posts its opening balances, one entry
-- (opening-balance lines of the accounts the batch names).
CREATE FUNCTION collections._import_finish(batch collections.import_batch) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lines jsonb;
BEGIN
    IF batch.entity <> 'accounts' THEN
        RETURN;
    END IF;
    SELECT jsonb_agg(jsonb_build_object(
               'account_id', a.id,
               CASE WHEN (CASE WHEN a.kind IN ('asset', 'expense') THEN 1 ELSE -1 END) * (x.data ->> 'opening_balance')::numeric > 0
                    THEN 'debit' ELSE 'credit' END,
               abs((x.data ->> 'opening_balance')::numeric),
               'memo', 'opening balance') ORDER BY x.line_no)
      INTO lines
      FROM collections.import_row x
      JOIN crm_core.account a ON a.business_id = x.business_id AND a.code = x.data ->> 'code'
     WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status IN ('applied', 'duplicate')
       AND (x.data ->> 'opening_balance')::numeric <> 0;
    IF lines IS NOT NULL THEN
        PERFORM crm_core.post_entry(batch.business_id, lines, 'Opening balances (import batch ' || batch.id || ')',
                                    CURRENT_DATE, 'erp_ledger:opening', 'erp_ledger:opening',
                                    jsonb_build_object('import_batch', batch.id));
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_finish(collections.import_batch) FROM PUBLIC;
