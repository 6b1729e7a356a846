-- Materialized views: planning the refreshes (the tables: 40_matviews.sql). Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

-- ---------------------------------------------------------------------------------------------
-- Planning (C++: extension/src/core/matview_plan.cpp).

CREATE OR REPLACE FUNCTION crm_core._matview_refresh_order(views oid[], dependents oid[], dependencies oid[])
    RETURNS oid[] AS 'MODULE_PATHNAME', 'crm_core_matview_refresh_order'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION crm_core._matview_cycle(views oid[], dependents oid[], dependencies oid[],
                                        through oid DEFAULT NULL)
    RETURNS oid[] AS 'MODULE_PATHNAME', 'crm_core_matview_cycle'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION crm_core._matview_with_dependents(root oid, views oid[], dependents oid[],
                                                  dependencies oid[])
    RETURNS oid[] AS 'MODULE_PATHNAME', 'crm_core_matview_with_dependents'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION crm_core._matview_next_due(last_success_at timestamptz, refresh_every interval,
                                           registered_at timestamptz)
    RETURNS timestamptz AS 'MODULE_PATHNAME', 'crm_core_matview_next_due'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_core._matview_next_due(timestamptz, interval, timestamptz) IS
    'One refresh_every after the last success (a month counts as 30 days), or registered_at if none.';

-- Which registered view reads which, from the rewrite rules' dependencies in pg_depend,
-- looking through plain views (a matview reads the stored rows of another matview, so the
-- walk stops at any materialized view or table).
CREATE OR REPLACE FUNCTION crm_core._matview_dependencies(OUT dependent regclass, OUT dependency regclass)
    RETURNS SETOF record LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE registered AS (
        SELECT m.view::oid AS relid FROM crm_core.matview m
    ), reads AS (
        SELECT DISTINCT r.ev_class AS reader, d.refobjid AS source
        FROM pg_catalog.pg_rewrite r
        JOIN pg_catalog.pg_depend d
          ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
         AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
    ), walk (root, relid) AS (
        SELECT reads.reader, reads.source
        FROM reads JOIN registered ON registered.relid = reads.reader
        UNION
        SELECT walk.root, reads.source
        FROM walk
        JOIN pg_catalog.pg_class c ON c.oid = walk.relid AND c.relkind = 'v'
        JOIN reads ON reads.reader = walk.relid
    )
    SELECT walk.root::regclass, walk.relid::regclass
    FROM walk JOIN registered ON registered.relid = walk.relid
    WHERE walk.root <> walk.relid
$$;

-- A dependency cycle as text: "a -> b -> a" (a reads b, b reads a).
CREATE OR REPLACE FUNCTION crm_core._matview_cycle_text(cycle oid[]) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(c.relid::regclass::text, ' -> ' ORDER BY c.ord)
    FROM unnest(cycle) WITH ORDINALITY AS c(relid, ord)
$$;

-- The key of crm_core's own lock (crm_core._try_xact_lock) that serializes refreshes of one
-- view across sessions.
CREATE OR REPLACE FUNCTION crm_core._matview_lock_key(view regclass) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (x'6d767266'::bigint << 32) | view::oid::bigint
$$;
