-- crm_core ledger shape: only a superuser reshapes the ledger's tables. Only CREATE OR REPLACE
-- and idempotent statements (the upgrade script includes this part); the event triggers that
-- call these functions: 21_ledger_shape_triggers.sql.

-- The ledger's own tables: their triggers, constraints, rules, columns, defaults and unique
-- indexes carry the money invariants, so only a superuser changes them, even when a DBA hands
-- the tables to another owner. Other indexes stay free (the owner's to add, tune and drop).
CREATE OR REPLACE FUNCTION crm_core.ledger_tables() RETURNS regclass[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY['crm_core.business', 'crm_core.account', 'crm_core.fiscal_period',
                 'crm_core.journal_entry', 'crm_core.journal_line', 'crm_core.account_balance_slot',
                 'crm_core.ledger_block']::regclass[]
$$;
REVOKE EXECUTE ON FUNCTION crm_core.ledger_tables() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.ledger_tables() IS
    'The ledger tables whose shape (triggers, constraints, rules, columns) only a superuser changes.';

-- The unique indexes that carry a ledger rule without being a constraint (partial: only the
-- rows they constrain are indexed). DROP INDEX is refused before it starts
-- (crm_core._guard_drop_index, 18_guard_ddl_start.sql), which knows them by name; altering a
-- ledger table's unique index is refused by guard_ledger_shape below.
CREATE OR REPLACE FUNCTION crm_core._ledger_rule_indexes() RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY['crm_core.journal_entry_reversed_once',
                 'crm_core.journal_entry_idempotency_key_unique']
$$;
REVOKE EXECUTE ON FUNCTION crm_core._ledger_rule_indexes() FROM PUBLIC;

-- Refuses a non-superuser's command that reshaped a ledger table or changed one of its unique
-- indexes (fired at its end).
CREATE OR REPLACE FUNCTION crm_core.guard_ledger_shape() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    touched regclass;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    SELECT t.relation INTO touched
      FROM (SELECT CASE cmd.classid
                   WHEN 'pg_catalog.pg_class'::regclass
                       THEN COALESCE((SELECT i.indrelid FROM pg_catalog.pg_index AS i
                                       WHERE i.indexrelid = cmd.objid AND i.indisunique),
                                     cmd.objid)
                   WHEN 'pg_catalog.pg_trigger'::regclass
                       THEN (SELECT g.tgrelid FROM pg_catalog.pg_trigger AS g WHERE g.oid = cmd.objid)
                   WHEN 'pg_catalog.pg_rewrite'::regclass
                       THEN (SELECT r.ev_class FROM pg_catalog.pg_rewrite AS r WHERE r.oid = cmd.objid)
                   WHEN 'pg_catalog.pg_constraint'::regclass
                       THEN (SELECT c.conrelid FROM pg_catalog.pg_constraint AS c WHERE c.oid = cmd.objid)
                   WHEN 'pg_catalog.pg_policy'::regclass
                       THEN (SELECT p.polrelid FROM pg_catalog.pg_policy AS p WHERE p.oid = cmd.objid)
                   END::regclass AS relation
              FROM pg_catalog.pg_event_trigger_ddl_commands() AS cmd) AS t
     WHERE t.relation = ANY (crm_core.ledger_tables())
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'changing ledger table % is refused', touched
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Its triggers, constraints, rules, columns and defaults keep the '
                             'ledger balanced; only a superuser may change them.',
                    HINT = 'See docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_ledger_shape() FROM PUBLIC;

-- Refuses a non-superuser's drop of a ledger table's trigger, constraint, rule, policy or column
-- (the unique indexes that carry a rule: crm_core._guard_drop_index, before the drop starts).
CREATE OR REPLACE FUNCTION crm_core.guard_ledger_shape_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped record;
BEGIN
    IF crm_core.invoked_by_superuser() THEN
        RETURN;
    END IF;
    SELECT d.object_identity INTO dropped
      FROM pg_catalog.pg_event_trigger_dropped_objects() AS d
     WHERE d.object_type IN ('trigger', 'table constraint', 'rule', 'policy', 'table column')
       AND d.address_names[1] = 'crm_core'
       AND pg_catalog.format('%I.%I', d.address_names[1], d.address_names[2])
           = ANY (crm_core.ledger_tables()::text[])
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dropping % is refused', dropped.object_identity
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'The ledger tables'' triggers, constraints, rules and columns keep '
                             'the ledger balanced; only a superuser may drop them.',
                    HINT = 'See docs/immutability.md.';
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.guard_ledger_shape_drop() FROM PUBLIC;
