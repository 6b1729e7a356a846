-- crm_core immutable history: append-only tables, the DDL event triggers that keep their guards
-- in place, the audit trail, the ledger's seal, roles. The guard functions are in
-- 19_guard_functions.sql.

-- ---------------------------------------------------------------------------------------
-- Append-only guards

CREATE FUNCTION crm_core.append_only_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_append_only_guard' LANGUAGE C;
-- Executable by PUBLIC: PostgreSQL checks EXECUTE when it clones the row guard onto a
-- partition that the table's owner creates.
COMMENT ON FUNCTION crm_core.append_only_guard() IS
    'Trigger: refuses UPDATE, DELETE (row) and TRUNCATE (statement) on append-only tables.';

CREATE FUNCTION crm_core.invoked_by_superuser() RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_invoked_by_superuser' LANGUAGE C STABLE;
REVOKE EXECUTE ON FUNCTION crm_core.invoked_by_superuser() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.invoked_by_superuser() IS
    'Whether the role running the statement (after SET ROLE, before SECURITY DEFINER) is a superuser.';

CREATE FUNCTION crm_core._audit_retention_detaching(relation regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_audit_retention_detaching' LANGUAGE C STRICT VOLATILE;
REVOKE EXECUTE ON FUNCTION crm_core._audit_retention_detaching(regclass) FROM PUBLIC;
COMMENT ON FUNCTION crm_core._audit_retention_detaching(regclass) IS
    'Whether crm_core''s audit retention is detaching this relation now (in this backend).';

-- Tables registered with make_append_only (their partitions inherit the guards).
CREATE TABLE crm_core.append_only_table (
    relid         regclass    PRIMARY KEY,
    registered_at timestamptz NOT NULL DEFAULT now(),
    registered_by name        NOT NULL DEFAULT current_user,
    -- Rows the install script writes (CREATE EXTENSION writes them again on restore).
    by_extension  boolean     NOT NULL DEFAULT false
);
COMMENT ON TABLE crm_core.append_only_table IS
    'Tables made append-only with crm_core.make_append_only(); guards cover all their partitions.';
SELECT pg_catalog.pg_extension_config_dump('crm_core.append_only_table', 'WHERE NOT by_extension');

-- A table and every partition below it (pg_partition_tree returns nothing for a plain table).
CREATE FUNCTION crm_core.relation_tree(relation regclass)
RETURNS TABLE (relid regclass, parentrelid regclass, level integer)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT t.relid, t.parentrelid, t.level FROM pg_catalog.pg_partition_tree(relation) AS t
    UNION ALL
    SELECT relation, NULL::regclass, 0
     WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_partition_tree(relation));
END;
REVOKE EXECUTE ON FUNCTION crm_core.relation_tree(regclass) FROM PUBLIC;

CREATE FUNCTION crm_core.make_append_only(relation regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
BEGIN
    SELECT relkind INTO kind FROM pg_catalog.pg_class WHERE oid = relation;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', relation
              USING ERRCODE = 'wrong_object_type',
                    DETAIL = 'Only ordinary and partitioned tables can be made append-only.';
    END IF;
    IF EXISTS (SELECT FROM crm_core.append_only_table WHERE relid = relation) THEN
        RAISE EXCEPTION 'table % is already append-only', relation
              USING ERRCODE = 'duplicate_object',
                    HINT = 'See crm_core.append_only_table for registered tables.';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_partition_ancestors(relation) AS a
                 JOIN crm_core.append_only_table AS t ON t.relid = a.relid) THEN
        RAISE EXCEPTION 'table % is a partition of an append-only table', relation
              USING ERRCODE = 'duplicate_object',
                    DETAIL = 'It is already guarded through its parent.';
    END IF;
    INSERT INTO crm_core.append_only_table (relid) VALUES (relation);
    PERFORM crm_core.apply_append_only_guards(relation, 'crm_core.append_only_guard()');
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.make_append_only(regclass) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.make_append_only(regclass) IS
    'Refuses UPDATE, DELETE, MERGE and TRUNCATE on a table and all its partitions, present and future.';

