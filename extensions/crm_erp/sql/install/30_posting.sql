-- Transaction types and posting rules: a business event row (a water sale, a laundry payment,
-- an LPG exchange) posts one balanced crm_core entry when it is inserted, in the same
-- statement, by its business's rules for its transaction type. The work is done by C++
-- triggers (src/posting.cpp); see docs/erp.md, "Posting rules".

-- Seed 002's TransactionType: what kinds of events a business records. rule_version counts
-- the changes to its rules; every entry records the version that posted it.
CREATE TABLE erp.transaction_type (
    business_id  bigint NOT NULL REFERENCES crm_core.business (id),
    code         text NOT NULL
                 CONSTRAINT transaction_type_code_valid CHECK (code ~ '^[A-Za-z][A-Za-z0-9_]{0,62}$'),
    name         text NOT NULL CHECK (name <> ''),
    description  text,
    rule_version integer NOT NULL DEFAULT 1,
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, code)
);
COMMENT ON TABLE erp.transaction_type IS
    'Kinds of business events per business; rule_version increases with every change of its '
    'erp.posting_rule lines and is recorded in the metadata of each entry posted.';

-- The lines an event of a transaction type posts. Each line: a side, a target (exactly one of
-- a fixed account, an account id read from an event column, a fixed item or an item id read
-- from an event column, with the item's stock or movement account), the event column holding
-- the amount (money in the account's currency, or a quantity in the item's unit), and
-- optionally a subledger column (crm_core.journal_line.subledger, e.g. the customer), a memo
-- column (e.g. the M-Pesa receipt reconciliation matches on) and a condition (the line applies
-- only when when_column's text equals when_value). NULL or zero amounts post no line;
-- negative ones are refused.
CREATE TABLE erp.posting_rule (
    business_id      bigint NOT NULL,
    transaction_type text NOT NULL,
    line_no          smallint NOT NULL CHECK (line_no > 0),
    side             text NOT NULL CONSTRAINT posting_rule_side_valid CHECK (side IN ('debit', 'credit')),
    account_id       bigint,
    account_column   name,
    item_id          bigint,
    item_column      name,
    item_account     text CONSTRAINT posting_rule_item_account_valid
                     CHECK (item_account IN ('stock', 'movement')),
    amount_column    name NOT NULL,
    subledger_column name,
    memo_column      name,
    when_column      name,
    when_value       text,
    PRIMARY KEY (business_id, transaction_type, line_no),
    FOREIGN KEY (business_id, transaction_type) REFERENCES erp.transaction_type (business_id, code),
    FOREIGN KEY (business_id, account_id) REFERENCES crm_core.account (business_id, id),
    FOREIGN KEY (business_id, item_id) REFERENCES erp.item (business_id, id),
    CONSTRAINT posting_rule_one_target
        CHECK (num_nonnulls(account_id, account_column, item_id, item_column) = 1),
    CONSTRAINT posting_rule_item_account_given
        CHECK ((item_id IS NULL AND item_column IS NULL) = (item_account IS NULL)),
    CONSTRAINT posting_rule_condition_complete CHECK ((when_column IS NULL) = (when_value IS NULL))
);
COMMENT ON TABLE erp.posting_rule IS
    'The lines each transaction type posts: side, target account or item, amount column, '
    'optional subledger, memo and condition columns.';

-- Event tables: which table posts which transaction type. A child table (sale items, job
-- items) adds its rows' lines to its parent row's entry, posted in the same transaction.
-- mutable_columns may change after posting (a laundry job's status); every other column of a
-- posted event is frozen, and events are never deleted (reverse them).
CREATE TABLE erp.event_table (
    relid            regclass PRIMARY KEY,
    transaction_type text NOT NULL CONSTRAINT event_table_type_unique UNIQUE,
    parent           regclass,
    parent_column    name,
    date_column      name,
    mutable_columns  name[] NOT NULL DEFAULT '{}',
    registered_at    timestamptz NOT NULL DEFAULT now(),
    -- Rows the install script writes (CREATE EXTENSION writes them again on restore).
    by_extension     boolean NOT NULL DEFAULT false,
    CONSTRAINT event_table_parent_complete CHECK ((parent IS NULL) = (parent_column IS NULL))
);
COMMENT ON TABLE erp.event_table IS
    'Tables whose inserted rows post journal entries (see erp.post_on_insert()).';
SELECT pg_catalog.pg_extension_config_dump('erp.event_table', 'WHERE NOT by_extension');

-- Reversed events: the reversal entry and why.
CREATE TABLE erp.event_reversal (
    business_id       bigint NOT NULL,
    relid             regclass NOT NULL,
    event_id          bigint NOT NULL,
    entry_id          bigint NOT NULL,
    reversal_entry_id bigint NOT NULL,
    reason            text NOT NULL CHECK (reason <> ''),
    reversed_at       timestamptz NOT NULL DEFAULT now(),
    reversed_by       name NOT NULL DEFAULT current_user,
    PRIMARY KEY (business_id, relid, event_id),
    FOREIGN KEY (business_id, reversal_entry_id) REFERENCES crm_core.journal_entry (business_id, id)
);
COMMENT ON TABLE erp.event_reversal IS 'Events reversed with erp.reverse_event(): their entries and reversals.';

-- A reversal record tells the truth: its event posted entry_id, and reversal_entry_id is the
-- ledger's reversal of that entry (summaries leave reversed events out: a record may not hide
-- a sale that was not reversed).
CREATE FUNCTION erp.event_reversal_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    event_entry bigint;
BEGIN
    EXECUTE format('SELECT entry_id FROM %s WHERE business_id OPERATOR(pg_catalog.=) $1 '
                   'AND id OPERATOR(pg_catalog.=) $2', NEW.relid)
       INTO event_entry USING NEW.business_id, NEW.event_id;
    IF event_entry IS DISTINCT FROM NEW.entry_id OR NOT EXISTS (
           SELECT FROM crm_core.journal_entry e
            WHERE e.business_id = NEW.business_id AND e.id = NEW.reversal_entry_id
              AND e.reverses_entry_id = NEW.entry_id) THEN
        RAISE EXCEPTION '% % was not reversed by entry %', NEW.relid, NEW.event_id, NEW.reversal_entry_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'event_reversal_true',
                  TABLE = 'event_reversal', SCHEMA = 'erp', HINT = 'Reverse events with erp.reverse_event().';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER event_reversal_true BEFORE INSERT ON erp.event_reversal
    FOR EACH ROW EXECUTE FUNCTION erp.event_reversal_check();

-- ---------------------------------------------------------------------------------------
-- The C++ triggers.

CREATE FUNCTION erp.reserve_entry() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_erp_reserve_entry' LANGUAGE C;
CREATE FUNCTION erp.post_events() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_erp_post_events' LANGUAGE C;
CREATE FUNCTION erp.rules_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_erp_rules_changed' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION erp.reserve_entry(), erp.post_events(), erp.rules_changed() FROM PUBLIC;
COMMENT ON FUNCTION erp.reserve_entry() IS
    'Trigger (BEFORE INSERT, per row): reserves the journal entry id an event row will post.';
COMMENT ON FUNCTION erp.post_events() IS
    'Trigger (AFTER INSERT, per statement): posts the inserted event rows by their business''s rules.';

-- Every backend's cached rules, event tables and items are dropped when these change.
CREATE TRIGGER transaction_type_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON erp.transaction_type FOR EACH STATEMENT EXECUTE FUNCTION erp.rules_changed();
CREATE TRIGGER posting_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON erp.posting_rule FOR EACH STATEMENT EXECUTE FUNCTION erp.rules_changed();
CREATE TRIGGER event_table_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON erp.event_table FOR EACH STATEMENT EXECUTE FUNCTION erp.rules_changed();
CREATE TRIGGER item_changed AFTER UPDATE OR DELETE OR TRUNCATE
    ON erp.item FOR EACH STATEMENT EXECUTE FUNCTION erp.rules_changed();

-- ---------------------------------------------------------------------------------------
-- Rule checks and versions.

-- The type family a rule column needs: 'number' (amount), 'integer' (ids), 'any'.
CREATE FUNCTION erp.check_rule_column(relation regclass, rule erp.posting_rule, role text,
                                      column_name name, family text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    column_type regtype;
BEGIN
    IF column_name IS NULL THEN
        RETURN;
    END IF;
    SELECT a.atttypid::regtype INTO column_type FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = relation AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped;
    IF column_type IS NULL THEN
        RAISE EXCEPTION 'posting rule % line % (%) reads column %, which % does not have',
            rule.transaction_type, rule.line_no, role, quote_ident(column_name), relation
            USING ERRCODE = 'undefined_column';
    END IF;
    IF (family = 'integer' AND column_type NOT IN ('smallint', 'integer', 'bigint'))
       OR (family = 'number' AND column_type NOT IN ('smallint', 'integer', 'bigint', 'numeric')) THEN
        RAISE EXCEPTION 'posting rule % line % (%) reads column % of %, which is % and not %',
            rule.transaction_type, rule.line_no, role, quote_ident(column_name), relation, column_type,
            CASE family WHEN 'integer' THEN 'an integer' ELSE 'a number' END
            USING ERRCODE = 'datatype_mismatch';
    END IF;
END;
$$;

-- Checks a rule line against the event table that posts its transaction type (if registered).
CREATE FUNCTION erp.check_rule(rule erp.posting_rule) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    relation regclass;
BEGIN
    SELECT t.relid INTO relation FROM erp.event_table t WHERE t.transaction_type = rule.transaction_type;
    IF relation IS NULL THEN
        RETURN;
    END IF;
    PERFORM erp.check_rule_column(relation, rule, 'amount_column', rule.amount_column, 'number');
    PERFORM erp.check_rule_column(relation, rule, 'account_column', rule.account_column, 'integer');
    PERFORM erp.check_rule_column(relation, rule, 'item_column', rule.item_column, 'integer');
    PERFORM erp.check_rule_column(relation, rule, 'subledger_column', rule.subledger_column, 'integer');
    PERFORM erp.check_rule_column(relation, rule, 'memo_column', rule.memo_column, 'any');
    PERFORM erp.check_rule_column(relation, rule, 'when_column', rule.when_column, 'any');
END;
$$;

-- A rule line must read columns its event table has; every change bumps the type's version.
CREATE FUNCTION erp.posting_rule_changed() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM erp.check_rule(NEW);
    END IF;
    UPDATE erp.transaction_type t SET rule_version = t.rule_version + 1
     WHERE (t.business_id, t.code) IN (SELECT OLD.business_id, OLD.transaction_type WHERE TG_OP <> 'INSERT'
                                       UNION SELECT NEW.business_id, NEW.transaction_type WHERE TG_OP <> 'DELETE');
    RETURN NULL;
END;
$$;
CREATE TRIGGER posting_rule_checked AFTER INSERT OR UPDATE OR DELETE ON erp.posting_rule
    FOR EACH ROW EXECUTE FUNCTION erp.posting_rule_changed();
