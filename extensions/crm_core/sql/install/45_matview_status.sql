-- Materialized views: the status view, and the grants on every function of 41-45.
-- Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

-- ---------------------------------------------------------------------------------------------
-- Status.

CREATE OR REPLACE VIEW crm_core.matview_status AS
SELECT m.view,
       m.mode,
       m.refresh_every,
       s.last_success_at,
       now() - s.last_success_at AS staleness,
       crm_core._matview_next_due(s.last_success_at, m.refresh_every, m.registered_at) AS next_due_at,
       s.last_attempt_at,
       s.last_status,
       s.last_duration_ms,
       s.last_rows,
       s.last_error_at,
       s.last_sqlstate,
       s.last_error,
       coalesce(s.consecutive_failures, 0) AS consecutive_failures,
       (SELECT count(*) FROM crm_core.bucket_invalidation i WHERE i.summary = m.view::oid)
           AS pending_invalidations
FROM crm_core.matview m
LEFT JOIN crm_core.matview_state s ON s.view = m.view;
COMMENT ON VIEW crm_core.matview_status IS
    'Per registered view: last success, staleness, next due time, last outcome and last error.';

REVOKE EXECUTE ON FUNCTION
    crm_core.register_matview(regclass, interval, boolean, interval, interval),
    crm_core.register_bucket_summary(regclass, regclass, name, interval, text, interval, name, timestamptz, interval, interval),
    crm_core.unregister_matview(regclass),
    crm_core.refresh_due(),
    crm_core.refresh_now(regclass, boolean),
    crm_core.rebuild_bucket_summary(regclass),
    crm_core._bucket_summary_refresh(regclass, boolean),
    crm_core._bucket_invalidate(),
    crm_core._matview_refresh_one(regclass),
    crm_core._matview_refresh_list(oid[], boolean, oid[], oid[], oid[]),
    crm_core._matview_plan(),
    crm_core._matview_cycle_failures(oid[], oid[], oid[], oid[]),
    crm_core._matview_record_failure(regclass, text, text),
    crm_core._matview_refuse_cycle(regclass),
    crm_core._bucket_install_triggers(regclass, boolean),
    crm_core._bucket_drop_stray_triggers(),
    crm_core._bucket_log_rows(oid, regclass, name, bigint, bigint),
    crm_core._matview_check_arguments(regclass, interval, interval, interval),
    crm_core._matview_refresh_order(oid[], oid[], oid[]),
    crm_core._matview_cycle(oid[], oid[], oid[], oid),
    crm_core._matview_with_dependents(oid, oid[], oid[], oid[]),
    crm_core._matview_dependencies(),
    crm_core._matview_cycle_text(oid[]),
    crm_core._matview_lock_key(regclass),
    crm_core._bucket_grid(regtype, interval, timestamptz),
    crm_core._bucket_trigger_name(text),
    crm_core._bucket_follow_partitions(),
    crm_core._matview_forget_dropped()
FROM PUBLIC;
-- crm_core.matview_status calls it for whoever reads the view: arithmetic on its arguments.
REVOKE EXECUTE ON FUNCTION crm_core._matview_next_due(timestamptz, interval, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_core._matview_next_due(timestamptz, interval, timestamptz) TO PUBLIC;
REVOKE EXECUTE ON PROCEDURE crm_core.refresh_due_each() FROM PUBLIC;