-- The ledger's own tables: their triggers, constraints, rules, columns and defaults carry
-- the money invariants, so only a superuser changes them, even when a DBA hands the tables
-- to another owner. Indexes stay free.
CREATE FUNCTION crm_core.ledger_tables() RETURNS regclass[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY['crm_core.business', 'crm_core.account', 'crm_core.fiscal_period',
                 'crm_core.journal_entry', 'crm_core.journal_line', 'crm_core.account_balance_slot',
                 'crm_core.ledger_block']::regclass[]
$$;
REVOKE EXECUTE ON FUNCTION crm_core.ledger_tables() FROM PUBLIC;
COMMENT ON FUNCTION crm_core.ledger_tables() IS
    'The ledger tables whose shape (triggers, constraints, rules, columns) only a superuser changes.';

-- Refuses a non-superuser's command that reshaped a ledger table (fired at its end).
CREATE FUNCTION crm_core.guard_ledger_shape() RETURNS event_trigger
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
                   WHEN 'pg_catalog.pg_class'::regclass THEN cmd.objid
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

-- Refuses a non-superuser's drop of a ledger table's trigger, constraint, rule, policy or column.
CREATE FUNCTION crm_core.guard_ledger_shape_drop() RETURNS event_trigger
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

CREATE EVENT TRIGGER crm_core_guard_ledger_shape ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER', 'ALTER TRIGGER', 'CREATE RULE', 'ALTER RULE',
                 'CREATE POLICY', 'ALTER POLICY')
    EXECUTE FUNCTION crm_core.guard_ledger_shape();
CREATE EVENT TRIGGER crm_core_guard_ledger_shape_drop ON sql_drop
    EXECUTE FUNCTION crm_core.guard_ledger_shape_drop();

-- ---------------------------------------------------------------------------------------
-- Audit trail

CREATE TABLE crm_core.audit_log (
    id                bigint      GENERATED ALWAYS AS IDENTITY,
    logged_at         timestamptz NOT NULL DEFAULT statement_timestamp(),
    relid             oid         NOT NULL,
    table_name        text        NOT NULL,
    operation         text        NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    business_id       bigint,
    row_key           jsonb,
    old_values        jsonb,
    new_values        jsonb,
    txid              bigint      NOT NULL,
    db_user           text        NOT NULL,
    session_user_name text        NOT NULL,
    application_name  text,
    client_addr       inet
) PARTITION BY RANGE (logged_at);
COMMENT ON TABLE crm_core.audit_log IS
    'Append-only audit trail of registered tables (crm_core.audit_table), partitioned by month (UTC).';

-- The keys and indexes of one partition of crm_core.audit_log. They live on each partition, not
-- on the parent: the parent is an extension member, and pg_dump restores the monthly partitions
-- (not members) by attaching them before it creates their indexes, which would clash with
-- indexes an attach clones from the parent. Idempotent.
CREATE FUNCTION crm_core._index_audit_partition(partition regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    table_name name := (SELECT relname FROM pg_catalog.pg_class WHERE oid = partition);
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index WHERE indrelid = partition AND indisprimary) THEN
        EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (logged_at, id)', partition);
    END IF;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (relid, row_key)',
                   table_name || '_row', partition);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (business_id, logged_at) '
                   'WHERE business_id IS NOT NULL', table_name || '_business', partition);
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._index_audit_partition(regclass) FROM PUBLIC;
-- Safety net: a late premake never makes audited writes fail; rows here mean premake is late
-- (or were written before the first crm_core.run_maintenance()). An extension member, so its
-- rows are dumped as configuration data; the monthly partitions are made by maintenance.
CREATE TABLE crm_core.audit_log_default PARTITION OF crm_core.audit_log DEFAULT;
SELECT pg_catalog.pg_extension_config_dump('crm_core.audit_log_default', '');
SELECT crm_core._index_audit_partition('crm_core.audit_log_default');

-- Creates the monthly partitions (UTC months) of crm_core.audit_log from this month to
-- months_ahead months ahead; returns how many it created.
CREATE FUNCTION crm_core.audit_log_premake(months_ahead integer DEFAULT 1) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    month_start timestamp;
    partition_name text;
    created integer := 0;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120, not %', months_ahead
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR step IN 0 .. months_ahead LOOP
        month_start := this_month + make_interval(months => step);
        partition_name := 'audit_log_p' || to_char(month_start, 'YYYYMM');
        CONTINUE WHEN to_regclass(format('crm_core.%I', partition_name)) IS NOT NULL;
        -- Rows of that month wait in the default partition: they move into the new month.
        IF EXISTS (SELECT FROM ONLY crm_core.audit_log_default
                    WHERE logged_at >= month_start AT TIME ZONE 'UTC'
                      AND logged_at < (month_start + interval '1 month') AT TIME ZONE 'UTC') THEN
            PERFORM crm_core._audit_month_from_default(partition_name, month_start,
                                                       month_start + interval '1 month');
            created := created + 1;
            CONTINUE;
        END IF;
        EXECUTE format('CREATE TABLE crm_core.%I PARTITION OF crm_core.audit_log '
                       'FOR VALUES FROM (%L) TO (%L)', partition_name,
                       month_start AT TIME ZONE 'UTC',
                       (month_start + interval '1 month') AT TIME ZONE 'UTC');
        PERFORM crm_core._index_audit_partition(format('crm_core.%I', partition_name)::regclass);
        created := created + 1;
    END LOOP;
    PERFORM crm_core.apply_append_only_guards('crm_core.audit_log', NULL);
    RETURN created;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.audit_log_premake(integer) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.audit_log_premake(integer) IS
    'Creates this and the next months_ahead monthly partitions of crm_core.audit_log (until partition management takes over).';

