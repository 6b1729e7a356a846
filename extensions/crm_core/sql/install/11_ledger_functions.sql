-- crm_core ledger: the functions applications call to read balances, audit the ledger and
-- post entries. Only CREATE OR REPLACE and idempotent statements, so that the upgrade script
-- includes this part as it is (see sql/upgrade/0.1.0--0.2.0.sql); see docs/ledger.md.
-- The balance reads are PL/pgSQL: on a Citus cluster (docs/scale-out.md) a SQL function's
-- statements are planned without their parameter values, which Citus cannot do for a query
-- that spans shards ("could not create distributed plan"); PL/pgSQL plans them with the values.

-- ---------------------------------------------------------------------------------------
-- Balances and checks
-- ---------------------------------------------------------------------------------------

-- An account's balance now, in its normal side (asset/expense: debits - credits; others:
-- credits - debits), from the kept balance slots. NULL for an unknown account.
CREATE OR REPLACE FUNCTION crm_core.account_balance(account_id bigint) RETURNS numeric
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- A scalar subquery: an id two businesses share is refused (cardinality_violation), not
    -- answered with one of them.
    RETURN (
    SELECT CASE a.normal_side WHEN 'debit' THEN COALESCE(sum(s.debits), 0) - COALESCE(sum(s.credits), 0)
                              ELSE COALESCE(sum(s.credits), 0) - COALESCE(sum(s.debits), 0) END
    FROM crm_core.account a
    LEFT JOIN crm_core.account_balance_slot s
           ON s.business_id = a.business_id AND s.account_id = a.id
    WHERE a.id = account_balance.account_id
    GROUP BY a.business_id, a.id, a.normal_side);
END;
$$;
COMMENT ON FUNCTION crm_core.account_balance(bigint) IS
    'Current balance of an account in its normal side, from the kept balance slots.';

