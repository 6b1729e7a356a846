-- crm_core guards at ddl_command_end, sql_drop and table_rewrite: the refusals after a
-- statement ran, and the guards put back. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.
-- The event triggers that call them: 22_audit_log.sql.

-- ---------------------------------------------------------------------------------------
-- Refusals after a statement ran (ddl_command_end, sql_drop, table_rewrite)

CREATE OR REPLACE FUNCTION crm_core.guard_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- The functions crm_core's triggers call, looked up once (this runs after every CREATE and
    -- ALTER TABLE of the database).
    append_only_guards oid[];
    audit_guard oid;
    member record;
    detached regclass;
    loose record;
BEGIN
    SELECT pg_catalog.array_agg(g.function) FILTER (WHERE g.kind = 'append-only'),
           pg_catalog.min(g.function::oid) FILTER (WHERE g.kind = 'audited')
      INTO append_only_guards, audit_guard
      FROM crm_core.guard_triggers() AS g;

    -- Partitions created under, or attached to, a guarded or audited table get the statement
    -- (TRUNCATE) guards, which PostgreSQL does not clone from the parent. (A member that has
    -- its guard is not looked at further: most commands touch guarded members only.)
    FOR member IN
        SELECT tree.relid,
               NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS t
                            WHERE t.tgrelid = tree.relid AND t.tgname = 'crm_core_guard_truncate'
                              AND t.tgfoid = ANY (append_only_guards))
               AND EXISTS (SELECT FROM pg_catalog.pg_partition_ancestors(tree.relid) AS a
                             JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = a.relid
                            WHERE t.tgfoid = ANY (append_only_guards)) AS needs_append_only,
               NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS t
                            WHERE t.tgrelid = tree.relid AND t.tgname = 'crm_core_audit_truncate'
                              AND t.tgfoid = audit_guard)
               AND EXISTS (SELECT FROM pg_catalog.pg_partition_ancestors(tree.relid) AS a
                             JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = a.relid
                            WHERE t.tgfoid = audit_guard) AS needs_audit
          FROM (SELECT DISTINCT member_of.relid
                  FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd
                  JOIN pg_catalog.pg_class AS c ON c.oid = cmd.objid
                 CROSS JOIN LATERAL pg_catalog.pg_partition_tree(c.oid) AS member_of
                 WHERE cmd.classid = 'pg_catalog.pg_class'::regclass AND c.relkind IN ('r', 'p'))
               AS tree
    LOOP
        IF member.needs_append_only THEN
            PERFORM crm_core.apply_append_only_guards(member.relid, NULL);
        END IF;
        IF member.needs_audit THEN
            PERFORM crm_core.apply_audit_guards(member.relid);
        END IF;
    END LOOP;

    -- A partition just detached from a table carrying crm_core's triggers (by a superuser or the
    -- audit retention: crm_core.guard_ddl_command_start() refuses everyone else). Only an ALTER
    -- TABLE of such a table can detach one: the scans are skipped after any other command.
    IF EXISTS (SELECT FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd
                 JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = cmd.objid
                WHERE cmd.command_tag = 'ALTER TABLE'
                  AND cmd.classid = 'pg_catalog.pg_class'::regclass
                  AND (t.tgfoid = ANY (append_only_guards) OR t.tgfoid = audit_guard)) THEN
        -- Detached from an append-only table (crm_core's TRUNCATE guard, neither registered nor
        -- a partition): it stays append-only on its own. DETACH dropped the row guard PostgreSQL
        -- had cloned onto it, so it gets its own.
        FOR detached IN
            SELECT DISTINCT c.oid::regclass
              FROM pg_catalog.pg_trigger AS t
              JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
             WHERE t.tgfoid = ANY (append_only_guards) AND t.tgname = 'crm_core_guard_truncate'
               AND NOT c.relispartition
               AND NOT EXISTS (SELECT FROM crm_core.append_only_table AS r WHERE r.relid = c.oid)
        LOOP
            INSERT INTO crm_core.append_only_table (relid) VALUES (detached);
            PERFORM crm_core.apply_append_only_guards(detached, 'crm_core.append_only_guard()');
        END LOOP;
        -- Detached from an audited table: it leaves the audit. DETACH dropped its clone of the
        -- audit trigger; its TRUNCATE guard goes too.
        FOR detached IN
            SELECT c.oid::regclass
              FROM pg_catalog.pg_trigger AS t
              JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
             WHERE t.tgfoid = audit_guard AND t.tgname = 'crm_core_audit_truncate'
               AND NOT c.relispartition
               AND NOT EXISTS (SELECT FROM crm_core.audited_table AS r WHERE r.relid = c.oid)
               AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS a
                                WHERE a.tgrelid = c.oid AND a.tgfoid = audit_guard
                                  AND a.tgname = 'crm_core_audit')
        LOOP
            EXECUTE format('DROP TRIGGER crm_core_audit_truncate ON %s', detached);
        END LOOP;
    END IF;

    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    -- One of crm_core's triggers, on a table this command touched, that is not ENABLE ALWAYS
    -- or not named as crm_core named it.
    WITH guard AS MATERIALIZED (SELECT g.function, g.trigger_name FROM crm_core.guard_triggers() AS g)
    SELECT t.tgrelid::regclass AS relation, t.tgname INTO loose
      FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd
      JOIN pg_catalog.pg_trigger AS t
        ON t.tgrelid = cmd.objid OR t.oid = cmd.objid
           OR t.tgrelid IN (SELECT relid FROM pg_catalog.pg_partition_tree(cmd.objid::regclass)
                             WHERE cmd.classid = 'pg_catalog.pg_class'::regclass)
     WHERE t.tgfoid IN (SELECT guard.function FROM guard)
       AND (t.tgenabled <> 'A'
            OR NOT EXISTS (SELECT FROM guard
                            WHERE guard.function = t.tgfoid AND guard.trigger_name = t.tgname))
     ORDER BY t.tgrelid::regclass::text, t.tgname
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'crm_core trigger % on % must stay enabled and named as crm_core made it',
                        loose.tgname, loose.relation
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Only a superuser may disable or rename crm_core''s guard and audit '
                             'triggers.',
                    HINT = 'Record corrections as new rows; see docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_ddl_command_end() FROM PUBLIC;

