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

-- Places the tables of crm_core.scale_out_table on the Citus cluster this database is the
-- coordinator of: reference tables first, then the business tables, each after the tables
-- its foreign keys reference, co-located with crm_core.account. Idempotent: tables already
-- placed are reported and left alone. Existing rows are copied to the shards as they are,
-- with the INSERT triggers off, so nothing is counted twice nor stamped anew. Each worker
-- takes ids from a range of its own (crm_core._reserve_sequence_range).
CREATE OR REPLACE FUNCTION crm_core.distribute()
    RETURNS TABLE (relation regclass, placement text, action text)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    -- crm_core's triggers are written for shards (docs/scale-out.md): allowed here only.
    SET citus.enable_unsafe_triggers = on
    -- Making business a reference table must not turn the tables that reference it into
    -- Citus local tables (their extension-owned sequences cannot move): they are
    -- distributed right after, in this call.
    SET citus.enable_local_reference_table_foreign_keys = off
AS $$
DECLARE
    citus_version text :=
        (SELECT e.extversion FROM pg_catalog.pg_extension AS e WHERE e.extname = 'citus');
    local_version text :=
        (SELECT e.extversion FROM pg_catalog.pg_extension AS e WHERE e.extname = 'crm_core');
    is_coordinator boolean;
    stale record;
    refused record;
    remaining regclass[];
    has_rows boolean;
    copied regclass[] := '{}';
    copy integer;
    saved_triggers jsonb := '[]';
    saved record;
    next_table record;
    placed boolean;
