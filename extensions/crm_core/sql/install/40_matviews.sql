-- Materialized views that stay fresh: registration, scheduled refresh in dependency order,
-- history and status, and incremental time-bucket summaries (docs/matviews.md).

-- ---------------------------------------------------------------------------------------------
-- Configuration (kept by pg_dump) and state.

CREATE TABLE crm_core.matview (
    view regclass PRIMARY KEY,
    mode text NOT NULL
        CONSTRAINT matview_mode_known CHECK (mode IN ('concurrently', 'blocking', 'incremental')),
    refresh_every interval NOT NULL
        CONSTRAINT matview_refresh_every_positive CHECK (refresh_every > interval '0'),
    lock_timeout interval NOT NULL DEFAULT interval '2 seconds'
        CONSTRAINT matview_lock_timeout_positive CHECK (lock_timeout > interval '0'),
    keep_history interval NOT NULL DEFAULT interval '30 days'
        CONSTRAINT matview_keep_history_not_negative CHECK (keep_history >= interval '0'),
    registered_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- Registrations an extension's install script makes (CREATE EXTENSION makes them again on
    -- restore).
    by_extension boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE crm_core.matview IS
    'Materialized views (and bucket summaries) that crm_core.refresh_due() keeps fresh.';

-- A bucket summary is a plain table holding `query` grouped by date_bin(bucket_width,
-- time_column, bucket_origin) AS bucket_column; `query` reads source rows with
-- $1 <= time_column < $2 so that only invalidated buckets are recomputed. It runs as the
-- summary's owner under the search_path it was registered with.
CREATE TABLE crm_core.bucket_summary (
    summary regclass PRIMARY KEY REFERENCES crm_core.matview (view) ON DELETE CASCADE,
    source regclass NOT NULL,
    time_column name NOT NULL,
    bucket_column name NOT NULL,
    bucket_width interval NOT NULL,
    bucket_origin timestamptz NOT NULL,
    query text NOT NULL,
    search_path text NOT NULL
);
COMMENT ON TABLE crm_core.bucket_summary IS
    'Incremental time-bucket summaries: which source, time column, bucket grid and query.';

SELECT pg_catalog.pg_extension_config_dump('crm_core.matview', 'WHERE NOT by_extension');
SELECT pg_catalog.pg_extension_config_dump('crm_core.bucket_summary', '');

-- The latest outcome per view (not dumped: a restored database refreshes everything once).
CREATE TABLE crm_core.matview_state (
    view regclass PRIMARY KEY REFERENCES crm_core.matview (view) ON DELETE CASCADE,
    last_attempt_at timestamptz,
    last_success_at timestamptz,
    last_status text,
    last_duration_ms double precision,
    last_rows bigint,
    last_error_at timestamptz,
    last_sqlstate text,
    last_error text,
    consecutive_failures integer NOT NULL DEFAULT 0
);

-- Every refresh attempt, trimmed to each view's keep_history.
CREATE TABLE crm_core.matview_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    view regclass NOT NULL REFERENCES crm_core.matview (view) ON DELETE CASCADE,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    duration_ms double precision NOT NULL,
    rows bigint,
    status text NOT NULL CONSTRAINT matview_history_status CHECK (status IN ('refreshed', 'failed')),
    mode text NOT NULL,
    sqlstate text,
    message text
);
CREATE INDEX matview_history_view_started ON crm_core.matview_history (view, started_at);

-- Bucket ranges [lower_us, upper_us) (microseconds since 2000-01-01) changed since a summary's
-- last refresh; written by the source's statement triggers, consumed by the refresh.
CREATE TABLE crm_core.bucket_invalidation (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    summary oid NOT NULL,
    lower_us bigint NOT NULL,
    upper_us bigint NOT NULL
);
CREATE INDEX bucket_invalidation_summary ON crm_core.bucket_invalidation (summary);
