-- crm_core on a Citus cluster: crm_core.distribute(). The upgrade script includes this part.

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
    placed_now regclass[] := '{}';
    copy integer;
    saved_triggers jsonb := '[]';
    deferred_keys jsonb := '[]';
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
           'its audit rows would be written on the workers, where the coordinator''s crm_core.audit_log does not see them' AS detail,
           format('Stop auditing it first (a superuser: SELECT crm_core.unaudit_table(%L)); see docs/scale-out.md ("What is refused").',
                  t.relid::text) AS hint
      INTO refused
      FROM crm_core.scale_out_table AS t JOIN crm_core.audited_table AS a ON a.relid = t.relid
    UNION ALL
    SELECT t.relid, 'the source of bucket summary ' || b.summary::text,
           'its invalidations would be written on the workers, where the coordinator''s refresh does not see them',
           'Unregister the bucket summary first; see docs/scale-out.md ("What is refused").'
      FROM crm_core.scale_out_table AS t JOIN crm_core.bucket_summary AS b ON b.source = t.relid
     ORDER BY 1
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'table % is %: crm_core.distribute() cannot place it', refused.relid, refused.why
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'On a Citus cluster ' || refused.detail || '.',
                  HINT = refused.hint;
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
            -- Foreign keys in a cycle (a debt and its active plan reference each other): Citus
            -- distributes one table at a time, each after what it references. The remaining
            -- table the others reference most is placed first without its keys to the
            -- remaining ones, which are put back once everything is placed.
            SELECT t.relid, t.placement INTO next_table
              FROM unnest(remaining) WITH ORDINALITY AS r(relid, n)
              JOIN crm_core.scale_out_table AS t ON t.relid = r.relid
             ORDER BY (SELECT count(*) FROM pg_catalog.pg_constraint AS k
                        WHERE k.confrelid = t.relid AND k.contype = 'f' AND k.conrelid <> t.relid
                          AND k.conrelid = ANY (remaining)) DESC, r.n
             LIMIT 1;
            EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
                INTO placed USING next_table.relid;
            FOR saved IN
                SELECT k.conname, pg_catalog.pg_get_constraintdef(k.oid) AS definition
                  FROM pg_catalog.pg_constraint AS k
                 WHERE k.conrelid = next_table.relid AND k.contype = 'f'
                   AND k.confrelid <> next_table.relid AND k.confrelid = ANY (remaining)
                   AND NOT placed           -- (placed by an earlier call: nothing to set aside)
                 ORDER BY k.conname
            LOOP
                deferred_keys := deferred_keys || jsonb_build_object(
                    'relid', next_table.relid::oid, 'name', saved.conname, 'definition', saved.definition);
                EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', next_table.relid, saved.conname);
                -- The workers' copy of an extension's table has it too (CREATE EXTENSION ran
                -- there); Citus puts it back everywhere with the ADD below.
                FOR stale IN EXECUTE
                    'SELECT nodename, nodeport, result FROM pg_catalog.run_command_on_workers($1)
                      WHERE NOT success'
                    USING format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', next_table.relid,
                                 saved.conname)
                LOOP
                    RAISE EXCEPTION 'worker %:% could not drop constraint % for the move: %',
                        stale.nodename, stale.nodeport, saved.conname, stale.result
                        USING ERRCODE = 'external_routine_exception';
                END LOOP;
            END LOOP;
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
        IF NOT placed THEN
            placed_now := placed_now || next_table.relid;
        END IF;
        relation := next_table.relid;
        placement := next_table.placement;
        RETURN NEXT;
        remaining := array_remove(remaining, next_table.relid);
    END LOOP;
    -- The rows moved: drop the coordinator's hidden copy of them, then turn the triggers back
    -- on as they were (Citus passes that on to the shards). The truncation cascades along the
    -- foreign keys to the tables placed with them (a business's debts, their payments): the
    -- TRUNCATE triggers of every table this call placed, and of their partitions, are off
    -- meanwhile (the append-only guards would refuse).
    IF cardinality(copied) > 0 THEN
        FOR saved IN
            SELECT g.tgrelid::regclass AS relid, g.tgname, g.tgenabled
              FROM unnest(placed_now) AS p(relid)
             CROSS JOIN LATERAL crm_core.relation_tree(p.relid) AS t
              JOIN pg_catalog.pg_trigger AS g ON g.tgrelid = t.relid
             WHERE NOT g.tgisinternal AND g.tgenabled <> 'D'
               AND g.tgtype::integer & 32 <> 0      -- fires on TRUNCATE
        LOOP
            saved_triggers := saved_triggers || jsonb_build_object(
                'relid', saved.relid::oid, 'name', saved.tgname, 'state', saved.tgenabled);
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', saved.relid, saved.tgname);
        END LOOP;
    END IF;
    FOR copy IN REVERSE cardinality(copied) .. 1 LOOP
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
    FOR saved IN
        SELECT k.relid::regclass AS relid, k.name, k.definition
          FROM jsonb_to_recordset(deferred_keys) AS k(relid oid, name name, definition text)
    LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', saved.relid, saved.name, saved.definition);
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
    -- On the shards the commit check runs as the deferred trigger journal_entry_balanced
    -- (disabled on a single server, 10_ledger.sql): Citus lets a worker run the ledger's own
    -- queries on its shards inside a trigger only, not in the ledger's pre-commit check.
    IF crm_core._ledger_distributed() THEN
        ALTER TABLE crm_core.journal_entry ENABLE TRIGGER journal_entry_balanced;
    END IF;
    -- seal_progress holds transaction ids of the node that sealed; from now on each worker
    -- seals the businesses it holds, with its own: the next seal scans each ledger once.
    DELETE FROM crm_core.seal_progress;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.distribute() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.distribute() IS
    'On a Citus coordinator: distributes the tables of crm_core.scale_out_table by business_id '
    '(co-located) or makes them reference tables. Idempotent. See docs/scale-out.md.';
