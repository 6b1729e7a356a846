-- crm_core ledger: the functions applications call to read balances, audit the ledger and
-- post entries. Only CREATE OR REPLACE and idempotent statements, so that the upgrade script
-- includes this part as it is (see sql/upgrade/0.1.0--0.2.0.sql); see docs/ledger.md.

-- ---------------------------------------------------------------------------------------
-- Balances and checks
-- ---------------------------------------------------------------------------------------

-- An account's balance now, in its normal side (asset/expense: debits - credits; others:
-- credits - debits), from the kept balance slots. NULL for an unknown account.
CREATE OR REPLACE FUNCTION crm_core.account_balance(account_id bigint) RETURNS numeric
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    -- A scalar subquery: an id two businesses share is refused (cardinality_violation), not
    -- answered with one of them.
    SELECT (
    SELECT CASE a.normal_side WHEN 'debit' THEN COALESCE(sum(s.debits), 0) - COALESCE(sum(s.credits), 0)
                              ELSE COALESCE(sum(s.credits), 0) - COALESCE(sum(s.debits), 0) END
    FROM crm_core.account a
    LEFT JOIN crm_core.account_balance_slot s
           ON s.business_id = a.business_id AND s.account_id = a.id
    WHERE a.id = account_balance.account_id
    GROUP BY a.business_id, a.id, a.normal_side)
$$;
COMMENT ON FUNCTION crm_core.account_balance(bigint) IS
    'Current balance of an account in its normal side, from the kept balance slots.';