BEGIN
    IF citus_version IS NULL THEN
        RAISE EXCEPTION 'crm_core.distribute() needs the citus extension in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Install Citus on every node (shared_preload_libraries = ''citus''), '
                         'CREATE EXTENSION citus, add the workers with citus_add_node(), then '
                         'call crm_core.distribute() on the coordinator; see docs/scale-out.md.';
    END IF;
    IF split_part(citus_version, '.', 1) <> '13' THEN
        RAISE EXCEPTION 'crm_core.distribute() supports Citus 13, not Citus %', citus_version
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'crm_core is tested with Citus 13.2; see docs/scale-out.md.';
    END IF;
    EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO is_coordinator;
    IF NOT is_coordinator THEN
        RAISE EXCEPTION 'crm_core.distribute() runs on the Citus coordinator, not on a worker'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Every node runs the same crm_core: its triggers run on the workers' shards.
    FOR stale IN EXECUTE
        'SELECT nodename, nodeport, result FROM pg_catalog.run_command_on_workers($1)
          WHERE NOT success OR result IS DISTINCT FROM $2'
        USING 'SELECT extversion FROM pg_catalog.pg_extension WHERE extname = ''crm_core''',
              local_version
    LOOP
        RAISE EXCEPTION 'worker %:% has crm_core % (coordinator: %)', stale.nodename,
            stale.nodeport, COALESCE(NULLIF(stale.result, ''), 'not installed'), local_version
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'CREATE EXTENSION crm_core, or ALTER EXTENSION crm_core UPDATE, on every '
                         'node before distributing.';
    END LOOP;

    -- Triggers that write crm_core's coordinator tables cannot follow a table to the workers:
    -- there they would write the workers' own copies, which nobody reads.
    SELECT t.relid, 'audited (crm_core.audit_table)' AS why,
           'its audit rows would be written on the workers, where the coordinator''s crm_core.audit_log does not see them' AS detail
      INTO refused
      FROM crm_core.scale_out_table AS t JOIN crm_core.audited_table AS a ON a.relid = t.relid
    UNION ALL
    SELECT t.relid, 'the source of bucket summary ' || b.summary::text,
           'its invalidations would be written on the workers, where the coordinator''s refresh does not see them'
      FROM crm_core.scale_out_table AS t JOIN crm_core.bucket_summary AS b ON b.source = t.relid
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'table % is %: crm_core.distribute() cannot place it', refused.relid, refused.why
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'On a Citus cluster ' || refused.detail || '.',
                  HINT = 'See docs/scale-out.md ("What is refused").';
    END IF;

    -- Reference tables first, then business tables; each table once every table its foreign
    -- keys reference is placed (or is not to be placed).
    -- (crm_core.account first among the business tables: the others are co-located with it.)
    SELECT array_agg(t.relid ORDER BY t.placement DESC, t.relid = 'crm_core.account'::regclass DESC,
                                      t.relid::text) INTO remaining
      FROM crm_core.scale_out_table AS t
     WHERE EXISTS (SELECT FROM pg_catalog.pg_class AS c WHERE c.oid = t.relid);
    WHILE cardinality(remaining) > 0 LOOP
        SELECT t.relid, t.placement INTO next_table
          FROM unnest(remaining) WITH ORDINALITY AS r(relid, n)
          JOIN crm_core.scale_out_table AS t ON t.relid = r.relid
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_constraint AS k
                            WHERE k.conrelid = t.relid AND k.contype = 'f'
                              AND k.confrelid <> t.relid
                              AND k.confrelid = ANY (remaining))
         ORDER BY r.n
         LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the foreign keys of % form a cycle', remaining
                USING ERRCODE = 'invalid_foreign_key';
        END IF;
        IF next_table.placement = 'business' AND NOT EXISTS (
               SELECT FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = next_table.relid AND a.attname = 'business_id'
                  AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'table % has no business_id column to be distributed by',
                next_table.relid
                USING ERRCODE = 'undefined_column',
                      HINT = 'Register it in crm_core.scale_out_table as ''reference'', or add business_id.';
        END IF;
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
            INTO placed USING next_table.relid;
        IF NOT placed THEN
            EXECUTE format('SELECT EXISTS (SELECT FROM %s)', next_table.relid) INTO has_rows;
        END IF;
        IF NOT placed AND has_rows THEN
            -- Citus creates the shards with their triggers, then copies the rows in: with the
            -- INSERT triggers on, the ledger would count the lines again and stamp the entries
            -- anew (breaking their seals). They are off for the copy, so rows move verbatim,
            -- as in a restore. (Citus does not pass ENABLE on to the shards for a trigger that
            -- also fires on TRUNCATE: those stay on, and must let a superuser insert.)
            copied := copied || next_table.relid;
            FOR saved IN
                SELECT g.tgname, g.tgenabled FROM pg_catalog.pg_trigger AS g
                 WHERE g.tgrelid = next_table.relid AND NOT g.tgisinternal
                   AND g.tgenabled <> 'D'
                   AND g.tgtype::integer & 4 <> 0       -- fires on INSERT
                   AND g.tgtype::integer & 32 = 0       -- but not on TRUNCATE
            LOOP
                saved_triggers := saved_triggers || jsonb_build_object(
                    'relid', next_table.relid::oid, 'name', saved.tgname, 'state', saved.tgenabled);
                EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', next_table.relid, saved.tgname);
            END LOOP;
        END IF;
        IF placed THEN
            action := 'already placed';
        ELSIF next_table.placement = 'reference' THEN
            EXECUTE 'SELECT pg_catalog.create_reference_table($1)' USING next_table.relid;
            action := 'created reference table';
        ELSE
            EXECUTE 'SELECT pg_catalog.create_distributed_table($1, ''business_id'',
                         colocate_with => $2)'
                USING next_table.relid,
                      CASE WHEN next_table.relid = 'crm_core.account'::regclass THEN 'default'
                           ELSE 'crm_core.account' END;
            action := 'distributed by business_id';
        END IF;
        relation := next_table.relid;
        placement := next_table.placement;
        RETURN NEXT;
        remaining := array_remove(remaining, next_table.relid);
    END LOOP;
    -- The rows moved: drop the coordinator's hidden copy of them (its TRUNCATE triggers off
    -- meanwhile: the append-only guards would refuse), then turn the triggers back on as
    -- they were (Citus passes that on to the shards).
    FOR copy IN REVERSE cardinality(copied) .. 1 LOOP
        FOR saved IN
            SELECT g.tgname, g.tgenabled FROM pg_catalog.pg_trigger AS g
             WHERE g.tgrelid = copied[copy] AND NOT g.tgisinternal AND g.tgenabled <> 'D'
               AND g.tgtype::integer & 32 <> 0      -- fires on TRUNCATE
        LOOP
            saved_triggers := saved_triggers || jsonb_build_object(
                'relid', copied[copy]::oid, 'name', saved.tgname, 'state', saved.tgenabled);
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', copied[copy], saved.tgname);
        END LOOP;
        EXECUTE 'SELECT pg_catalog.truncate_local_data_after_distributing_table($1)'
            USING copied[copy];
    END LOOP;
    FOR saved IN
        SELECT g.relid::regclass AS relid, g.name, g.state
          FROM jsonb_to_recordset(saved_triggers) AS g(relid oid, name name, state text)
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE %s TRIGGER %I', saved.relid,
                       CASE saved.state WHEN 'A' THEN 'ALWAYS' WHEN 'R' THEN 'REPLICA' ELSE '' END,
                       saved.name);
    END LOOP;
    -- The identity and serial sequences of the placed tables that belong to an extension get a
    -- range of their own on each worker. (Citus ranges those of the other tables itself, in
    -- the shells it creates in this transaction, which the workers' own sessions cannot see.)
    FOR stale IN EXECUTE
        'SELECT nodename, nodeport, result FROM pg_catalog.run_command_on_workers($1)
          WHERE NOT success'
        USING format('SELECT crm_core._reserve_sequence_range(%L)',
                     (SELECT COALESCE(array_agg(d.objid::regclass ORDER BY d.objid), '{}')::text
                        FROM pg_catalog.pg_depend AS d
                        JOIN crm_core.scale_out_table AS t ON t.relid = d.refobjid
                       WHERE d.classid = 'pg_catalog.pg_class'::regclass
                         AND d.refclassid = 'pg_catalog.pg_class'::regclass
                         AND d.deptype IN ('a', 'i')
                         AND (SELECT c.relkind FROM pg_catalog.pg_class AS c WHERE c.oid = d.objid) = 'S'
                         AND EXISTS (SELECT FROM pg_catalog.pg_depend AS e
                                      WHERE e.classid = 'pg_catalog.pg_class'::regclass
                                        AND e.objid = t.relid AND e.deptype = 'e')))
    LOOP
        RAISE EXCEPTION 'worker %:% could not reserve its range of ids: %', stale.nodename,
            stale.nodeport, stale.result
            USING ERRCODE = 'external_routine_exception';
    END LOOP;
    -- seal_progress holds transaction ids of the node that sealed; from now on each worker
    -- seals the businesses it holds, with its own: the next seal scans each ledger once.
    DELETE FROM crm_core.seal_progress;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.distribute() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.distribute() IS
    'On a Citus coordinator: distributes the tables of crm_core.scale_out_table by business_id '
    '(co-located) or makes them reference tables. Idempotent. See docs/scale-out.md.';
