-- crm_core on a Citus cluster: crm_core.distribute() makes the tenant tables distributed by
-- business_id (co-located, so that a business's ledger lives on one node and its triggers
-- read and write only that node's shards) and the global ones reference tables. Nothing here
-- needs Citus until distribute() is called: Citus's functions are reached by dynamic SQL.
-- See docs/scale-out.md.

-- What distribute() places, and how: 'reference' (copied to every node) or 'business'
-- (distributed by business_id, co-located with crm_core.account). Other extensions built on
-- crm_core add their tables here from their install scripts (by_extension = true), so that
-- one distribute() call places them with the ledger; a DBA may add tables of their own.
-- Tables not listed stay on the coordinator (configuration: partition, matview and guard
-- registrations, which name node-local objects).
CREATE TABLE crm_core.scale_out_table (
    relid        regclass PRIMARY KEY,
    placement    text     NOT NULL CHECK (placement IN ('reference', 'business')),
    -- Rows the install scripts write (CREATE EXTENSION writes them again on restore).
    by_extension boolean  NOT NULL DEFAULT false
);
COMMENT ON TABLE crm_core.scale_out_table IS
    'Tables crm_core.distribute() places on a Citus cluster: reference (on every node) or '
    'business (distributed by business_id, co-located with crm_core.account).';
SELECT pg_catalog.pg_extension_config_dump('crm_core.scale_out_table', 'WHERE NOT by_extension');
INSERT INTO crm_core.scale_out_table (relid, placement, by_extension) VALUES
    ('crm_core.business', 'reference', true),
    ('crm_core.account', 'business', true),
    ('crm_core.fiscal_period', 'business', true),
    ('crm_core.journal_entry', 'business', true),
    ('crm_core.journal_line', 'business', true),
    ('crm_core.account_balance_slot', 'business', true),
    ('crm_core.ledger_block', 'business', true),
    ('crm_core.ledger_sealed_entry', 'business', true),
    ('crm_core.seal_progress', 'business', true)
ON CONFLICT (relid) DO NOTHING;

-- Every account's current balance in its normal side, from the kept balance slots, as a view:
-- on a Citus cluster, a query over distributed tables runs on the shards, where a function
-- such as account_balance(id) that queries the ledger again cannot run ("cannot execute a
-- distributed query from a query on a shard"); this view is joined and filtered there
-- instead. With business_id in the WHERE clause it reads one shard (docs/scale-out.md).
CREATE OR REPLACE VIEW crm_core.account_balances AS
SELECT a.business_id, a.id AS account_id, a.code, a.currency,
       CASE a.normal_side WHEN 'debit' THEN COALESCE(s.debits, 0) - COALESCE(s.credits, 0)
                          ELSE COALESCE(s.credits, 0) - COALESCE(s.debits, 0) END AS balance
  FROM crm_core.account AS a
  LEFT JOIN (SELECT t.business_id, t.account_id, sum(t.debits) AS debits, sum(t.credits) AS credits
               FROM crm_core.account_balance_slot AS t
              GROUP BY t.business_id, t.account_id) AS s
         ON s.business_id = a.business_id AND s.account_id = a.id;
COMMENT ON VIEW crm_core.account_balances IS
    'Current balance of every account in its normal side (as account_balance(id)), per business.';
GRANT SELECT ON crm_core.account_balances TO crm_core_app, crm_core_readonly;

-- The next three are steps of crm_core.seal_ledger(), a SECURITY DEFINER function that runs
-- them as the extension's owner: no one else may execute them (they read placement metadata,
-- and run seal_ledger() on the workers as that owner, whose own rights apply there).

-- Whether crm_core's ledger is distributed by Citus in this database.
CREATE OR REPLACE FUNCTION crm_core._ledger_distributed() RETURNS boolean
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    distributed boolean := false;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
            INTO distributed USING 'crm_core.journal_entry'::regclass;
    END IF;
    RETURN distributed;
END;
$$;

-- The businesses whose ledger this node holds, in id order: all of them on a single node; on
-- a Citus cluster, those whose shard of journal_entry is placed here. Sealing reads
-- transaction ids and snapshots, which are per node: a business is sealed where it lives.
-- (A loop, so that the placement test runs here and not where Citus would send a query.)
CREATE OR REPLACE FUNCTION crm_core._ledger_businesses_here() RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    distributed boolean := crm_core._ledger_distributed();
    business bigint;
    here boolean := true;
BEGIN
    FOR business IN SELECT b.id FROM crm_core.business AS b ORDER BY b.id LOOP
        IF distributed THEN
            EXECUTE 'SELECT EXISTS (
                         SELECT FROM pg_catalog.pg_dist_placement AS p
                          WHERE p.shardid = pg_catalog.get_shard_id_for_distribution_column($1, $2)
                            AND p.groupid = (SELECT groupid FROM pg_catalog.pg_dist_local_group))'
                INTO here USING 'crm_core.journal_entry'::regclass, business;
        END IF;
        IF here THEN
            RETURN NEXT business;
        END IF;
    END LOOP;
