-- Reconciliation (40_reconciliation.sql): matching statement lines to ledger lines, and closing
-- a period.

-- Matches the account's unmatched statement and ledger lines after its last closed period:
-- by reference and amount, then by amount within date_window days.
CREATE FUNCTION erp.match_statement(account_id bigint, date_window integer DEFAULT 3)
    RETURNS TABLE (matched_by_reference integer, matched_by_amount_date integer,
                   unmatched_statement_lines integer, unmatched_ledger_lines integer)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    business bigint := erp.business_of_account(account_id);
    closed date := erp.reconciled_through(business, account_id);
BEGIN
    -- One matcher per account at a time: two would pair the same free lines.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('erp.match_statement ' || account_id, 0));
    WITH statement AS (
        SELECT array_agg(u.statement_line_id) AS ids, array_agg(u.booked_on) AS days,
               array_agg(pg_catalog.trim_scale(u.amount)::text) AS amounts, array_agg(u.reference) AS refs
          FROM erp.unmatched_statement_line u
         WHERE u.business_id = business AND u.account_id = match_statement.account_id
           AND (closed IS NULL OR u.booked_on > closed)
    ), ledger AS (
        SELECT array_agg(u.journal_line_id) AS ids, array_agg(u.booked_on) AS days,
               array_agg(pg_catalog.trim_scale(u.amount)::text) AS amounts, array_agg(u.reference) AS refs
          FROM erp.unmatched_ledger_line u
         WHERE u.business_id = business AND u.account_id = match_statement.account_id
           AND (closed IS NULL OR u.booked_on > closed)
    ), found AS (
        SELECT m.* FROM statement s, ledger l,
               erp._match_lines(coalesce(s.ids, '{}'), coalesce(s.days, '{}'), coalesce(s.amounts, '{}'),
                                coalesce(s.refs, '{}'), coalesce(l.ids, '{}'), coalesce(l.days, '{}'),
                                coalesce(l.amounts, '{}'), coalesce(l.refs, '{}'), date_window) AS m
    ), inserted AS (
        INSERT INTO erp.reconciliation_match (business_id, account_id, statement_line_id, journal_line_id, method)
        SELECT business, match_statement.account_id, f.statement_line_id, f.journal_line_id, f.method FROM found f
        RETURNING method
    )
    SELECT count(*) FILTER (WHERE i.method = 'reference'), count(*) FILTER (WHERE i.method = 'amount_date')
      INTO matched_by_reference, matched_by_amount_date FROM inserted i;
    SELECT count(*) INTO unmatched_statement_lines FROM erp.unmatched_statement_line u
     WHERE u.business_id = business AND u.account_id = match_statement.account_id;
    SELECT count(*) INTO unmatched_ledger_lines FROM erp.unmatched_ledger_line u
     WHERE u.business_id = business AND u.account_id = match_statement.account_id;
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION erp.match_statement(bigint, integer) IS
    'Matches an account''s unmatched statement and ledger lines (reference, then amount within date_window days).';

CREATE FUNCTION erp.match_manually(business_id bigint, statement_line_id bigint, journal_line_id bigint)
    RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO erp.reconciliation_match (business_id, account_id, statement_line_id, journal_line_id, method)
    SELECT s.business_id, s.account_id, s.id, match_manually.journal_line_id, 'manual'
      FROM erp.statement_line s
     WHERE s.business_id = match_manually.business_id AND s.id = match_manually.statement_line_id
$$;
COMMENT ON FUNCTION erp.match_manually(bigint, bigint, bigint) IS
    'Pairs a statement line with a ledger line by hand (same account and amount, periods open).';

CREATE FUNCTION erp.unmatch(business_id bigint, statement_line_id bigint) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM erp.reconciliation_match m
     WHERE m.business_id = unmatch.business_id AND m.statement_line_id = unmatch.statement_line_id
$$;
COMMENT ON FUNCTION erp.unmatch(bigint, bigint) IS 'Undoes a match whose lines are not in a closed period.';