-- The balance as the ledger showed it at a past moment: lines of entries posted at or before
-- `at` (posted_at is the posting transaction's start time).
CREATE OR REPLACE FUNCTION crm_core.account_balance(account_id bigint, at timestamptz)
    RETURNS numeric
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (  -- scalar: an id two businesses share is refused, as above
    SELECT CASE a.normal_side WHEN 'debit' THEN COALESCE(sum(l.debit), 0) - COALESCE(sum(l.credit), 0)
                              ELSE COALESCE(sum(l.credit), 0) - COALESCE(sum(l.debit), 0) END
    FROM crm_core.account a
    LEFT JOIN (crm_core.journal_line l
               JOIN crm_core.journal_entry e
                 ON e.business_id = l.business_id AND e.id = l.entry_id
                AND e.status = 'posted' AND e.posted_at <= account_balance.at)
           ON l.business_id = a.business_id AND l.account_id = a.id
    WHERE a.id = account_balance.account_id
    GROUP BY a.business_id, a.id, a.normal_side);
END;
$$;
COMMENT ON FUNCTION crm_core.account_balance(bigint, timestamptz) IS
    'Balance of an account at a past moment, from the lines of entries posted by then.';

-- The balance of an account and all its descendants (parent_id), in the root's normal side.
-- One currency only: a tree holding two is refused, never added up.
CREATE OR REPLACE FUNCTION crm_core.account_rollup_balance(account_id bigint) RETURNS numeric
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    root crm_core.account;
    currencies text[];
    balance numeric;
BEGIN
    -- A scalar subquery: an id two businesses share is refused (cardinality_violation).
    root := (SELECT a FROM crm_core.account a WHERE a.id = account_rollup_balance.account_id);
    IF root.id IS NULL THEN
        RETURN NULL;
    END IF;
    -- Every table is filtered by the business, so that Citus keeps the query on one shard.
    WITH RECURSIVE tree AS (
        SELECT root.business_id AS business_id, root.id AS id, root.currency AS currency
        UNION  -- not ALL: a cycle of parents ends
        SELECT c.business_id, c.id, c.currency
        FROM crm_core.account c JOIN tree t ON c.business_id = t.business_id AND c.parent_id = t.id
        WHERE c.business_id = root.business_id
    )
    SELECT (SELECT array_agg(DISTINCT t.currency ORDER BY t.currency) FROM tree t),
           (SELECT CASE root.normal_side
                       WHEN 'debit' THEN COALESCE(sum(s.debits), 0) - COALESCE(sum(s.credits), 0)
                       ELSE COALESCE(sum(s.credits), 0) - COALESCE(sum(s.debits), 0) END
            FROM tree t
            JOIN crm_core.account_balance_slot s
              ON s.business_id = root.business_id AND s.business_id = t.business_id
             AND s.account_id = t.id)
    INTO currencies, balance;
    IF cardinality(currencies) > 1 THEN
        RAISE EXCEPTION 'account % (id %) and its descendants hold more than one currency (%)',
            root.code, root.id, array_to_string(currencies, ', ')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Roll up a subtree of one currency, or read each account with account_balance().';
    END IF;
    RETURN balance;
END;
$$;
COMMENT ON FUNCTION crm_core.account_rollup_balance(bigint) IS
    'Balance of an account and its descendants, in the normal side of the account asked for.';

-- Subledgers keep no balance of their own: a posting never updates a subledger row (no hot
-- row, no extra write). A subledger's balance is the sum of its posted lines, found through
-- journal_line_account_idx (business_id, account_id, subledger): the cost of a read is that
-- subledger's lines, however many subledgers the account has.

-- The posted net (debits - credits) of one subledger of an account, from entries posted at or
-- before `at`. Internal; executable by whoever may read the ledger, as themselves.
CREATE OR REPLACE FUNCTION crm_core._subledger_net(business_id bigint, account_id bigint,
                                                   subledger bigint, at timestamptz)
    RETURNS numeric
    LANGUAGE plpgsql STABLE STRICT PARALLEL RESTRICTED
    -- The index is the path meant here, never a sequential scan of the ledger.
    SET search_path = pg_catalog, pg_temp
    SET enable_seqscan = off SET enable_indexscan = on SET enable_bitmapscan = on AS $$
BEGIN
    RETURN (
    SELECT COALESCE(sum(l.debit), 0) - COALESCE(sum(l.credit), 0)
    FROM (SELECT x.entry_id, x.debit, x.credit
          FROM crm_core.journal_line x
          WHERE x.business_id = _subledger_net.business_id
            AND x.account_id = _subledger_net.account_id
            AND x.subledger = _subledger_net.subledger
          OFFSET 0) l  -- planned alone: the index lookup, then each line's entry
    JOIN crm_core.journal_entry e ON e.business_id = _subledger_net.business_id AND e.id = l.entry_id
    WHERE e.status = 'posted' AND e.posted_at <= _subledger_net.at);
END;
$$;

-- A subledger's balance now, in its account's normal side: 0 for a subledger without posted
-- lines, NULL for an unknown account.
CREATE OR REPLACE FUNCTION crm_core.subledger_balance(account_id bigint, subledger bigint)
    RETURNS numeric
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT crm_core.subledger_balance(subledger_balance.account_id, subledger_balance.subledger,
                                      'infinity'::timestamptz)
$$;
COMMENT ON FUNCTION crm_core.subledger_balance(bigint, bigint) IS
    'Current balance of one subledger of an account (e.g. a loan), in the account''s normal side.';

-- The same at a past moment: lines of entries posted at or before `at`.
CREATE OR REPLACE FUNCTION crm_core.subledger_balance(account_id bigint, subledger bigint,
                                                      at timestamptz)
    RETURNS numeric
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- scalar: an id two businesses share is refused, as in account_balance
    target crm_core.account := (SELECT a FROM crm_core.account a
                                WHERE a.id = subledger_balance.account_id);
BEGIN
    -- Called here, not inside the query that finds the account: on a Citus cluster that query
    -- runs on the shards, where _subledger_net's own query could not.
    RETURN CASE target.normal_side WHEN 'debit' THEN 1 ELSE -1 END
           * crm_core._subledger_net(target.business_id, target.id, subledger_balance.subledger,
                                     subledger_balance.at);
END;
$$;
COMMENT ON FUNCTION crm_core.subledger_balance(bigint, bigint, timestamptz) IS
    'Balance of one subledger of an account at a past moment, from the lines of entries posted by then.';

-- How many lines with a subledger journal_line_account_idx holds, per account. Read from that
-- index only: grouped without sorting or hashing, reading it in its order is the only path left (an
-- index-only scan where pages are all-visible). Internal, as _subledger_net.
CREATE OR REPLACE FUNCTION crm_core._subledger_index_totals()
    RETURNS TABLE (business_id bigint, account_id bigint, lines bigint)
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
    SET enable_hashagg = off SET enable_indexscan = on SET enable_indexonlyscan = on AS $$
    SELECT l.business_id, l.account_id, count(*)
    FROM crm_core.journal_line l
    WHERE l.subledger IS NOT NULL
    GROUP BY l.business_id, l.account_id
$$;

-- The same for one account, per subledger: how many of its lines the index holds.
CREATE OR REPLACE FUNCTION crm_core._subledger_index_lines(business_id bigint, account_id bigint)
    RETURNS TABLE (subledger bigint, lines bigint)
    LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
    SET enable_hashagg = off SET enable_indexscan = on SET enable_indexonlyscan = on AS $$
    SELECT l.subledger, count(*)
    FROM crm_core.journal_line l
    WHERE l.business_id = _subledger_index_lines.business_id
      AND l.account_id = _subledger_index_lines.account_id AND l.subledger IS NOT NULL
    GROUP BY l.subledger
$$;

-- Kept balances that differ from the posted lines; normally empty. A row with subledger NULL
-- is an account whose kept balance (the sum of its slots) differs from its posted lines. A
-- row with a subledger is a subledger whose lines journal_line_account_idx does not hold
-- exactly (a storage fault, a bug), so that subledger_balance() (stored) may differ from the
-- lines in the table (computed). Amounts are in the account's normal side. subledger is the
-- last column, so callers of the four-column 0.1.0 form keep working.
-- Cost: one scan of the lines, as in 0.1.0, plus one of the index's subledger entries; an
-- account's subledgers are compared one by one (one more scan of the lines) only when the
-- index and the table hold a different number of its subledger lines.
CREATE OR REPLACE FUNCTION crm_core.check_balances()
    RETURNS TABLE (business_id bigint, account_id bigint, stored numeric, computed numeric,
                   subledger bigint)
    LANGUAGE plpgsql STABLE
    -- The lines are read from the table, never through the index being checked. No JIT: the
    -- per-account drill-down below inflates the plan's estimated cost, and compiling would
    -- cost more than the check itself.
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = on
    SET enable_indexscan = off SET enable_bitmapscan = off SET enable_indexonlyscan = off
    SET jit = off AS $$
#variable_conflict use_column
DECLARE
    x record;
    d record;
BEGIN
    -- The accounts to report, in order. (A loop rather than one query with a LATERAL
    -- drill-down: on a Citus cluster, the account-wide query runs on the shards, where the
    -- drill-down's own queries of the ledger could not.)
    FOR x IN
        SELECT a.business_id, a.id, CASE a.normal_side WHEN 'debit' THEN 1 ELSE -1 END AS side,
               COALESCE(s.net, 0) AS stored, COALESCE(c.net, 0) AS computed,
               COALESCE(c.subledger_lines, 0) <> COALESCE(i.lines, 0) AS misindexed
        FROM crm_core.account a
        LEFT JOIN (SELECT s.business_id, s.account_id, sum(s.debits) - sum(s.credits) AS net
                   FROM crm_core.account_balance_slot s
                   GROUP BY s.business_id, s.account_id) s
               ON s.business_id = a.business_id AND s.account_id = a.id
        LEFT JOIN (-- every line: the index holds drafts' lines too
                   SELECT l.business_id, l.account_id,
                          COALESCE(sum(l.debit) FILTER (WHERE e.status = 'posted'), 0)
                          - COALESCE(sum(l.credit) FILTER (WHERE e.status = 'posted'), 0) AS net,
                          count(l.subledger) AS subledger_lines
                   FROM crm_core.journal_line l
                   JOIN crm_core.journal_entry e
                     ON e.business_id = l.business_id AND e.id = l.entry_id
                   GROUP BY l.business_id, l.account_id) c
               ON c.business_id = a.business_id AND c.account_id = a.id
        LEFT JOIN crm_core._subledger_index_totals() i
               ON i.business_id = a.business_id AND i.account_id = a.id
        WHERE COALESCE(s.net, 0) <> COALESCE(c.net, 0)
           OR COALESCE(c.subledger_lines, 0) <> COALESCE(i.lines, 0)
        ORDER BY a.business_id, a.id
    LOOP
        IF x.stored <> x.computed THEN
            business_id := x.business_id;
            account_id := x.id;
            stored := x.side * x.stored;
            computed := x.side * x.computed;
            subledger := NULL;
            RETURN NEXT;
        END IF;
        CONTINUE WHEN NOT x.misindexed;
        -- Its subledgers whose line counts differ between the table and the index.
        FOR d IN
            SELECT COALESCE(t.subledger, i.subledger) AS subledger, COALESCE(t.net, 0) AS net
            FROM (SELECT l.subledger, count(*) AS lines,
                         COALESCE(sum(l.debit) FILTER (WHERE e.status = 'posted'), 0)
                         - COALESCE(sum(l.credit) FILTER (WHERE e.status = 'posted'), 0) AS net
                  FROM crm_core.journal_line l
                  JOIN crm_core.journal_entry e
                    ON e.business_id = l.business_id AND e.id = l.entry_id
                  WHERE l.business_id = x.business_id AND l.account_id = x.id
                    AND l.subledger IS NOT NULL
                  GROUP BY l.subledger) t
            FULL JOIN crm_core._subledger_index_lines(x.business_id, x.id) i
                   ON i.subledger = t.subledger
            WHERE t.lines IS DISTINCT FROM i.lines
            ORDER BY 1
        LOOP
            business_id := x.business_id;
            account_id := x.id;
            stored := x.side * crm_core._subledger_net(x.business_id, x.id, d.subledger, 'infinity');
            computed := x.side * d.net;
            subledger := d.subledger;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION crm_core.check_balances() IS
    'Accounts (subledger NULL) and subledgers whose balance as read differs from their posted lines (normally no rows).';

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

-- Posts the mirror of a posted entry of a business (debits and credits swapped, each line in
-- its subledger), dated today and linked by reverses_entry_id; an entry is reversed at most
-- once. Returns the new entry's id. Called by reverse_entry() with the caller's rights, and by
-- extensions' triggers that know the business: every statement names it, so that on a Citus
-- cluster they reach the business's shard only.
CREATE OR REPLACE FUNCTION crm_core._reverse_entry(business_id bigint, entry_id bigint, memo text)
    RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    original crm_core.journal_entry;
    reversal_id bigint;
BEGIN
    SELECT * INTO original FROM crm_core.journal_entry e
     WHERE e.business_id = _reverse_entry.business_id AND e.id = _reverse_entry.entry_id;
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
            COALESCE(_reverse_entry.memo, 'Reversal of entry ' || original.id),
            original.source_ref, original.id)
    RETURNING id INTO reversal_id;
    -- With the ids written in (EXECUTE): Citus prunes an INSERT ... SELECT to the business's
    -- shard only by values it can see, not by parameters.
    EXECUTE format('INSERT INTO crm_core.journal_line
                        (business_id, entry_id, account_id, debit, credit, currency, memo, subledger)
                    SELECT l.business_id, %s, l.account_id, l.credit, l.debit, l.currency, l.memo,
                           l.subledger
                      FROM crm_core.journal_line l
                     WHERE l.business_id OPERATOR(pg_catalog.=) %s
                       AND l.entry_id OPERATOR(pg_catalog.=) %s
                     ORDER BY l.id', reversal_id, original.business_id, original.id);
    RETURN reversal_id;
END;
$$;

-- The same for an entry known by id alone (ids are unique across businesses unless set by hand).
CREATE OR REPLACE FUNCTION crm_core.reverse_entry(entry_id bigint, memo text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    business bigint;
BEGIN
    IF (SELECT count(*) FROM crm_core.journal_entry e WHERE e.id = reverse_entry.entry_id) > 1 THEN
        RAISE EXCEPTION 'journal entry id % exists in more than one business', entry_id
            USING ERRCODE = 'cardinality_violation',
                  HINT = 'Let the identity default entry ids, so that they are unique across businesses.';
    END IF;
    SELECT e.business_id INTO business FROM crm_core.journal_entry e WHERE e.id = reverse_entry.entry_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'journal entry % does not exist', entry_id
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN crm_core._reverse_entry(business, reverse_entry.entry_id, reverse_entry.memo);
END;
$$;
COMMENT ON FUNCTION crm_core.reverse_entry(bigint, text) IS
    'Posts the mirror entry of a posted entry, linked by reverses_entry_id; at most once.';

-- Posts an entry from a JSON array of lines ({"account_id", "debit" | "credit", "currency",
-- "memo", "subledger"}). With an idempotency key, a retry with the same content returns the existing
-- entry and a reuse with other content is refused (unique_violation).
CREATE OR REPLACE FUNCTION crm_core.post_entry(business_id bigint, lines jsonb, memo text DEFAULT NULL,
                                    effective_date date DEFAULT CURRENT_DATE,
                                    idempotency_key text DEFAULT NULL,
                                    source_ref text DEFAULT NULL,
                                    metadata jsonb DEFAULT '{}') RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
-- The conflict target names columns that are also parameters; every parameter is written
-- qualified (post_entry.x) where a table is in scope.
#variable_conflict use_column
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
    ON CONFLICT (business_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING e.id INTO new_id;
    IF new_id IS NULL THEN
        SELECT * INTO existing FROM crm_core.journal_entry e
        WHERE e.business_id = post_entry.business_id
          AND e.idempotency_key = post_entry.idempotency_key;
        IF existing.status = 'posted'
           AND existing.effective_date = post_entry.effective_date
           AND existing.memo IS NOT DISTINCT FROM post_entry.memo
           AND existing.source_ref IS NOT DISTINCT FROM post_entry.source_ref
           AND (SELECT array_agg((l.account_id, l.subledger, COALESCE(l.debit, 0), COALESCE(l.credit, 0))
                                 ORDER BY l.account_id, l.subledger, COALESCE(l.debit, 0), COALESCE(l.credit, 0))
                FROM crm_core.journal_line l
                WHERE l.business_id = existing.business_id AND l.entry_id = existing.id)
               = (SELECT array_agg((j.account_id, j.subledger, COALESCE(j.debit, 0), COALESCE(j.credit, 0))
                                   ORDER BY j.account_id, j.subledger, COALESCE(j.debit, 0), COALESCE(j.credit, 0))
                  FROM jsonb_to_recordset(lines) AS j(account_id bigint, debit numeric, credit numeric,
                                                      subledger bigint))
        THEN
            RETURN existing.id;
        END IF;
        RAISE EXCEPTION 'idempotency key % of business % was already used by entry % with other content',
            idempotency_key, business_id, existing.id
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'journal_entry_idempotency_key_unique',
                  TABLE = 'journal_entry', SCHEMA = 'crm_core',
                  HINT = 'Use a new key for a new entry.';
    END IF;
    INSERT INTO crm_core.journal_line
        (business_id, entry_id, account_id, debit, credit, currency, memo, subledger)
    SELECT post_entry.business_id, new_id, j.account_id, j.debit, j.credit, j.currency, j.memo,
           j.subledger
    FROM jsonb_to_recordset(lines) AS j(account_id bigint, debit numeric, credit numeric,
                                        currency text, memo text, subledger bigint);
    RETURN new_id;
END;
$$;
COMMENT ON FUNCTION crm_core.post_entry(bigint, jsonb, text, date, text, text, jsonb) IS
    'Posts an entry from JSON lines; idempotent per (business, idempotency_key).';

-- Posts many entries of one business in one call: a JSON array of
-- {"lines": [...as post_entry...], "memo", "effective_date", "source_ref", "metadata",
--  "idempotency_key"}. Returns each entry's position in the array (from 1) and its id. Entries
-- without an idempotency key are inserted by two statements, whatever their number (the
-- ledger's triggers count and check them per statement, not per row); an entry with a key
-- goes through post_entry(), so that a retry returns the entry already posted. All or
-- nothing: one refused entry refuses the call (and, at commit, the transaction).
CREATE OR REPLACE FUNCTION crm_core.post_entries(business_id bigint, entries jsonb)
    RETURNS TABLE ("position" bigint, entry_id bigint)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keyed record;
BEGIN
    IF jsonb_typeof(entries) IS DISTINCT FROM 'array'
       OR EXISTS (SELECT FROM jsonb_array_elements(entries) AS e(doc)
                  WHERE jsonb_typeof(e.doc) IS DISTINCT FROM 'object'
                     OR jsonb_typeof(e.doc->'lines') IS DISTINCT FROM 'array') THEN
        RAISE EXCEPTION 'entries must be a JSON array of {"lines": [...]} objects'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Each entry is {"lines": [{"account_id", "debit" or "credit"}, ...], "memo", ...}.';
    END IF;
    -- The new entries' ids follow their order of insertion (one statement, one sequence),
    -- which is the order of their positions: the n-th smallest id is the n-th entry (an array
    -- index, not a join the planner could run as a nested loop).
    RETURN QUERY
    WITH input AS MATERIALIZED (
        SELECT e.ordinality AS position, e.doc
        FROM jsonb_array_elements(entries) WITH ORDINALITY AS e(doc, ordinality)
        WHERE e.doc->>'idempotency_key' IS NULL
    ), inserted AS (
        INSERT INTO crm_core.journal_entry AS j (business_id, effective_date, memo, source_ref, metadata)
        SELECT post_entries.business_id, COALESCE((i.doc->>'effective_date')::date, CURRENT_DATE),
               i.doc->>'memo', i.doc->>'source_ref', COALESCE(i.doc->'metadata', '{}')
        FROM input i ORDER BY i.position
        RETURNING j.id
    ), ids AS MATERIALIZED (
        SELECT array_agg(inserted.id ORDER BY inserted.id) AS sorted FROM inserted
    ), numbered AS MATERIALIZED (
        SELECT i.position, i.doc, ids.sorted[i.rank] AS id
        FROM (SELECT input.position, input.doc, row_number() OVER (ORDER BY input.position) AS rank
              FROM input) i
        CROSS JOIN ids
    ), lines AS (
        INSERT INTO crm_core.journal_line
            (business_id, entry_id, account_id, debit, credit, currency, memo, subledger)
        SELECT post_entries.business_id, n.id, l.account_id, l.debit, l.credit, l.currency, l.memo,
               l.subledger
        FROM numbered n
        CROSS JOIN LATERAL jsonb_to_recordset(n.doc->'lines')
            AS l(account_id bigint, debit numeric, credit numeric, currency text, memo text,
                 subledger bigint)
        ORDER BY n.position
    )
    SELECT n.position, n.id FROM numbered n;
    FOR keyed IN
        SELECT e.ordinality AS position, e.doc
        FROM jsonb_array_elements(entries) WITH ORDINALITY AS e(doc, ordinality)
        WHERE e.doc->>'idempotency_key' IS NOT NULL
        ORDER BY e.ordinality
    LOOP
        position := keyed.position;
        entry_id := crm_core.post_entry(post_entries.business_id, keyed.doc->'lines',
                                        memo => keyed.doc->>'memo',
                                        effective_date => COALESCE((keyed.doc->>'effective_date')::date, CURRENT_DATE),
                                        idempotency_key => keyed.doc->>'idempotency_key',
                                        source_ref => keyed.doc->>'source_ref',
                                        metadata => COALESCE(keyed.doc->'metadata', '{}'));
        RETURN NEXT;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION crm_core.post_entries(bigint, jsonb) IS
    'Posts a JSON array of entries of one business in one call; returns (position, entry_id) per entry.';