-- The balance as the ledger showed it at a past moment: lines of entries posted at or before
-- `at` (posted_at is the posting transaction's start time).
CREATE OR REPLACE FUNCTION crm_core.account_balance(account_id bigint, at timestamptz) RETURNS numeric
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT (  -- scalar: an id two businesses share is refused, as above
    SELECT CASE a.normal_side WHEN 'debit' THEN COALESCE(sum(l.debit), 0) - COALESCE(sum(l.credit), 0)
                              ELSE COALESCE(sum(l.credit), 0) - COALESCE(sum(l.debit), 0) END
    FROM crm_core.account a
    LEFT JOIN (crm_core.journal_line l
               JOIN crm_core.journal_entry e
                 ON e.business_id = l.business_id AND e.id = l.entry_id
                AND e.status = 'posted' AND e.posted_at <= account_balance.at)
           ON l.business_id = a.business_id AND l.account_id = a.id
    WHERE a.id = account_balance.account_id
    GROUP BY a.business_id, a.id, a.normal_side)
$$;
COMMENT ON FUNCTION crm_core.account_balance(bigint, timestamptz) IS
    'Balance of an account at a past moment, from the lines of entries posted by then.';

-- The balance of an account and all its descendants (parent_id), in the root's normal side.
CREATE OR REPLACE FUNCTION crm_core.account_rollup_balance(account_id bigint) RETURNS numeric
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE tree AS (
        SELECT a.business_id, a.id, a.normal_side AS root_side
        FROM crm_core.account a
        WHERE a.id = account_rollup_balance.account_id
          -- scalar: an id two businesses share is refused, not summed over both
          AND a.business_id = (SELECT x.business_id FROM crm_core.account x
                               WHERE x.id = account_rollup_balance.account_id)
        UNION ALL
        SELECT c.business_id, c.id, t.root_side
        FROM crm_core.account c JOIN tree t ON c.business_id = t.business_id AND c.parent_id = t.id
    )
    SELECT CASE min(t.root_side) WHEN 'debit' THEN COALESCE(sum(s.debits), 0) - COALESCE(sum(s.credits), 0)
                                 ELSE COALESCE(sum(s.credits), 0) - COALESCE(sum(s.debits), 0) END
    FROM tree t
    LEFT JOIN crm_core.account_balance_slot s ON s.business_id = t.business_id AND s.account_id = t.id
    HAVING count(*) > 0
$$;
COMMENT ON FUNCTION crm_core.account_rollup_balance(bigint) IS
    'Balance of an account and its descendants, in the normal side of the account asked for.';

-- Accounts whose kept balance differs from the sum of their posted lines; normally empty.
CREATE OR REPLACE FUNCTION crm_core.check_balances()
    RETURNS TABLE (business_id bigint, account_id bigint, stored numeric, computed numeric)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH stored AS (
        SELECT s.business_id, s.account_id, sum(s.debits) - sum(s.credits) AS net
        FROM crm_core.account_balance_slot s GROUP BY s.business_id, s.account_id
    ), computed AS (
        SELECT l.business_id, l.account_id,
               COALESCE(sum(l.debit), 0) - COALESCE(sum(l.credit), 0) AS net
        FROM crm_core.journal_line l
        JOIN crm_core.journal_entry e ON e.business_id = l.business_id AND e.id = l.entry_id
        WHERE e.status = 'posted'
        GROUP BY l.business_id, l.account_id
    )
    SELECT a.business_id, a.id,
           CASE a.normal_side WHEN 'debit' THEN 1 ELSE -1 END * COALESCE(s.net, 0),
           CASE a.normal_side WHEN 'debit' THEN 1 ELSE -1 END * COALESCE(c.net, 0)
    FROM crm_core.account a
    LEFT JOIN stored s ON s.business_id = a.business_id AND s.account_id = a.id
    LEFT JOIN computed c ON c.business_id = a.business_id AND c.account_id = a.id
    WHERE COALESCE(s.net, 0) <> COALESCE(c.net, 0)
    ORDER BY 1, 2
$$;
COMMENT ON FUNCTION crm_core.check_balances() IS
    'Accounts whose kept balance differs from their posted lines (normally no rows).';

-- Posted entries that do not balance in a currency, or have fewer than two lines
-- (currency NULL); normally empty.
CREATE OR REPLACE FUNCTION crm_core.unbalanced_entries()
    RETURNS TABLE (business_id bigint, entry_id bigint, currency text, debits numeric,
                   credits numeric)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.business_id, e.id, a.currency, COALESCE(sum(l.debit), 0), COALESCE(sum(l.credit), 0)
    FROM crm_core.journal_entry e
    JOIN crm_core.journal_line l ON l.business_id = e.business_id AND l.entry_id = e.id
    JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
    WHERE e.status = 'posted'
    GROUP BY e.business_id, e.id, a.currency
    HAVING COALESCE(sum(l.debit), 0) <> COALESCE(sum(l.credit), 0)
    UNION ALL
    SELECT e.business_id, e.id, NULL, COALESCE(sum(l.debit), 0), COALESCE(sum(l.credit), 0)
    FROM crm_core.journal_entry e
    LEFT JOIN crm_core.journal_line l ON l.business_id = e.business_id AND l.entry_id = e.id
    WHERE e.status = 'posted'
    GROUP BY e.business_id, e.id
    HAVING count(l.id) < 2
    ORDER BY 1, 2, 3
$$;
COMMENT ON FUNCTION crm_core.unbalanced_entries() IS
    'Posted entries that do not balance per currency or have fewer than two lines (normally none).';

-- ---------------------------------------------------------------------------------------
-- Posting helpers
-- ---------------------------------------------------------------------------------------

-- Posts the mirror of a posted entry (debits and credits swapped), dated today and linked
-- by reverses_entry_id; an entry is reversed at most once. Returns the new entry's id.
CREATE OR REPLACE FUNCTION crm_core.reverse_entry(entry_id bigint, memo text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    original crm_core.journal_entry;
    reversal_id bigint;
BEGIN
    IF (SELECT count(*) FROM crm_core.journal_entry e WHERE e.id = reverse_entry.entry_id) > 1 THEN
        RAISE EXCEPTION 'journal entry id % exists in more than one business', entry_id
            USING ERRCODE = 'cardinality_violation',
                  HINT = 'Let the identity default entry ids, so that they are unique across businesses.';
    END IF;
    SELECT * INTO original FROM crm_core.journal_entry e WHERE e.id = reverse_entry.entry_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'journal entry % does not exist', entry_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF original.status <> 'posted' THEN
        RAISE EXCEPTION 'journal entry % is a draft; only posted entries are reversed', entry_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Edit or delete the draft instead.';
    END IF;
    SELECT e.id INTO reversal_id FROM crm_core.journal_entry e
    WHERE e.business_id = original.business_id AND e.reverses_entry_id = original.id;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % is already reversed by entry %', entry_id, reversal_id
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'journal_entry_reversed_once',
                  TABLE = 'journal_entry', SCHEMA = 'crm_core';
    END IF;
    INSERT INTO crm_core.journal_entry (business_id, status, memo, source_ref, reverses_entry_id)
    VALUES (original.business_id, 'posted',
            COALESCE(reverse_entry.memo, 'Reversal of entry ' || original.id),
            original.source_ref, original.id)
    RETURNING id INTO reversal_id;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, currency, memo)
    SELECT l.business_id, reversal_id, l.account_id, l.credit, l.debit, l.currency, l.memo
    FROM crm_core.journal_line l
    WHERE l.business_id = original.business_id AND l.entry_id = original.id
    ORDER BY l.id;
    RETURN reversal_id;
END;
$$;
COMMENT ON FUNCTION crm_core.reverse_entry(bigint, text) IS
    'Posts the mirror entry of a posted entry, linked by reverses_entry_id; at most once.';

-- Posts an entry from a JSON array of lines ({"account_id", "debit" | "credit", "currency",
-- "memo"}). With an idempotency key, a retry with the same content returns the existing
-- entry and a reuse with other content is refused (unique_violation).
CREATE OR REPLACE FUNCTION crm_core.post_entry(business_id bigint, lines jsonb, memo text DEFAULT NULL,
                                    effective_date date DEFAULT CURRENT_DATE,
                                    idempotency_key text DEFAULT NULL,
                                    source_ref text DEFAULT NULL,
                                    metadata jsonb DEFAULT '{}') RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id bigint;
    existing crm_core.journal_entry;
BEGIN
    IF jsonb_typeof(lines) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'lines must be a JSON array of {"account_id", "debit" or "credit"}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO crm_core.journal_entry AS e
        (business_id, effective_date, memo, idempotency_key, source_ref, metadata)
    VALUES (post_entry.business_id, post_entry.effective_date, post_entry.memo,
            post_entry.idempotency_key, post_entry.source_ref, COALESCE(post_entry.metadata, '{}'))
    ON CONFLICT ON CONSTRAINT journal_entry_idempotency_key_unique DO NOTHING
    RETURNING e.id INTO new_id;
    IF new_id IS NULL THEN
        SELECT * INTO existing FROM crm_core.journal_entry e
        WHERE e.business_id = post_entry.business_id
          AND e.idempotency_key = post_entry.idempotency_key;
        IF existing.status = 'posted'
           AND existing.effective_date = post_entry.effective_date
           AND existing.memo IS NOT DISTINCT FROM post_entry.memo
           AND existing.source_ref IS NOT DISTINCT FROM post_entry.source_ref
           AND (SELECT array_agg((l.account_id, COALESCE(l.debit, 0), COALESCE(l.credit, 0))
                                 ORDER BY l.account_id, COALESCE(l.debit, 0), COALESCE(l.credit, 0))
                FROM crm_core.journal_line l
                WHERE l.business_id = existing.business_id AND l.entry_id = existing.id)
               = (SELECT array_agg((j.account_id, COALESCE(j.debit, 0), COALESCE(j.credit, 0))
                                   ORDER BY j.account_id, COALESCE(j.debit, 0), COALESCE(j.credit, 0))
                  FROM jsonb_to_recordset(lines) AS j(account_id bigint, debit numeric, credit numeric))
        THEN
            RETURN existing.id;
        END IF;
        RAISE EXCEPTION 'idempotency key % of business % was already used by entry % with other content',
            idempotency_key, business_id, existing.id
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'journal_entry_idempotency_key_unique',
                  TABLE = 'journal_entry', SCHEMA = 'crm_core',
                  HINT = 'Use a new key for a new entry.';
    END IF;
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, currency, memo)
    SELECT post_entry.business_id, new_id, j.account_id, j.debit, j.credit, j.currency, j.memo
    FROM jsonb_to_recordset(lines) AS j(account_id bigint, debit numeric, credit numeric,
                                        currency text, memo text);
    RETURN new_id;
END;
$$;
COMMENT ON FUNCTION crm_core.post_entry(bigint, jsonb, text, date, text, text, jsonb) IS
    'Posts an entry from JSON lines; idempotent per (business, idempotency_key).';