-- Closing a period, however the row is inserted: the period starts the day after the last
-- closed one (or at the account's first line), the balances and unmatched counts are computed
-- here (what the inserter gives is replaced), and the period's matches become final.
CREATE FUNCTION erp.reconciliation_closing() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    closed date;
BEGIN
    IF NEW.period_end IS NULL THEN
        RAISE EXCEPTION 'period_end is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Matchers and closers of one account take turns.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('erp.match_statement ' || NEW.account_id, 0));
    closed := erp.reconciled_through(NEW.business_id, NEW.account_id);
    IF closed IS NOT NULL AND NEW.period_end <= closed THEN
        RAISE EXCEPTION 'account % is reconciled through % already', NEW.account_id, closed
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Close a period that ends after the last closed one.';
    END IF;
    NEW.period_start := least(coalesce(closed + 1,
                                       least((SELECT min(s.booked_on) FROM erp.statement_line s
                                               WHERE s.business_id = NEW.business_id AND s.account_id = NEW.account_id),
                                             (SELECT min(r.booked_on) FROM erp.reconcilable_ledger_line r
                                               WHERE r.business_id = NEW.business_id AND r.account_id = NEW.account_id)),
                                       NEW.period_end),
                              NEW.period_end);
    NEW.ledger_balance := (SELECT coalesce(sum(r.amount), 0) FROM erp.reconcilable_ledger_line r
                            WHERE r.business_id = NEW.business_id AND r.account_id = NEW.account_id
                              AND r.booked_on <= NEW.period_end);
    NEW.unmatched_statement_lines := (SELECT count(*) FROM erp.unmatched_statement_line u
                                       WHERE u.business_id = NEW.business_id AND u.account_id = NEW.account_id
                                         AND u.booked_on BETWEEN NEW.period_start AND NEW.period_end);
    NEW.unmatched_ledger_lines := (SELECT count(*) FROM erp.unmatched_ledger_line u
                                    WHERE u.business_id = NEW.business_id AND u.account_id = NEW.account_id
                                      AND u.booked_on BETWEEN NEW.period_start AND NEW.period_end);
    NEW.closed_at := now();
    NEW.closed_by := current_user;
    RETURN NEW;
END;
$$;
CREATE TRIGGER reconciliation_closing BEFORE INSERT ON erp.reconciliation
    FOR EACH ROW EXECUTE FUNCTION erp.reconciliation_closing();

-- Closes the account's next reconciliation period through period_end, with the statement's
-- closing balance when given (see erp.reconciliation_closing()).
CREATE FUNCTION erp.close_reconciliation(account_id bigint, period_end date, statement_balance numeric DEFAULT NULL)
    RETURNS erp.reconciliation LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO erp.reconciliation (business_id, account_id, period_start, period_end, statement_balance,
                                    ledger_balance, unmatched_statement_lines, unmatched_ledger_lines)
    VALUES (erp.business_of_account(close_reconciliation.account_id), close_reconciliation.account_id,
            close_reconciliation.period_end, close_reconciliation.period_end,
            close_reconciliation.statement_balance, 0, 0, 0)
    RETURNING *
$$;
COMMENT ON FUNCTION erp.close_reconciliation(bigint, date, numeric) IS
    'Closes the next reconciliation period of an account through period_end; its matches become final.';

-- Matches every account that has imported statements (the scheduled job of
-- erp.schedule_maintenance()); returns how many lines it matched.
CREATE FUNCTION erp.match_all_statements() RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    account bigint;
    matched bigint := 0;
    result record;
BEGIN
    FOR account IN SELECT DISTINCT i.account_id FROM erp.statement_import i ORDER BY 1 LOOP
        SELECT * INTO result FROM erp.match_statement(account);
        matched := matched + result.matched_by_reference + result.matched_by_amount_date;
    END LOOP;
    RETURN matched;
END;
$$;
REVOKE EXECUTE ON FUNCTION erp.match_all_statements() FROM PUBLIC;
COMMENT ON FUNCTION erp.match_all_statements() IS
    'Runs erp.match_statement() on every account with imported statements; returns the lines matched.';
