-- Posting rules, part 2 (30_posting.sql): registering event tables (erp.post_on_insert), the
-- guard of posted events and reversing an event.

-- ---------------------------------------------------------------------------------------
-- Registering event tables.

-- Refuses UPDATE of a posted event's frozen columns and DELETE (trigger arguments: the
-- columns that may change).
CREATE FUNCTION erp.guard_posted_event() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% % is posted and is not deleted', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Reverse it with erp.reverse_event().';
    END IF;
    IF to_jsonb(OLD) - coalesce(TG_ARGV::text[], '{}') IS DISTINCT FROM to_jsonb(NEW) - coalesce(TG_ARGV::text[], '{}') THEN
        RAISE EXCEPTION '% % is posted: %', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, OLD.id,
            CASE WHEN TG_NARGS = 0 THEN 'it does not change'
                 ELSE 'only ' || array_to_string(TG_ARGV::text[], ', ') || ' may change' END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Reverse it with erp.reverse_event() and record it again.';
    END IF;
    RETURN NEW;
END;
$$;
REVOKE EXECUTE ON FUNCTION erp.guard_posted_event() FROM PUBLIC;

-- Makes inserts into relation post transaction_type. relation needs bigint columns
-- business_id and id, and entry_id (header tables) or parent_column (child tables whose lines
-- join the parent row's entry; the parent must be registered first). date_column (date or
-- timestamptz) dates the entry. mutable_columns may change after posting.
CREATE FUNCTION erp.post_on_insert(relation regclass, transaction_type text,
                                   date_column name DEFAULT NULL, parent regclass DEFAULT NULL,
                                   parent_column name DEFAULT NULL,
                                   mutable_columns name[] DEFAULT '{}')
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind "char";
    missing text;
    rule erp.posting_rule;
BEGIN
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid = relation;
    IF kind IS NULL OR kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', relation USING ERRCODE = 'wrong_object_type';
    END IF;
    IF transaction_type IS NULL OR transaction_type !~ '^[A-Za-z][A-Za-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'transaction type % is not a valid code', coalesce(quote_literal(transaction_type), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A letter, then letters, digits or _.';
    END IF;
    IF (parent IS NULL) <> (parent_column IS NULL) THEN
        RAISE EXCEPTION 'parent and parent_column go together' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF post_on_insert.parent IS NOT NULL AND NOT EXISTS (
           SELECT FROM erp.event_table t WHERE t.relid = post_on_insert.parent AND t.parent IS NULL) THEN
        RAISE EXCEPTION 'parent % is not a registered header event table', parent
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Register the parent with erp.post_on_insert() first.';
    END IF;
    SELECT string_agg(quote_ident(needed) || ' bigint', ', ') INTO missing
      FROM unnest(ARRAY['business_id', 'id', coalesce(post_on_insert.parent_column, 'entry_id')]::name[]) AS needed
     WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = relation AND a.attname = needed AND a.attnum > 0
                         AND NOT a.attisdropped AND a.atttypid = 'bigint'::regtype);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '% lacks columns %', relation, missing
            USING ERRCODE = 'undefined_column';
    END IF;
    IF post_on_insert.date_column IS NOT NULL AND NOT EXISTS (
           SELECT FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = relation AND a.attname = post_on_insert.date_column AND a.attnum > 0 AND NOT a.attisdropped
              AND a.atttypid IN ('date'::regtype, 'timestamptz'::regtype, 'timestamp'::regtype)) THEN
        RAISE EXCEPTION '% has no date or timestamp column %', relation, quote_ident(date_column)
            USING ERRCODE = 'undefined_column';
    END IF;
    INSERT INTO erp.event_table (relid, transaction_type, parent, parent_column, date_column,
                                 mutable_columns)
    VALUES (relation, post_on_insert.transaction_type, parent, parent_column, date_column,
            coalesce(mutable_columns, '{}'));
    FOR rule IN SELECT * FROM erp.posting_rule r WHERE r.transaction_type = post_on_insert.transaction_type LOOP
        PERFORM erp.check_rule(rule);
    END LOOP;
    IF post_on_insert.parent IS NULL THEN
        EXECUTE format('CREATE TRIGGER erp_reserve_entry BEFORE INSERT ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION erp.reserve_entry()', relation);
    END IF;
    EXECUTE format('CREATE TRIGGER erp_post AFTER INSERT ON %s REFERENCING NEW TABLE AS erp_new_events '
                   'FOR EACH STATEMENT EXECUTE FUNCTION erp.post_events()', relation);
    EXECUTE format('CREATE TRIGGER erp_guard_posted BEFORE UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION erp.guard_posted_event(%s)', relation,
                   (SELECT string_agg(quote_literal(c), ', ') FROM unnest(mutable_columns) AS c));
    EXECUTE format('CREATE TRIGGER erp_guard_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION crm_core.append_only_guard()', relation);
    -- The guards hold under session_replication_role = replica too; posting does not (a
    -- restore brings the entries back with the events).
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER erp_guard_posted', relation);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER erp_guard_truncate', relation);
END;
$$;
REVOKE EXECUTE ON FUNCTION erp.post_on_insert(regclass, text, name, regclass, name, name[]) FROM PUBLIC;
COMMENT ON FUNCTION erp.post_on_insert(regclass, text, name, regclass, name, name[]) IS
    'Registers an event table: its inserted rows post transaction_type by their business''s rules.';

-- Reverses a posted event: posts the mirror of its entry (money and stock alike), once.
CREATE FUNCTION erp.reverse_event(relation regclass, business_id bigint, event_id bigint, reason text)
    RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    registration erp.event_table;
    entry bigint;
    reversal bigint;
BEGIN
    SELECT * INTO registration FROM erp.event_table t WHERE t.relid = relation;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not a registered event table', relation
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF registration.parent IS NOT NULL THEN
        RAISE EXCEPTION 'rows of % post into their % entry: reverse the % instead',
            relation, registration.parent, registration.parent
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'a reversal needs a reason' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE format('SELECT entry_id FROM %s WHERE business_id OPERATOR(pg_catalog.=) $1 '
                   'AND id OPERATOR(pg_catalog.=) $2', relation)
       INTO entry USING business_id, event_id;
    IF entry IS NULL THEN
        RAISE EXCEPTION '% % does not exist in business %', relation, event_id, business_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF EXISTS (SELECT FROM erp.event_reversal r WHERE r.business_id = reverse_event.business_id
                  AND r.relid = relation AND r.event_id = reverse_event.event_id) THEN
        RAISE EXCEPTION '% % is already reversed', relation, event_id
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'event_reversal_pkey',
                  TABLE = 'event_reversal', SCHEMA = 'erp';
    END IF;
    reversal := crm_core.reverse_entry(entry, format('%s %s reversed: %s', relation, event_id, reason));
    INSERT INTO erp.event_reversal (business_id, relid, event_id, entry_id, reversal_entry_id, reason)
    VALUES (business_id, relation, event_id, entry, reversal, reason);
    RETURN reversal;
END;
$$;
COMMENT ON FUNCTION erp.reverse_event(regclass, bigint, bigint, text) IS
    'Reverses an event''s entry (with its children''s lines, money and stock), once; returns the reversal entry.';
