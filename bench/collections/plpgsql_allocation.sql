-- The same allocation in plain PL/pgSQL, as an application would write it: schema plain holds
-- copies of the debt, installment, payment and allocation tables (no crm_collections trigger),
-- and plain.record_payment() locks the debt, walks its open installments oldest first and the
-- components in the product's order, records the allocation, pays the installments, posts one
-- entry through crm_core (the same ledger triggers as the C++ path) and moves the debt's
-- unpaid_since and bucket. Loaded by bench/collections/run.sh; debts :debts+1 .. 2*:debts.
\set ON_ERROR_STOP on
CREATE SCHEMA plain;
CREATE TABLE plain.debt_account (LIKE collections.debt_account INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE plain.debt_account ADD PRIMARY KEY (business_id, id);
CREATE TABLE plain.installment (LIKE collections.installment INCLUDING ALL);
CREATE TABLE plain.payment (LIKE collections.payment INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY);
ALTER TABLE plain.payment ADD PRIMARY KEY (business_id, id), ADD UNIQUE (business_id, reference);
CREATE TABLE plain.payment_allocation (LIKE collections.payment_allocation INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY);
CREATE INDEX ON plain.payment_allocation (business_id, payment_id);
INSERT INTO plain.debt_account SELECT * FROM collections.debt_account WHERE id > :debts;
INSERT INTO plain.installment (business_id, id, plan_id, debt_account_id, seq, due_on, principal_due, interest_due, fee_due, penalty_due, principal_paid, interest_paid, fee_paid, penalty_paid, principal_written_off, interest_written_off, fee_written_off, penalty_written_off)
SELECT business_id, id, plan_id, debt_account_id, seq, due_on, principal_due, interest_due, fee_due, penalty_due, principal_paid, interest_paid, fee_paid, penalty_paid, principal_written_off, interest_written_off, fee_written_off, penalty_written_off
  FROM collections.installment WHERE debt_account_id > :debts;
ANALYZE plain.debt_account, plain.installment;

CREATE FUNCTION plain.record_payment(p_business bigint, p_debt bigint, p_reference text, p_amount numeric)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    debt plain.debt_account;
    product collections.product;
    installment plain.installment;
    payment_id bigint;
    posted_entry bigint;
    left_to_pay numeric := p_amount;
    component text;
    owed numeric;
    paid numeric;
    paid_here numeric[];
    by_component jsonb := '{"principal": 0, "interest": 0, "fee": 0, "penalty": 0}';
    since date;
    dpd integer;
BEGIN
    IF p_amount IS NULL OR p_amount <= 0 THEN
        RAISE EXCEPTION 'payment amount must be positive' USING ERRCODE = 'check_violation';
    END IF;
    SELECT * INTO debt FROM plain.debt_account d WHERE d.business_id = p_business AND d.id = p_debt FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'debt account % does not exist', p_debt USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF debt.status IN ('closed', 'written_off') THEN
        RAISE EXCEPTION 'debt account % is %', p_debt, debt.status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT * INTO product FROM collections.product p WHERE p.business_id = p_business AND p.id = debt.product_id;
    INSERT INTO plain.payment (business_id, debt_account_id, reference, amount, currency)
    VALUES (p_business, p_debt, p_reference, p_amount, debt.currency) RETURNING id INTO payment_id;
    FOR installment IN
        SELECT * FROM plain.installment i
         WHERE i.business_id = p_business AND i.plan_id = debt.active_plan_id AND i.remaining > 0
         ORDER BY i.due_on, i.seq
    LOOP
        EXIT WHEN left_to_pay <= 0;
        paid_here := ARRAY[0, 0, 0, 0];
        FOREACH component IN ARRAY product.allocation_order LOOP
            owed := CASE component
                        WHEN 'principal' THEN installment.principal_due - installment.principal_paid - installment.principal_written_off
                        WHEN 'interest' THEN installment.interest_due - installment.interest_paid - installment.interest_written_off
                        WHEN 'fee' THEN installment.fee_due - installment.fee_paid - installment.fee_written_off
                        ELSE installment.penalty_due - installment.penalty_paid - installment.penalty_written_off END;
            paid := least(owed, left_to_pay);
            IF paid > 0 THEN
                left_to_pay := left_to_pay - paid;
                by_component := jsonb_set(by_component, ARRAY[component],
                                          to_jsonb((by_component->>component)::numeric + paid));
                paid_here[array_position(ARRAY['principal', 'interest', 'fee', 'penalty'], component)] := paid;
            END IF;
        END LOOP;
        INSERT INTO plain.payment_allocation (business_id, payment_id, paid_at, debt_account_id, installment_id,
                                              principal, interest, fee, penalty)
        VALUES (p_business, payment_id, now(), p_debt, installment.id,
                paid_here[1], paid_here[2], paid_here[3], paid_here[4]);
        UPDATE plain.installment i
           SET principal_paid = principal_paid + paid_here[1], interest_paid = interest_paid + paid_here[2],
               fee_paid = fee_paid + paid_here[3], penalty_paid = penalty_paid + paid_here[4]
         WHERE i.business_id = p_business AND i.id = installment.id;
    END LOOP;
    IF left_to_pay > 0 THEN
        INSERT INTO plain.payment_allocation (business_id, payment_id, paid_at, debt_account_id, credit)
        VALUES (p_business, payment_id, now(), p_debt, left_to_pay);
    END IF;
    INSERT INTO crm_core.journal_entry (business_id, memo, source_ref)
    VALUES (p_business, 'Payment ' || p_reference, 'plain.payment:' || payment_id) RETURNING id INTO posted_entry;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger)
    SELECT p_business, posted_entry, l.account, l.debit, l.credit, p_debt
      FROM (VALUES (product.cash_account_id, p_amount, NULL::numeric),
                   (product.principal_account_id, NULL, (by_component->>'principal')::numeric),
                   (product.interest_account_id, NULL, (by_component->>'interest')::numeric),
                   (product.fee_account_id, NULL, (by_component->>'fee')::numeric),
                   (product.penalty_account_id, NULL, (by_component->>'penalty')::numeric),
                   (product.credit_balance_account_id, NULL, left_to_pay)) AS l(account, debit, credit)
     WHERE coalesce(l.debit, l.credit) > 0;
    UPDATE plain.payment p SET entry_id = posted_entry WHERE p.business_id = p_business AND p.id = payment_id;
    SELECT min(i.due_on) INTO since FROM plain.installment i
     WHERE i.business_id = p_business AND i.plan_id = debt.active_plan_id AND i.remaining > 0;
    dpd := greatest(0, CURRENT_DATE - since - product.grace_days);
    UPDATE plain.debt_account d
       SET unpaid_since = since, revision = revision + 1,
           status = CASE WHEN since IS NULL THEN 'paid_off' ELSE d.status END,
           bucket_id = (SELECT b.id FROM collections.bucket b WHERE b.business_id = p_business
                           AND b.min_days <= coalesce(dpd, 0) AND (b.max_days IS NULL OR coalesce(dpd, 0) <= b.max_days))
     WHERE d.business_id = p_business AND d.id = p_debt;
    RETURN payment_id;
END;
$$;
