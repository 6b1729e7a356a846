-- Reconciliation (40_reconciliation.sql): reading and importing statements, and what is
-- unmatched on both sides.

-- A money line of a statement as read (local time, amount > 0 = money in).
CREATE TYPE erp.statement_row AS (line_no integer, booked_at timestamp, amount numeric, reference text,
                                  description text, balance numeric);

-- Parses a statement (C++): one row per money line.
CREATE FUNCTION erp.parse_statement(layout text, csv text) RETURNS SETOF erp.statement_row
    AS 'MODULE_PATHNAME', 'crm_erp_parse_statement' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION erp.parse_statement(text, text) IS
    'Reads an M-Pesa (layout mpesa) or bank (layout bank) statement CSV into its money lines; amount > 0 = money in.';

-- The one-to-one matches of statement and ledger lines (C++, crm_core/reconcile.hpp).
CREATE FUNCTION erp._match_lines(statement_ids bigint[], statement_days date[], statement_amounts text[],
                                 statement_references text[], ledger_ids bigint[], ledger_days date[],
                                 ledger_amounts text[], ledger_references text[], window_days integer)
    RETURNS TABLE (statement_line_id bigint, journal_line_id bigint, method text)
    AS 'MODULE_PATHNAME', 'crm_erp_match_lines' LANGUAGE C STRICT IMMUTABLE;
REVOKE EXECUTE ON FUNCTION erp._match_lines(bigint[], date[], text[], text[], bigint[], date[], text[], text[], integer) FROM PUBLIC;

-- The business of an account (refuses an id two businesses share).
CREATE FUNCTION erp.business_of_account(account_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found bigint[];
BEGIN
    SELECT array_agg(a.business_id) INTO found FROM crm_core.account a WHERE a.id = account_id;
    IF found IS NULL THEN
        RAISE EXCEPTION 'account % does not exist', account_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF cardinality(found) > 1 THEN
        RAISE EXCEPTION 'account id % exists in more than one business', account_id
            USING ERRCODE = 'cardinality_violation',
                  HINT = 'Let the identity default account ids, so that they are unique across businesses.';
    END IF;
    RETURN found[1];
END;
$$;

-- Imports a statement of the account (layout 'mpesa' or 'bank'); the CSV's times are local
-- to the business. Lines already imported (same reference and amount) are skipped.
CREATE FUNCTION erp.import_statement(account_id bigint, layout text, csv text, file_name text DEFAULT NULL)
    RETURNS erp.statement_import LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    business bigint := erp.business_of_account(account_id);
    zone text;
    parsed erp.statement_row[];
    result erp.statement_import;
    imported integer;
BEGIN
    -- Read the whole statement first: a bad file leaves nothing behind.
    SELECT coalesce(array_agg(p), '{}') INTO parsed FROM erp.parse_statement(layout, csv) AS p;
    SELECT s.time_zone INTO zone FROM erp.business_settings s WHERE s.business_id = business;
    INSERT INTO erp.statement_import (business_id, account_id, layout, file_name)
    VALUES (business, account_id, layout, file_name) RETURNING * INTO result;
    INSERT INTO erp.statement_line (business_id, import_id, account_id, line_no, booked_at, booked_on,
                                    amount, reference, description, balance)
    SELECT business, result.id, import_statement.account_id, p.line_no,
           p.booked_at AT TIME ZONE coalesce(zone, 'UTC'), p.booked_at::date,
           p.amount, p.reference, p.description, p.balance
      FROM unnest(parsed) AS p
    ON CONFLICT (business_id, account_id, reference, amount) WHERE reference <> '' DO NOTHING;
    GET DIAGNOSTICS imported = ROW_COUNT;
    UPDATE erp.statement_import i SET lines_imported = imported, duplicates_skipped = cardinality(parsed) - imported
     WHERE i.business_id = business AND i.id = result.id
    RETURNING * INTO result;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION erp.import_statement(bigint, text, text, text) IS
    'Imports a till (layout mpesa) or bank (layout bank) statement CSV for an account; skips lines already imported.';

-- Imports the statement of a till by its number: an M-Pesa till or paybill reads the mpesa
-- layout, a bank account or cash drawer the bank layout, into the till's account.
CREATE FUNCTION erp.import_till_statement(business_id bigint, till_number text, csv text,
                                          file_name text DEFAULT NULL)
    RETURNS erp.statement_import LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    till erp.till;
BEGIN
    SELECT * INTO till FROM erp.till t
     WHERE t.business_id = import_till_statement.business_id AND t.number = till_number
     ORDER BY t.kind LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'business % has no till %', business_id, till_number
            USING ERRCODE = 'foreign_key_violation', HINT = 'Tills are rows of erp.till.';
    END IF;
    RETURN erp.import_statement(till.account_id,
                                CASE WHEN till.kind IN ('mpesa_till', 'mpesa_paybill') THEN 'mpesa' ELSE 'bank' END,
                                csv, file_name);
END;
$$;
COMMENT ON FUNCTION erp.import_till_statement(bigint, text, text, text) IS
    'Imports a till''s statement (M-Pesa layout for M-Pesa tills and paybills, bank layout otherwise) into its account.';

-- Statement lines of an account not matched yet.
CREATE VIEW erp.unmatched_statement_line WITH (security_invoker = true) AS
SELECT s.business_id, s.account_id, s.id AS statement_line_id, s.booked_on, s.booked_at, s.amount,
       s.reference, s.description
  FROM erp.statement_line s
 WHERE NOT EXISTS (SELECT FROM erp.reconciliation_match m
                   WHERE m.business_id = s.business_id AND m.statement_line_id = s.id);
COMMENT ON VIEW erp.unmatched_statement_line IS 'Statement lines not matched to the ledger.';

-- Ledger lines of accounts that have statements (tills, banks) not matched yet.
CREATE VIEW erp.unmatched_ledger_line WITH (security_invoker = true) AS
SELECT r.business_id, r.account_id, r.journal_line_id, r.entry_id, r.source_ref, r.booked_on,
       r.amount, r.reference
  FROM erp.reconcilable_ledger_line r
 WHERE EXISTS (SELECT FROM erp.statement_import i
               WHERE i.business_id = r.business_id AND i.account_id = r.account_id)
   AND NOT EXISTS (SELECT FROM erp.reconciliation_match m
                   WHERE m.business_id = r.business_id AND m.journal_line_id = r.journal_line_id);
COMMENT ON VIEW erp.unmatched_ledger_line IS
    'Ledger lines of reconciled accounts (those with imported statements) not matched to a statement line.';
