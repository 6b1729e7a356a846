-- crm_core partitions: the planner and the helpers that read bounds and log actions, over the
-- tables of 30_partitions.sql. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

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