END;
$$;

-- On the coordinator of a distributed ledger, runs crm_core.seal_ledger() on every worker
-- (each seals the businesses it holds, and commits its blocks) and returns what they sealed;
-- elsewhere nothing. crm_core.seal_ledger() calls it after sealing what this node holds.
CREATE OR REPLACE FUNCTION crm_core._seal_on_workers(entries_per_block integer)
    RETURNS TABLE (business_id bigint, blocks_sealed integer, rows_sealed bigint)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    node record;
    is_coordinator boolean;
BEGIN
    IF NOT crm_core._ledger_distributed() THEN
        RETURN;
    END IF;
    EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO is_coordinator;
    IF NOT is_coordinator THEN
        RETURN;
    END IF;
    FOR node IN EXECUTE
        'SELECT nodename, nodeport, success, result FROM pg_catalog.run_command_on_workers($1)'
        USING format('SELECT pg_catalog.json_agg(s) FROM crm_core.seal_ledger(%s) AS s',
                     entries_per_block)
    LOOP
        IF NOT node.success THEN
            RAISE EXCEPTION 'sealing the ledger on worker %:% failed: %',
                node.nodename, node.nodeport, node.result
                USING ERRCODE = 'external_routine_exception',
                      HINT = 'Run SELECT * FROM crm_core.seal_ledger() on that worker to see the error.';
        END IF;
        RETURN QUERY
            SELECT r.business_id, r.blocks_sealed, r.rows_sealed
            FROM json_to_recordset(COALESCE(NULLIF(node.result, ''), '[]')::json)
                 AS r(business_id bigint, blocks_sealed integer, rows_sealed bigint);
    END LOOP;
END;
$$;

-- On a worker: moves each sequence to this worker's own range of values, from (group id << 48)
-- + 1 on, unless it is there already. A row inserted on a worker (by a trigger that runs on a
-- shard) takes its id from the worker's copy of the table's identity sequence: with a range per
-- node, ids stay unique in the cluster, as Citus arranges for the tables it creates itself.
CREATE OR REPLACE FUNCTION crm_core._reserve_sequence_range(sequences regclass[]) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first_value bigint;
    sequence regclass;
    current_value bigint;
BEGIN
    EXECUTE 'SELECT groupid::bigint << 48 FROM pg_catalog.pg_dist_local_group' INTO first_value;
    IF first_value IS NULL OR first_value = 0 THEN
        RAISE EXCEPTION 'crm_core._reserve_sequence_range() runs on a Citus worker'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    FOREACH sequence IN ARRAY sequences LOOP
        EXECUTE format('SELECT last_value FROM %s', sequence) INTO current_value;
        IF current_value < first_value THEN
            PERFORM pg_catalog.setval(sequence, first_value + 1, false);
        END IF;
    END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._reserve_sequence_range(regclass[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION crm_core._ledger_distributed() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION crm_core._ledger_businesses_here() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION crm_core._seal_on_workers(integer) FROM PUBLIC;
