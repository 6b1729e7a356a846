-- crm_core audit trail under partition management: the audit log's months, premade and retired
-- by run_maintenance(). See docs/audit.md.

-- ---------------------------------------------------------------------------------------
-- The audit log: one partition per UTC month, premade 3 months ahead by
-- crm_core.run_maintenance(), kept 7 years. Retired months are detached, never dropped: they
-- are evidence, stay append-only on their own (registered in append_only_table) and stay in
-- every pg_dump until a superuser archives and drops them deliberately.
-- Registered without creating partitions: tables made during CREATE EXTENSION would be
-- extension members (not dumped with their rows, and recreated by every restore); until the
-- first maintenance run audited writes land in crm_core.audit_log_default.
INSERT INTO crm_core.partition_config (parent, control_column, partition_interval, premake,
                                       retention, retention_action, by_extension)
VALUES ('crm_core.audit_log', 'logged_at', interval '1 month', 3, interval '7 years', 'detach',
        true);

-- The audit log is evidence: whoever may edit partition_config cannot shorten its retention
-- below 7 years nor have retention drop or move its months.
ALTER TABLE crm_core.partition_config ADD CONSTRAINT partition_config_audit_log_kept
    CHECK (parent <> 'crm_core.audit_log'::regclass
           OR (retention >= interval '7 years' AND retention_action = 'detach'));

-- Creates one month of crm_core.audit_log as its owner, for run_maintenance run by any role
-- allowed to run it (the schema and the audit log belong to the extension's owner). Only the
-- month the planner names: audit_log_pYYYYMM for [first of the month, next month) UTC.
-- Rows of that month already waiting in audit_log_default move into it. Returns NULL when
-- created, else why the month is deferred (kept for maintenance's contract; none today).
CREATE FUNCTION crm_core._create_audit_partition(partition_name name, lower_bound timestamp,
                                                 upper_bound timestamp)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC'
AS $$
BEGIN
    IF lower_bound IS NULL OR lower_bound <> date_trunc('month', lower_bound)
       OR upper_bound IS DISTINCT FROM lower_bound + interval '1 month'
       OR partition_name IS DISTINCT FROM 'audit_log_p' || to_char(lower_bound, 'YYYYMM') THEN
        RAISE EXCEPTION 'crm_core.audit_log has one partition per UTC month, not % [%, %)',
                        partition_name, lower_bound, upper_bound
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF crm_core._default_has_rows('crm_core.audit_log_default', 'logged_at', lower_bound,
                                  upper_bound) THEN
        PERFORM crm_core._audit_month_from_default(partition_name, lower_bound, upper_bound);
        RETURN NULL;
    END IF;
    PERFORM crm_core._create_partition('crm_core.audit_log', 'crm_core', partition_name,
                                       'logged_at', lower_bound, upper_bound);
    RETURN NULL;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._create_audit_partition(name, timestamp, timestamp) FROM PUBLIC;

-- Detaches one month of crm_core.audit_log for run_maintenance, as its owner: only a month
-- entirely older than the registered retention (at least 7 years, see the constraint above).
-- The event triggers let this DETACH pass (crm_core._audit_retention_detach) and keep the
-- detached month append-only on its own; nobody else may detach, drop or truncate it.
CREATE FUNCTION crm_core._retire_audit_partition(partition regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC'
AS $$
BEGIN
    IF NOT EXISTS (
           SELECT FROM crm_core._partition_bounds('crm_core.audit_log') AS b
             JOIN crm_core.partition_config AS c ON c.parent = 'crm_core.audit_log'::regclass
            WHERE b.relid = partition AND NOT b.is_default
              AND b.upper_bound <= (now() AT TIME ZONE 'UTC')
                                   - greatest(c.retention, interval '7 years')) THEN
        RAISE EXCEPTION '% is not a month of crm_core.audit_log past its retention', partition
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = 'Audit months are kept at least 7 years.';
    END IF;
    PERFORM crm_core._audit_retention_detach(partition);
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._retire_audit_partition(regclass) FROM PUBLIC;
