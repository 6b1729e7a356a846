-- Imports, applying rows per source: voice_csv, debt_accounts_json, recouvrement. Each function
-- returns what the row did (collections._import_outcome, 93_import.sql).

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
