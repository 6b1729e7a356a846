-- crm_core partitions: the status view, and the grants on every function of 31-35.
-- Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

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