CREATE OR REPLACE FUNCTION crm_core.guard_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped record;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        DELETE FROM crm_core.append_only_table AS t
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE oid = t.relid);
        DELETE FROM crm_core.audited_table AS t
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE oid = t.relid);
        RETURN;
    END IF;
    -- One of crm_core's triggers, dropped alone or with its table, partition or schema.
    SELECT d.object_identity INTO dropped
      FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
     WHERE d.object_type = 'trigger'
       AND crm_core._dropped_trigger_function(d.objid)
           IN (SELECT g.function FROM crm_core.guard_triggers() AS g)
     ORDER BY d.object_identity
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dropping crm_core trigger % is refused', dropped.object_identity
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'crm_core''s guard and audit triggers keep history and the audit '
                             'trail complete: only a superuser may drop them, or the tables and '
                             'partitions that carry them.',
                    HINT = 'See docs/immutability.md.';
    END IF;
    -- A dropped column of an append-only table takes its history with it.
    SELECT d.object_identity INTO dropped
      FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
     WHERE d.object_type = 'table column'
       AND crm_core._guarded_as(pg_catalog.to_regclass(
               pg_catalog.format('%I.%I', d.address_names[1], d.address_names[2]))) = 'append-only'
     ORDER BY d.object_identity
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dropping column % of an append-only table is refused', dropped.object_identity
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Dropping a column removes its history; only a superuser may do it.',
                    HINT = 'See docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_sql_drop() FROM PUBLIC;

-- Refuses a non-superuser's rewrite of an append-only table or partition (ALTER COLUMN ... TYPE
-- ... USING), and one that rewrites column values of an audited table: a rewrite changes every
-- row without firing the row triggers.
CREATE OR REPLACE FUNCTION crm_core.guard_table_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rewritten regclass := pg_catalog.pg_event_trigger_table_rewrite_oid();
    kind text;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    kind := crm_core._guarded_as(rewritten);
    IF kind = 'append-only' THEN
        RAISE EXCEPTION 'rewriting append-only table % is refused', rewritten
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'A rewrite (ALTER COLUMN ... TYPE) changes every row without the '
                             'guards; only a superuser may do it.',
                    HINT = 'Add a new column instead; see docs/immutability.md.';
    END IF;
    -- 4: AT_REWRITE_COLUMN_REWRITE, a column's values recomputed (ALTER COLUMN ... TYPE).
    IF kind = 'audited' AND pg_catalog.pg_event_trigger_table_rewrite_reason() & 4 <> 0 THEN
        RAISE EXCEPTION 'rewriting audited table % is refused', rewritten
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'ALTER COLUMN ... TYPE recomputes every row''s value without the '
                             'audit trigger; only a superuser may do it.',
                    HINT = 'UPDATE the rows instead (each change is audited); see docs/audit.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_table_rewrite() FROM PUBLIC;