SELECT crm_core.make_append_only('crm_core.audit_log');

-- Tables registered with audit_table.
CREATE TABLE crm_core.audited_table (
    relid         regclass    PRIMARY KEY,
    columns       text[],
    registered_at timestamptz NOT NULL DEFAULT now(),
    registered_by name        NOT NULL DEFAULT current_user,
    -- Rows an extension's install script writes (CREATE EXTENSION writes them again on restore).
    by_extension  boolean     NOT NULL DEFAULT false
);
COMMENT ON TABLE crm_core.audited_table IS
    'Tables whose changes crm_core.audit_trigger() writes to crm_core.audit_log; NULL columns = all.';
SELECT pg_catalog.pg_extension_config_dump('crm_core.audited_table', 'WHERE NOT by_extension');

-- DDL event triggers (their functions are in 19_guard_functions.sql; they read the two
-- registrations above): new partitions get the guards; guards cannot be disabled, dropped,
-- renamed, replaced or detached except by a superuser. crm_core_guard_ddl_command_start
-- (90_integration.sql) refuses before a statement runs.
CREATE EVENT TRIGGER crm_core_guard_table_rewrite ON table_rewrite
    EXECUTE FUNCTION crm_core.guard_table_rewrite();
CREATE EVENT TRIGGER crm_core_guard_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'ALTER TRIGGER')
    EXECUTE FUNCTION crm_core.guard_ddl_command_end();
CREATE EVENT TRIGGER crm_core_guard_sql_drop ON sql_drop
    EXECUTE FUNCTION crm_core.guard_sql_drop();

-- EXECUTE is PUBLIC's, as for append_only_guard(): PostgreSQL checks it when it clones the row
-- trigger onto a partition the table's owner creates. It does nothing but as a trigger.
CREATE FUNCTION crm_core.audit_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_audit_trigger' LANGUAGE C;
GRANT EXECUTE ON FUNCTION crm_core.audit_trigger() TO PUBLIC;
COMMENT ON FUNCTION crm_core.audit_trigger() IS
    'Trigger: AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW writes crm_core.audit_log (arguments: watched columns); BEFORE TRUNCATE refuses non-superusers.';

-- ---------------------------------------------------------------------------------------
-- The ledger: its guards (crm_core_guard_posted, 10_ledger.sql) become ENABLE ALWAYS here.
INSERT INTO crm_core.append_only_table (relid)
VALUES ('crm_core.journal_entry'), ('crm_core.journal_line');
SELECT crm_core.apply_append_only_guards('crm_core.journal_entry', NULL);
SELECT crm_core.apply_append_only_guards('crm_core.journal_line', NULL);

-- ---------------------------------------------------------------------------------------
-- Sealed blocks: tamper evidence for what even a superuser can do.

-- One block per business and number: the hash of the previous block and of its rows.
CREATE TABLE crm_core.ledger_block (
    business_id    bigint      NOT NULL REFERENCES crm_core.business (id),
    block_no       bigint      NOT NULL CHECK (block_no > 0),
    previous_hash  bytea       NOT NULL CHECK (length(previous_hash) = 32),
    block_hash     bytea       NOT NULL CHECK (length(block_hash) = 32),
    entries        integer     NOT NULL,
    lines          integer     NOT NULL,
    first_entry_id bigint      NOT NULL,
    last_entry_id  bigint      NOT NULL,
    horizon        xid8        NOT NULL,
    sealed_at      timestamptz NOT NULL DEFAULT now(),
    -- The login that ran seal_ledger (a SECURITY DEFINER function: current_user is its owner).
    sealed_by      name        NOT NULL DEFAULT session_user,
    PRIMARY KEY (business_id, block_no)
);
COMMENT ON TABLE crm_core.ledger_block IS
    'Hash chain per business: block_hash = SHA-256 over previous_hash and the rows sealed in it '
    '(crm_core.ledger_sealed_entry). horizon: rows written by transactions older than it were sealable.';

