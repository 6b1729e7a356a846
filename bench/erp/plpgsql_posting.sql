-- The same posting rules in plain PL/pgSQL, as a user would write them without crm_erp's C++:
-- the same erp.posting_rule rows read and applied per event row, amounts read through
-- to_jsonb(NEW), item accounts looked up, all of a row's lines written in one INSERT. It
-- replaces crm_erp's triggers on the sale tables; crm_core's ledger (C++) is the same.
CREATE SCHEMA plain_posting;

CREATE FUNCTION plain_posting.reserve_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.entry_id IS NOT NULL THEN
        RAISE EXCEPTION 'entry_id is set by the posting rules' USING ERRCODE = 'generated_always';
    END IF;
    NEW.entry_id := nextval('crm_core.journal_entry_id_seq');
    RETURN NEW;
END $$;

CREATE FUNCTION plain_posting.post_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    registration erp.event_table;
    kind erp.transaction_type;
    event jsonb := to_jsonb(NEW);
    entry bigint;
    rule erp.posting_rule;
    amount numeric;
    target bigint;
    accounts bigint[] := '{}';
    debits numeric[] := '{}';
    credits numeric[] := '{}';
    subledgers bigint[] := '{}';
    memos text[] := '{}';
BEGIN
    SELECT * INTO registration FROM erp.event_table WHERE relid = TG_RELID;
    SELECT * INTO kind FROM erp.transaction_type
     WHERE business_id = NEW.business_id AND code = registration.transaction_type;
    IF NOT FOUND OR NOT kind.active THEN
        RAISE EXCEPTION '% % cannot post: transaction type % is missing or inactive', TG_TABLE_NAME, NEW.id,
            registration.transaction_type USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF registration.parent IS NULL THEN
        entry := NEW.entry_id;
        INSERT INTO crm_core.journal_entry (business_id, id, effective_date, memo, source_ref, metadata)
        VALUES (NEW.business_id, entry,
                CASE WHEN registration.date_column IS NULL THEN current_date
                     ELSE (event ->> registration.date_column)::timestamptz::date END,
                kind.name, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || NEW.id,
                jsonb_build_object('transaction_type', kind.code, 'rule_version', kind.rule_version::text));
    ELSE
        EXECUTE format('SELECT entry_id FROM %s WHERE business_id = $1 AND id = $2', registration.parent)
           INTO entry USING NEW.business_id, (event ->> registration.parent_column)::bigint;
    END IF;
    FOR rule IN SELECT * FROM erp.posting_rule
                 WHERE business_id = NEW.business_id AND transaction_type = registration.transaction_type
                 ORDER BY line_no LOOP
        IF rule.when_column IS NOT NULL AND (event ->> rule.when_column) IS DISTINCT FROM rule.when_value THEN
            CONTINUE;
        END IF;
        amount := (event ->> rule.amount_column)::numeric;
        IF amount IS NULL OR amount = 0 THEN
            CONTINUE;
        END IF;
        IF amount < 0 THEN
            RAISE EXCEPTION 'negative amount in %', rule.amount_column USING ERRCODE = 'check_violation';
        END IF;
        target := coalesce(rule.account_id, (event ->> rule.account_column)::bigint);
        IF target IS NULL THEN
            SELECT CASE rule.item_account WHEN 'stock' THEN i.stock_account_id ELSE i.movement_account_id END
              INTO target FROM erp.item i
             WHERE i.business_id = NEW.business_id
               AND i.id = coalesce(rule.item_id, (event ->> rule.item_column)::bigint);
        END IF;
        accounts := accounts || target;
        debits := debits || CASE WHEN rule.side = 'debit' THEN amount END;
        credits := credits || CASE WHEN rule.side = 'credit' THEN amount END;
        subledgers := subledgers || (event ->> rule.subledger_column)::bigint;
        memos := memos || (event ->> rule.memo_column);
    END LOOP;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, subledger, memo)
    SELECT NEW.business_id, entry, a, d, c, s, m FROM unnest(accounts, debits, credits, subledgers, memos) AS u (a, d, c, s, m);
    RETURN NULL;
END $$;

DROP TRIGGER erp_reserve_entry ON retail.sale;
DROP TRIGGER erp_post ON retail.sale;
DROP TRIGGER erp_post ON retail.sale_item;
CREATE TRIGGER erp_reserve_entry BEFORE INSERT ON retail.sale FOR EACH ROW EXECUTE FUNCTION plain_posting.reserve_entry();
CREATE TRIGGER erp_post AFTER INSERT ON retail.sale FOR EACH ROW EXECUTE FUNCTION plain_posting.post_event();
CREATE TRIGGER erp_post AFTER INSERT ON retail.sale_item FOR EACH ROW EXECUTE FUNCTION plain_posting.post_event();
