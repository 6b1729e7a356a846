-- crm_core partitions: the planner, creating and filling partitions, maintenance of one table,
-- moving rows out of the default partition, and the status view, over the tables of
-- 30_partitions.sql (retention and the public registration API: 31_partitions_api.sql). Only
-- CREATE OR REPLACE and other idempotent statements, so that every upgrade script re-applies
-- this whole part (sql/upgrade/*.sql: "-- @include").

-- ---------------------------------------------------------------------------------------------
-- The planner, in C++.

CREATE OR REPLACE FUNCTION crm_core._partition_unit(every interval) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_core_partition_unit'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION crm_core._partition_plan(parent_name text, every interval, premake integer,
                                         retention interval, at timestamptz,
                                         existing_names text[], existing_lower timestamp[],
                                         existing_upper timestamp[])
    RETURNS TABLE(action text, partition_name text, lower_bound timestamp, upper_bound timestamp)
    AS 'MODULE_PATHNAME', 'crm_core_partition_plan'
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;

CREATE OR REPLACE FUNCTION crm_core._partition_slot(parent_name text, every interval, at timestamp)
    RETURNS TABLE(action text, partition_name text, lower_bound timestamp, upper_bound timestamp)
    AS 'MODULE_PATHNAME', 'crm_core_partition_slot'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE ROWS 1;

CREATE OR REPLACE FUNCTION crm_core._partition_range(bound pg_node_tree) RETURNS timestamp[]
    AS 'MODULE_PATHNAME', 'crm_core_partition_range'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION crm_core._partition_identifier(parent_name text, suffix text) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_core_partition_identifier'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

-- ---------------------------------------------------------------------------------------------
-- Catalog helpers.

-- The partitions of a table with their bounds as UTC timestamps (NULL for the default one),
-- read from the stored bound by C++ (no deparsing; independent of TimeZone and DateStyle).
-- Plain SQL without SET clauses, so the planner inlines it into the callers' queries; being
-- inlined, it is parsed with the caller's search_path: its operators are schema-qualified.
CREATE OR REPLACE FUNCTION crm_core._partition_bounds(parent regclass)
    RETURNS TABLE(relid oid, schema_name name, table_name name, is_default boolean,
                  lower_bound timestamp, upper_bound timestamp)
    LANGUAGE sql STABLE
AS $$
    SELECT c.oid, n.nspname, c.relname, r.range IS NULL, r.range[1], r.range[2]
    FROM pg_catalog.pg_inherits i
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
    CROSS JOIN LATERAL (SELECT crm_core._partition_range(c.relpartbound) AS range) r
    WHERE i.inhparent OPERATOR(pg_catalog.=) parent AND c.relispartition
$$;

-- Rows in the default partition of a registered table, counted as its owner, for readers of
-- crm_core.partitioned_tables (C++: src/as_owner.cpp).
CREATE OR REPLACE FUNCTION crm_core._default_rows(parent regclass) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_core_default_rows'
    LANGUAGE C STRICT STABLE;

-- A UTC timestamp as a partition bound literal for a column of type typ.
CREATE OR REPLACE FUNCTION crm_core._bound_literal(value timestamp, typ regtype) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
               WHEN value = timestamp '-infinity' THEN 'MINVALUE'
               WHEN value = timestamp 'infinity' THEN 'MAXVALUE'
               WHEN typ = 'date'::regtype THEN quote_literal(to_char(value, 'YYYY-MM-DD'))
               WHEN typ = 'timestamptz'::regtype
                   THEN quote_literal(to_char(value, 'YYYY-MM-DD HH24:MI:SS') || '+00')
               ELSE quote_literal(to_char(value, 'YYYY-MM-DD HH24:MI:SS'))
           END
$$;

-- lock_timeout as a setting string ('123ms') for set_config.
CREATE OR REPLACE FUNCTION crm_core._lock_timeout_setting(timeout interval) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT greatest(1, ceil(extract(epoch FROM timeout) * 1000))::bigint::text || 'ms'
$$;

-- The outcome of a DDL step that raised: a lock timeout (55P03) defers it to the next run;
-- anything else fails that step only, reported with its SQLSTATE.
CREATE OR REPLACE FUNCTION crm_core._failed_step(sqlstate text, message text, timeout interval,
                                      OUT action text, OUT detail text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE sqlstate WHEN '55P03' THEN 'deferred' ELSE 'failed' END,
           CASE sqlstate
               WHEN '55P03' THEN format('lock_timeout (%s) expired: %s; retried at the next run',
                                        timeout, message)
               ELSE format('%s (SQLSTATE %s)', message, sqlstate)
           END
$$;

-- Records one maintenance outcome in the log.
CREATE OR REPLACE FUNCTION crm_core._log_partition_action(parent regclass, action text,
                                               partition_name text, detail text) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO crm_core.partition_log (parent, action, partition_name, detail)
    VALUES (parent::text, action, partition_name, detail)
$$;

-- ---------------------------------------------------------------------------------------------
-- One partition: created standalone, filled (optionally, from the default partition), checked,
-- attached, then given the parent's privileges and statement triggers. Every statement on the
-- owner's tables runs as the parent's owner (crm_core._execute_as_owner: the owner's CHECK
-- constraints, index predicates and triggers never run as the caller), so the partition is the
-- owner's from the start. Returns the rows moved in. Runs under the caller's lock_timeout and
-- subtransaction.
CREATE OR REPLACE FUNCTION crm_core._create_partition(parent regclass, schema_name name, table_name name,
                                           control_column name, lower_bound timestamp,
                                           upper_bound timestamp, fill_from regclass DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_table  text := format('%I.%I', schema_name, table_name);
    parent_rel pg_class%ROWTYPE;
    key_type   regtype;
    lower_sql  text;
    upper_sql  text;
    check_name text := crm_core._partition_identifier(table_name, '_bounds');
    columns    text;
    moved      bigint := 0;
    acl        record;
    trig       record;
BEGIN
    SELECT * INTO parent_rel FROM pg_class WHERE oid = parent;
    SELECT atttypid INTO key_type FROM pg_attribute
    WHERE attrelid = parent AND attname = control_column AND NOT attisdropped;
    lower_sql := crm_core._bound_literal(lower_bound, key_type);
    upper_sql := crm_core._bound_literal(upper_bound, key_type);

    -- Standalone first: LIKE takes only ACCESS SHARE on the parent.
    PERFORM crm_core._execute_as_owner(parent, format(
        'CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES '
        'INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED INCLUDING STATISTICS '
        'INCLUDING COMPRESSION)%s',
        new_table, parent,
        CASE WHEN parent_rel.reltablespace <> 0 THEN
            format(' TABLESPACE %I', (SELECT spcname FROM pg_tablespace
                                      WHERE oid = parent_rel.reltablespace))
        ELSE '' END));
    IF fill_from IS NOT NULL THEN
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO columns
        FROM pg_attribute
        WHERE attrelid = parent AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
        moved := crm_core._execute_as_owner(parent, format(
            'WITH moved AS (DELETE FROM ONLY %s WHERE %I >= %s AND %I < %s RETURNING %s) '
            'INSERT INTO %s (%s) SELECT %s FROM moved',
            fill_from, control_column, lower_sql, control_column, upper_sql, columns,
            new_table, columns, columns));
    END IF;
    -- crm_core.audit_log keeps its keys and indexes per partition (see 20_immutable.sql).
    IF parent = 'crm_core.audit_log'::regclass THEN
        PERFORM crm_core._index_audit_partition(new_table::regclass);
    END IF;
    -- The partition constraint proved beforehand, so ATTACH does not scan the new table.
    PERFORM crm_core._execute_as_owner(parent, format(
        'ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I IS NOT NULL AND %I >= %s AND %I < %s)',
        new_table, check_name, control_column, control_column,
        CASE WHEN lower_sql = 'MINVALUE' THEN quote_literal('-infinity') ELSE lower_sql END,
        control_column,
        CASE WHEN upper_sql = 'MAXVALUE' THEN quote_literal('infinity') ELSE upper_sql END));
    -- SHARE UPDATE EXCLUSIVE on the parent: readers and writers carry on.
    PERFORM crm_core._execute_as_owner(parent, format(
        'ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
        parent, new_table, lower_sql, upper_sql));
    PERFORM crm_core._execute_as_owner(parent, format('ALTER TABLE %s DROP CONSTRAINT %I',
                                                      new_table, check_name));

    -- Statement triggers (TRUNCATE guards) are not cloned by PostgreSQL: copy them; and give
    -- every trigger the parent's enabled state (ENABLE ALWAYS survives replica mode).
    FOR trig IN
        SELECT t.tgname, t.tgenabled, (t.tgtype & 1) = 1 AS is_row,
               pg_get_triggerdef(t.oid) AS def
        FROM pg_trigger t
        WHERE t.tgrelid = parent AND NOT t.tgisinternal
    LOOP
        -- Guards of append-only tables are already there: the event trigger added them on ATTACH.
        IF NOT trig.is_row AND NOT EXISTS (SELECT FROM pg_trigger
                                           WHERE tgrelid = new_table::regclass
                                             AND tgname = trig.tgname) THEN
            PERFORM crm_core._execute_as_owner(parent, replace(trig.def, format(' ON %s ', parent),
                                                               format(' ON %s ', new_table)));
        END IF;
        IF trig.tgenabled <> 'O' THEN
            PERFORM crm_core._execute_as_owner(parent, format(
                'ALTER TABLE %s %s TRIGGER %I', new_table,
                CASE trig.tgenabled WHEN 'A' THEN 'ENABLE ALWAYS'
                                    WHEN 'R' THEN 'ENABLE REPLICA'
                                    ELSE 'DISABLE' END,
                trig.tgname));
        END IF;
    END LOOP;

    FOR acl IN SELECT * FROM aclexplode(parent_rel.relacl) WHERE grantee <> parent_rel.relowner LOOP
        PERFORM crm_core._execute_as_owner(parent, format(
            'GRANT %s ON %s TO %s%s', acl.privilege_type, new_table,
            CASE acl.grantee WHEN 0 THEN 'PUBLIC'
                             ELSE quote_ident(pg_get_userbyid(acl.grantee)) END,
            CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END));
    END LOOP;
    RETURN moved;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Maintenance of one table, in one of two passes: first (backfill false) the partitions that
-- retention retires (returned as action 'retire': the caller retires them last, so the ACCESS
-- EXCLUSIVE locks of DETACH are held for the shortest time) and the current and premade ones,
-- oldest first; then (backfill true) the gaps in the past, newest first. One subtransaction and
-- one short lock_timeout per partition; at most max_new are created, and the creations left
-- over come back as one row (action 'postponed', detail: how many).
CREATE OR REPLACE FUNCTION crm_core._maintain_table(cfg crm_core.partition_config, max_new integer,
                                                    backfill boolean)
    RETURNS TABLE(r_parent regclass, r_action text, r_partition text, r_detail text)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    parent_name  name;
    parent_nsp   name;
    default_rel  regclass;
    names        text[];
    lowers       timestamp[];
    uppers       timestamp[];
    step         record;
    conflict     regclass;
    timed_out    boolean := false;
    created      integer := 0;
    postponed    bigint := 0;
    now_utc      timestamp := now() AT TIME ZONE 'UTC';
BEGIN
    r_parent := cfg.parent;
    SELECT c.relname, n.nspname INTO parent_name, parent_nsp
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = cfg.parent;
    IF NOT FOUND THEN
        DELETE FROM crm_core.partition_config WHERE parent = cfg.parent;
        r_action := 'unregistered';
        r_detail := format('table with oid %s no longer exists', cfg.parent::oid);
        RETURN NEXT;
        RETURN;
    END IF;
    -- One maintenance run per table at a time; a second one defers instead of waiting. The
    -- lock is crm_core's own (no role can hold it through pg_advisory_lock); the first pass
    -- keeps it for the second.
    IF NOT crm_core._try_xact_lock((hashtext('crm_core.partitions')::bigint << 32)
                                   | cfg.parent::oid::bigint) THEN
        r_action := 'deferred';
        r_detail := 'another maintenance run is working on this table';
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT array_agg(b.table_name::text) FILTER (WHERE NOT b.is_default),
           array_agg(b.lower_bound) FILTER (WHERE NOT b.is_default),
           array_agg(b.upper_bound) FILTER (WHERE NOT b.is_default),
           (max(b.relid::bigint) FILTER (WHERE b.is_default))::oid::regclass
    INTO names, lowers, uppers, default_rel
    FROM crm_core._partition_bounds(cfg.parent) b;

    FOR step IN
        SELECT p.* FROM crm_core._partition_plan(parent_name, cfg.partition_interval, cfg.premake,
                                                 cfg.retention, now(), coalesce(names, '{}'),
                                                 coalesce(lowers, '{}'), coalesce(uppers, '{}')) p
        WHERE CASE WHEN backfill THEN p.action = 'create' AND p.upper_bound <= now_utc
                   ELSE p.action = 'retire' OR p.upper_bound > now_utc END
        ORDER BY p.action = 'create', CASE WHEN backfill THEN p.lower_bound END DESC,
                 p.lower_bound
    LOOP
        r_partition := step.partition_name;
        IF step.action = 'retire' THEN
            r_action := 'retire';
            r_detail := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF created >= max_new THEN
            postponed := postponed + 1;
            CONTINUE;
        END IF;
        conflict := to_regclass(format('%I.%I', parent_nsp, step.partition_name));
        IF timed_out THEN
            -- One lock wait per table and run: the rest waits for the next run.
            r_action := 'deferred';
            r_detail := 'an earlier step on this table hit lock_timeout; retried at the next run';
        ELSIF conflict IS NOT NULL THEN
            r_action := 'deferred';
            r_detail := format('relation %s exists and is not a partition of %s; rename it',
                               conflict, cfg.parent);
        ELSE
            BEGIN
                PERFORM set_config('lock_timeout',
                                   crm_core._lock_timeout_setting(cfg.lock_timeout), true);
                IF cfg.parent = 'crm_core.audit_log'::regclass THEN
                    -- Created (or deferred) as the audit log's owner, whoever runs maintenance
                    -- (90_integration.sql); NULL means created.
                    r_detail := crm_core._create_audit_partition(step.partition_name,
                                                                 step.lower_bound, step.upper_bound);
                    r_action := CASE WHEN r_detail IS NULL THEN 'created' ELSE 'deferred' END;
                    r_detail := coalesce(r_detail, format('[%s, %s) UTC', step.lower_bound,
                                                          step.upper_bound));
                ELSIF default_rel IS NOT NULL
                   AND crm_core._default_has_rows(default_rel, cfg.control_column,
                                                  step.lower_bound, step.upper_bound) THEN
                    r_action := 'deferred';
                    r_detail := format('default partition %s holds rows for [%s, %s); '
                                       'run crm_core.move_default_rows(%L)',
                                       default_rel, step.lower_bound, step.upper_bound,
                                       cfg.parent::text);
                ELSE
                    PERFORM crm_core._create_partition(cfg.parent, parent_nsp,
                                                       step.partition_name, cfg.control_column,
                                                       step.lower_bound, step.upper_bound);
                    r_action := 'created';
                    r_detail := format('[%s, %s) UTC', step.lower_bound, step.upper_bound);
                END IF;
            EXCEPTION WHEN OTHERS THEN
                SELECT f.action, f.detail INTO r_action, r_detail
                FROM crm_core._failed_step(SQLSTATE, SQLERRM, cfg.lock_timeout) f;
                timed_out := SQLSTATE = '55P03';
            END;
        END IF;
        IF r_action = 'created' THEN
            created := created + 1;
        END IF;
        PERFORM crm_core._log_partition_action(cfg.parent, r_action, r_partition, r_detail);
        RETURN NEXT;
    END LOOP;
    IF postponed > 0 THEN
        r_action := 'postponed';
        r_partition := NULL;
        r_detail := postponed::text;
        RETURN NEXT;
    END IF;
END
$$;

-- True when the default partition holds a row in [lower_bound, upper_bound) (read as its owner).
CREATE OR REPLACE FUNCTION crm_core._default_has_rows(default_rel regclass, control_column name,
                                           lower_bound timestamp, upper_bound timestamp)
    RETURNS boolean
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    key_type regtype;
BEGIN
    SELECT atttypid INTO key_type FROM pg_attribute
    WHERE attrelid = default_rel AND attname = control_column;
    RETURN crm_core._select_as_owner(default_rel, format(
        'SELECT count(*) FROM (SELECT FROM ONLY %s WHERE %I >= %s AND %I < %s LIMIT 1) AS found',
        default_rel, control_column, crm_core._bound_literal(lower_bound, key_type),
        control_column, crm_core._bound_literal(upper_bound, key_type))) > 0;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Public API.

-- Validates the settings shared by partition_by_time and alter_partitioning.
CREATE OR REPLACE FUNCTION crm_core._check_partitioning(every interval, premake integer, retention interval,
                                             retention_action text, archive_schema name,
                                             lock_timeout interval) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM crm_core._partition_unit(every);
    IF premake IS NULL OR premake < 0 OR premake > 1000 THEN
        RAISE EXCEPTION 'premake must be between 0 and 1000, not %', coalesce(premake::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention IS NOT NULL AND NOT retention > interval '0' THEN
        RAISE EXCEPTION 'retention must be positive, not %', retention
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL (or clear_retention => true) to keep partitions forever.';
    END IF;
    IF retention_action IS NULL OR retention_action NOT IN ('detach', 'drop', 'archive') THEN
        RAISE EXCEPTION 'retention_action must be detach, drop or archive, not %',
                        coalesce(retention_action, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (retention_action = 'archive') <> (archive_schema IS NOT NULL) THEN
        RAISE EXCEPTION 'archive_schema is required with retention_action archive, and only then'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF archive_schema IS NOT NULL AND to_regnamespace(quote_ident(archive_schema)) IS NULL THEN
        RAISE EXCEPTION 'archive schema % does not exist', archive_schema
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    IF lock_timeout IS NULL OR NOT lock_timeout > interval '0' THEN
        RAISE EXCEPTION 'lock_timeout must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- Refuses a schema where the table's owner cannot create tables: maintenance creates the
-- table's partitions (or moves retired ones to its archive schema) as that owner.
CREATE OR REPLACE FUNCTION crm_core._check_owner_may_create(parent regclass, schema_name name,
                                                 archive boolean) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    owner name := (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = parent);
BEGIN
    IF NOT (has_schema_privilege(owner, to_regnamespace(quote_ident(schema_name)), 'CREATE')
            AND has_schema_privilege(owner, to_regnamespace(quote_ident(schema_name)), 'USAGE')) THEN
        RAISE EXCEPTION '%, the owner of %, cannot create tables in %schema %', owner, parent,
                        CASE WHEN archive THEN 'archive ' ELSE '' END, schema_name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = CASE WHEN archive
                                THEN 'Retention moves old partitions there as the table''s owner.'
                                ELSE 'Maintenance creates partitions as the table''s owner.' END,
                  HINT = format('GRANT USAGE, CREATE ON SCHEMA %I TO %I;', schema_name, owner);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION crm_core.unregister_partitioning(parent regclass) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    DELETE FROM crm_core.partition_config c WHERE c.parent = parent;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION crm_core.unregister_partitioning(regclass) IS
    'Stops maintaining a table; its partitions stay as they are.';

CREATE OR REPLACE FUNCTION crm_core.move_default_rows(parent regclass)
    RETURNS SETOF crm_core.maintenance_action
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD'
AS $$
#variable_conflict use_variable
DECLARE
    cfg         crm_core.partition_config;
    default_rel regclass;
    parent_nsp  name;
    parent_name name;
    slot        record;
    moved       bigint;
    next_from   timestamp := '-infinity';
    slot_start  bigint;
    result      crm_core.maintenance_action;
BEGIN
    SELECT * INTO cfg FROM crm_core.partition_config c WHERE c.parent = parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not registered for partition maintenance', parent
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it with crm_core.partition_by_time().';
    END IF;
    SELECT b.relid INTO default_rel FROM crm_core._partition_bounds(parent) b WHERE b.is_default;
    IF default_rel IS NULL THEN
        RETURN;
    END IF;
    SELECT n.nspname, c.relname INTO parent_nsp, parent_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    -- Writers that would route rows to the default partition wait (lock_timeout bounded)
    -- while rows move; rows are deleted and inserted in one statement: none lost or doubled.
    -- The default partition is read and emptied as its owner.
    PERFORM set_config('lock_timeout', crm_core._lock_timeout_setting(cfg.lock_timeout), true);
    PERFORM crm_core._execute_as_owner(default_rel, format('LOCK TABLE ONLY %s IN EXCLUSIVE MODE',
                                                           default_rel));
    -- One slot at a time, from the oldest: the first slot holding a row at or after next_from
    -- (microseconds since 1970; rows with a NULL or infinite key stay).
    LOOP
        slot_start := crm_core._select_as_owner(default_rel, format(
            'SELECT (extract(epoch FROM min(date_trunc(%L, %I::timestamp))) * 1000000)::bigint '
            'FROM ONLY %s WHERE %I::timestamp >= %L AND %I::timestamp < ''infinity''',
            crm_core._partition_unit(cfg.partition_interval), cfg.control_column, default_rel,
            cfg.control_column, next_from, cfg.control_column));
        EXIT WHEN slot_start IS NULL;
        SELECT s.* INTO slot
        FROM crm_core._partition_slot(parent_name, cfg.partition_interval,
                                      to_timestamp(slot_start / 1000000.0) AT TIME ZONE 'UTC') s;
        next_from := slot.upper_bound;
        result := (parent, 'moved', slot.partition_name, NULL);
        IF EXISTS (SELECT FROM crm_core._partition_bounds(parent) b
                   WHERE NOT b.is_default AND b.lower_bound < slot.upper_bound
                     AND slot.lower_bound < b.upper_bound)
           OR to_regclass(format('%I.%I', parent_nsp, slot.partition_name)) IS NOT NULL THEN
            result.action := 'deferred';
            result.detail := format('rows for [%s, %s) stay in the default partition: another table '
                             'overlaps that range or has that name', slot.lower_bound,
                             slot.upper_bound);
        ELSE
            moved := crm_core._create_partition(parent, parent_nsp, slot.partition_name,
                                                cfg.control_column, slot.lower_bound,
                                                slot.upper_bound, default_rel);
            result.detail := format('%s rows moved from %s into [%s, %s) UTC', moved, default_rel,
                             slot.lower_bound, slot.upper_bound);
        END IF;
        PERFORM crm_core._log_partition_action(parent, result.action, result.partition_name,
                                               result.detail);
        RETURN NEXT result;
    END LOOP;
END
$$;
COMMENT ON FUNCTION crm_core.move_default_rows(regclass) IS
    'Moves rows out of the default partition into new partitions of their own ranges, in one '
    'transaction (nothing lost, nothing doubled). Rows with a NULL key stay.';

CREATE OR REPLACE VIEW crm_core.partitioned_tables AS
SELECT c.parent,
       c.control_column,
       c.partition_interval,
       c.premake,
       c.retention,
       c.retention_action,
       c.archive_schema,
       c.lock_timeout,
       p.partitions,
       p.partitions_ahead,
       p.oldest_lower_bound,
       p.newest_upper_bound,
       p.default_partition,
       crm_core._default_rows(c.parent) AS default_rows,
       s.last_maintenance_at
FROM crm_core.partition_config c
LEFT JOIN crm_core.partition_state s ON s.parent = c.parent
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE NOT b.is_default)::integer AS partitions,
           count(*) FILTER (WHERE b.lower_bound > (now() AT TIME ZONE 'UTC'))::integer
               AS partitions_ahead,
           min(b.lower_bound) AS oldest_lower_bound,
           max(b.upper_bound) AS newest_upper_bound,
           (max(b.relid::bigint) FILTER (WHERE b.is_default))::oid::regclass AS default_partition
    FROM crm_core._partition_bounds(c.parent) b
) p;
COMMENT ON VIEW crm_core.partitioned_tables IS
    'Registered tables: settings, partitions (bounds in UTC), partitions starting after now, '
    'rows waiting in the default partition, last maintenance.';

REVOKE ALL ON FUNCTION
    crm_core._partition_unit(interval),
    crm_core._partition_plan(text, interval, integer, interval, timestamptz, text[], timestamp[], timestamp[]),
    crm_core._partition_slot(text, interval, timestamp),
    crm_core._partition_identifier(text, text),
    crm_core._bound_literal(timestamp, regtype),
    crm_core._lock_timeout_setting(interval),
    crm_core._log_partition_action(regclass, text, text, text),
    crm_core._failed_step(text, text, interval),
    crm_core._create_partition(regclass, name, name, name, timestamp, timestamp, regclass),
    crm_core._maintain_table(crm_core.partition_config, integer, boolean),
    crm_core._default_has_rows(regclass, name, timestamp, timestamp),
    crm_core._check_partitioning(interval, integer, interval, text, name, interval),
    crm_core._check_owner_may_create(regclass, name, boolean),
    crm_core.unregister_partitioning(regclass),
    crm_core.move_default_rows(regclass)
FROM PUBLIC;
-- What crm_core.partitioned_tables calls for its readers: catalog reads, and a row count that
-- answers only roles allowed to read the view. (Revoked first: 0.1.0 revoked two of them, and
-- the grants must come out in the same order after an upgrade as after an install.)
REVOKE ALL ON FUNCTION
    crm_core._partition_bounds(regclass),
    crm_core._partition_range(pg_node_tree),
    crm_core._default_rows(regclass)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    crm_core._partition_bounds(regclass),
    crm_core._partition_range(pg_node_tree),
    crm_core._default_rows(regclass)
TO PUBLIC;