-- Which entries each block holds, in block order, with the hashes of the entry and of each of
-- its lines (in line id order) at sealing time: one row per entry keeps sealing cheap.
CREATE TABLE crm_core.ledger_sealed_entry (
    business_id bigint   NOT NULL,
    block_no    bigint   NOT NULL,
    position    integer  NOT NULL,
    entry_id    bigint   NOT NULL,
    entry_hash  bytea    NOT NULL CHECK (length(entry_hash) = 32),
    line_ids    bigint[] NOT NULL,
    line_hashes bytea    NOT NULL CHECK (length(line_hashes) = 32 * cardinality(line_ids)),
    PRIMARY KEY (business_id, entry_id),
    UNIQUE (business_id, block_no, position)
);
-- No foreign key to ledger_block: seal_ledger writes a block and its entries in one statement,
-- verify_ledger checks they match, and a per-row RI check would double the cost of sealing.
COMMENT ON TABLE crm_core.ledger_sealed_entry IS
    'Entries of each sealed block in order, with the SHA-256 of the entry and of each line '
    '(line_hashes: 32 bytes per id in line_ids).';

-- Where the next seal starts looking: every posted entry of the business not sealed yet was
-- posted by a transaction from scan_from on (posted_txid, stamped by the ledger). Keeps each
-- seal proportional to what is new, not to the whole ledger.
CREATE TABLE crm_core.seal_progress (
    business_id bigint      PRIMARY KEY REFERENCES crm_core.business (id),
    scan_from   xid8        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE crm_core.seal_progress IS
    'Per business: seal_ledger() scans posted entries with posted_txid >= scan_from.';
CREATE INDEX journal_entry_posted_txid_idx ON crm_core.journal_entry (business_id, posted_txid)
    WHERE status = 'posted';

SELECT crm_core.make_append_only('crm_core.ledger_block');
SELECT crm_core.make_append_only('crm_core.ledger_sealed_entry');
-- The chain is dumped with the ledger (restored verbatim, it verifies against a digest taken
-- before the dump). seal_progress is not: it only shortens the next scan, holds transaction
-- ids of the cluster that wrote it, and without it seal_ledger() scans every posted entry once.
SELECT pg_catalog.pg_extension_config_dump('crm_core.ledger_block', '');
SELECT pg_catalog.pg_extension_config_dump('crm_core.ledger_sealed_entry', '');

-- crm_core.seal_status: 21_seal_status.sql.

-- ---------------------------------------------------------------------------------------
-- Roles (least privilege). NOLOGIN group roles, created once per cluster: grant them to
-- login roles. crm_core_app writes postings and reads; crm_core_readonly reads;
-- crm_core_service runs crm-core-service's jobs and probes (its grants: 50_service.sql).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_app') THEN
        CREATE ROLE crm_core_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_readonly') THEN
        CREATE ROLE crm_core_readonly NOLOGIN;
    END IF;
    -- What crm-core-service needs, granted in 50_service.sql.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_service') THEN
        CREATE ROLE crm_core_service NOLOGIN;
    END IF;
END;
$$;
GRANT USAGE ON SCHEMA crm_core TO crm_core_app, crm_core_readonly;
GRANT SELECT ON crm_core.business, crm_core.account, crm_core.fiscal_period,
    crm_core.journal_entry, crm_core.journal_line, crm_core.account_balance_slot,
    crm_core.ledger_block TO crm_core_app, crm_core_readonly;
-- Drafts are edited and posted by UPDATE of these columns; the guards refuse it once posted.
-- No table-wide UPDATE and no DELETE: either would let the role LOCK the journal in ACCESS
-- EXCLUSIVE mode, stopping every reader, the health checks included.
GRANT INSERT ON crm_core.journal_entry, crm_core.journal_line TO crm_core_app;
GRANT UPDATE (status, effective_date, memo, idempotency_key, source_ref, metadata)
    ON crm_core.journal_entry TO crm_core_app;
GRANT UPDATE (account_id, debit, credit, currency, memo, subledger)
    ON crm_core.journal_line TO crm_core_app;
GRANT SELECT ON crm_core.audit_log TO crm_core_readonly;
-- verify_ledger() runs with the caller's rights: an auditor reads the seal's per-entry hashes.
GRANT SELECT ON crm_core.ledger_sealed_entry TO crm_core_readonly;
GRANT EXECUTE ON FUNCTION crm_core.verify_ledger(bigint, text), crm_core.ledger_digest(bigint)
    TO crm_core_readonly;
