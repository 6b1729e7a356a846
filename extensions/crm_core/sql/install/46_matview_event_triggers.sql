-- Materialized views: the event triggers that keep registrations in step with DDL (their
-- functions are in 42_matview_buckets.sql and 43_matview_registration.sql).

-- New partitions of a summary's source get the invalidation triggers; detached ones lose them.
CREATE EVENT TRIGGER crm_core_bucket_follow_partitions ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION crm_core._bucket_follow_partitions();

-- Registered views (and bucket summaries) that are dropped are forgotten.
CREATE EVENT TRIGGER crm_core_matview_forget_dropped ON sql_drop
    EXECUTE FUNCTION crm_core._matview_forget_dropped();
