-- crm_core ledger functions that changed after 0.1.0. Only CREATE OR REPLACE and idempotent
-- statements, so the upgrade script includes this part as it is. They are PL/pgSQL, whose
-- bodies are resolved when called, so they may come before the tables (10_ledger.sql) and
-- the triggers that use them.
--
-- Why PL/pgSQL and not SQL: on a Citus cluster (docs/scale-out.md) a SQL function's
-- statements are planned without their parameter values, which Citus cannot do for a query
-- that spans shards ("could not create distributed plan"); PL/pgSQL plans them with the values.

-- Waits for the postings in flight that could use what a trigger on fired_on is about to
-- tighten: a SHARE lock on the journal tables. On a Citus cluster the trigger fires on a
-- shard of account or fiscal_period; the postings of that business hold the co-located
-- shards of the journal tables on the same node (a lock on the distributed tables would not
-- reach them), so those are locked instead, and other businesses never wait.
CREATE OR REPLACE FUNCTION crm_core._wait_for_postings(fired_on regclass, business_id bigint)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    entry_shard text;
    line_shard text;
BEGIN
    IF fired_on IN ('crm_core.account'::regclass, 'crm_core.fiscal_period'::regclass) THEN
        LOCK TABLE crm_core.journal_entry, crm_core.journal_line IN SHARE MODE;
        RETURN;
    END IF;
    -- Citus names (shard_name, get_shard_id_for_distribution_column) exist only with Citus:
    -- dynamic SQL, so the function is valid without it.
    EXECUTE 'SELECT pg_catalog.shard_name($1, pg_catalog.get_shard_id_for_distribution_column($1, $2))'
        INTO entry_shard USING 'crm_core.journal_entry'::regclass, business_id;
    EXECUTE 'SELECT pg_catalog.shard_name($1, pg_catalog.get_shard_id_for_distribution_column($1, $2))'
        INTO line_shard USING 'crm_core.journal_line'::regclass, business_id;
    EXECUTE format('LOCK TABLE %s, %s IN SHARE MODE', entry_shard, line_shard);
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._wait_for_postings(regclass, bigint) FROM PUBLIC;

-- A change that tightens the rules (closing an account or a period, a new overdraft rule)
-- waits for the postings in flight, so none validated against the old rules commits after it.
CREATE OR REPLACE FUNCTION crm_core.ledger_wait_for_postings() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM crm_core._wait_for_postings(TG_RELID, NEW.business_id);
    RETURN NEW;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.ledger_wait_for_postings() FROM PUBLIC;

-- An account that has lines keeps its business and currency.
CREATE OR REPLACE FUNCTION crm_core.ledger_account_before_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- Wait for postings in flight: a line committed meanwhile must be seen below.
    PERFORM crm_core._wait_for_postings(TG_RELID, OLD.business_id);
    IF EXISTS (SELECT 1 FROM crm_core.journal_line l
               WHERE l.business_id = OLD.business_id AND l.account_id = OLD.id) THEN
        RAISE EXCEPTION 'account % (id %) has journal lines: its business and currency cannot change',
            OLD.code, OLD.id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Close the account and open a new one.';
    END IF;
    RETURN NEW;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.ledger_account_before_update() FROM PUBLIC;

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
CREATE OR REPLACE FUNCTION crm_core.account_rollup_balance(account_id bigint) RETURNS numeric
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- scalar: an id two businesses share is refused, not summed over both
    root_business bigint := (SELECT x.business_id FROM crm_core.account x
                             WHERE x.id = account_rollup_balance.account_id);
BEGIN
    IF root_business IS NULL THEN
        RETURN NULL;
    END IF;
    -- Every table is filtered by the business, so that Citus keeps the query on one shard.
    RETURN (
    WITH RECURSIVE tree AS (
        SELECT a.business_id, a.id, a.normal_side AS root_side
        FROM crm_core.account a
        WHERE a.business_id = root_business AND a.id = account_rollup_balance.account_id
        UNION ALL
        SELECT c.business_id, c.id, t.root_side
        FROM crm_core.account c JOIN tree t ON c.business_id = t.business_id AND c.parent_id = t.id
        WHERE c.business_id = root_business
    )
    SELECT CASE min(t.root_side) WHEN 'debit' THEN COALESCE(sum(s.debits), 0) - COALESCE(sum(s.credits), 0)
                                 ELSE COALESCE(sum(s.credits), 0) - COALESCE(sum(s.debits), 0) END
    FROM tree t
    LEFT JOIN crm_core.account_balance_slot s
           ON s.business_id = root_business AND s.business_id = t.business_id AND s.account_id = t.id);
END;
$$;
COMMENT ON FUNCTION crm_core.account_rollup_balance(bigint) IS
    'Balance of an account and its descendants, in the normal side of the account asked for.';
