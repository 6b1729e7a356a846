-- Materialized views: incremental bucket summaries. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.
-- The event trigger that calls _bucket_follow_partitions(): 46_matview_event_triggers.sql.

-- ---------------------------------------------------------------------------------------------
-- Incremental bucket summaries (C++: extension/src/pg/matview_bucket.cpp).

CREATE OR REPLACE FUNCTION crm_core._bucket_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_bucket_invalidate'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION crm_core._bucket_invalidate() IS
    'Statement trigger on a bucket summary''s source: logs the bucket ranges its rows touched.';

CREATE OR REPLACE FUNCTION crm_core._bucket_log_rows(summary oid, rel regclass, time_column name,
                                          width_us bigint, origin_us bigint)
    RETURNS boolean AS 'MODULE_PATHNAME', 'crm_core_bucket_log_rows'
    LANGUAGE C STRICT SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION crm_core._bucket_summary_refresh(summary regclass, rebuild boolean)
    RETURNS bigint AS 'MODULE_PATHNAME', 'crm_core_bucket_summary_refresh'
    LANGUAGE C STRICT;

-- The bucket grid of a summary in microseconds since 2000-01-01, as the C++ trigger sees
-- times: timestamptz in UTC, timestamp and date as written (origin read in UTC).
CREATE OR REPLACE FUNCTION crm_core._bucket_grid(time_type regtype, bucket_width interval,
                                      bucket_origin timestamptz,
                                      OUT width_us bigint, OUT origin_us bigint)
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (extract(epoch FROM bucket_width) * 1000000)::bigint,
           (CASE WHEN time_type = 'timestamptz'::regtype
                 THEN extract(epoch FROM bucket_origin - '2000-01-01 00:00:00+00'::timestamptz)
                 ELSE extract(epoch FROM (bucket_origin AT TIME ZONE 'UTC') - '2000-01-01'::timestamp)
            END * 1000000)::bigint
$$;

-- The name of the invalidation trigger for one event on a source table or partition.
CREATE OR REPLACE FUNCTION crm_core._bucket_trigger_name(event text) RETURNS name
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ('crm_core_bucket_' || event)::name
$$;

-- Puts the invalidation triggers on a summary source and on every partition below it that
-- lacks them: a statement trigger fires only for the table a statement names, so writes
-- straight into a partition need the partition's own triggers. With log_existing, the rows a
-- newly covered table already holds (an attached partition) are logged as changes for every
-- summary of the source. Idempotent.
CREATE OR REPLACE FUNCTION crm_core._bucket_install_triggers(source regclass, log_existing boolean)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel regclass;
    feed record;
    event text;
    transition text;
BEGIN
    FOR rel IN SELECT t.relid FROM pg_catalog.pg_partition_tree(source) t
               JOIN pg_catalog.pg_class c ON c.oid = t.relid AND c.relkind IN ('r', 'p')
               WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = t.relid
                                 AND tg.tgname = crm_core._bucket_trigger_name('insert')) LOOP
        IF log_existing AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = rel) = 'r' THEN
            FOR feed IN SELECT b.summary, b.time_column, g.width_us, g.origin_us
                        FROM crm_core.bucket_summary b
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = b.source AND a.attname = b.time_column
                        CROSS JOIN LATERAL crm_core._bucket_grid(a.atttypid::regtype, b.bucket_width,
                                                                 b.bucket_origin) g
                        WHERE b.source = $1 LOOP
                PERFORM crm_core._bucket_log_rows(feed.summary, rel, feed.time_column,
                                                  feed.width_us, feed.origin_us);
            END LOOP;
        END IF;
        -- One trigger per event: transition tables allow only one event per trigger.
        FOREACH event IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
            CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = rel
                                  AND t.tgname = crm_core._bucket_trigger_name(event));
            transition := CASE event WHEN 'insert' THEN 'REFERENCING NEW TABLE AS crm_core_new'
                                     WHEN 'update' THEN 'REFERENCING OLD TABLE AS crm_core_old NEW TABLE AS crm_core_new'
                                     WHEN 'delete' THEN 'REFERENCING OLD TABLE AS crm_core_old'
                                     ELSE '' END;
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s %s FOR EACH STATEMENT '
                           'EXECUTE FUNCTION crm_core._bucket_invalidate()',
                           crm_core._bucket_trigger_name(event), event, rel, transition);
        END LOOP;
    END LOOP;
END
$$;

-- Drops invalidation triggers that feed no summary any more: left on a detached partition, or
-- by the last summary of a source being unregistered.
CREATE OR REPLACE FUNCTION crm_core._bucket_drop_stray_triggers() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    stray record;
BEGIN
    FOR stray IN
        SELECT t.tgname, t.tgrelid::regclass AS rel FROM pg_catalog.pg_trigger t
        WHERE t.tgfoid = 'crm_core._bucket_invalidate()'::regprocedure
          AND NOT EXISTS (SELECT 1 FROM crm_core.bucket_summary b
                          WHERE b.source IN (SELECT pg_catalog.pg_partition_ancestors(t.tgrelid)))
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', stray.tgname, stray.rel);
    END LOOP;
END
$$;

-- New partitions of a summary's source (CREATE TABLE ... PARTITION OF, ATTACH PARTITION) get
-- the invalidation triggers too; a detached one loses them. SECURITY DEFINER: it fires for
-- every CREATE/ALTER TABLE, by roles with no access to crm_core or its trigger function.
CREATE OR REPLACE FUNCTION crm_core._bucket_follow_partitions() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    source regclass;
BEGIN
    PERFORM crm_core._bucket_drop_stray_triggers();
    FOR source IN
        SELECT DISTINCT b.source
        FROM pg_catalog.pg_event_trigger_ddl_commands() c
        CROSS JOIN LATERAL pg_catalog.pg_partition_ancestors(c.objid) AS a(relid)
        JOIN crm_core.bucket_summary b ON b.source = a.relid
        WHERE c.classid = 'pg_catalog.pg_class'::regclass AND c.object_type = 'table'
    LOOP
        PERFORM crm_core._bucket_install_triggers(source, true);
    END LOOP;
END
$$;
