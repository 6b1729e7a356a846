-- crm_core ledger: the trigger functions that make a change tightening the rules (closing an
-- account or a period, a new overdraft rule, an account's currency) wait for the postings in
-- flight. Only CREATE OR REPLACE and idempotent statements, so the upgrade script includes
-- this part as it is. PL/pgSQL bodies are resolved when called, so they come before the
-- tables and the triggers of 10_ledger.sql that use them.

-- Waits for the postings in flight that could use what a trigger on fired_on is about to
-- tighten: a SHARE lock on the journal tables. On a Citus cluster the trigger fires on a
-- shard of account or fiscal_period; the postings of that business hold the co-located
-- shards of the journal tables on the same node (a lock on the distributed tables would not
-- reach them), so those are locked instead, and postings on other shards never wait.
CREATE OR REPLACE FUNCTION crm_core._wait_for_postings(fired_on regclass, business_id bigint)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    entry_shard text;
    line_shard text;
BEGIN
    IF fired_on IN ('crm_core.account'::regclass, 'crm_core.fiscal_period'::regclass,
                    'crm_core.business'::regclass) THEN
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
