-- Partition management: registration and its errors, premade partitions by the clock for every
-- unit, inheritance of indexes/constraints/owner/privileges/triggers, gaps, retention, the
-- default partition, the status view, the log and the materialized-view hook.
BEGIN;
SELECT plan(78);
SET client_min_messages = warning;
CREATE SCHEMA part_test;
CREATE SCHEMA part_archive;
SET search_path = part_test, public;
CREATE ROLE part_owner;
CREATE ROLE part_reader;

-- UTC slot start of now() for a unit, as the planner computes it.
CREATE FUNCTION slot(unit text, shift interval DEFAULT '0') RETURNS timestamp
    LANGUAGE sql AS $$ SELECT date_trunc(unit, now() AT TIME ZONE 'UTC') + shift $$;

-- ---- bad input -------------------------------------------------------------------------------
CREATE TABLE plain (at timestamptz);
CREATE TABLE listed (kind text, at timestamptz) PARTITION BY LIST (kind);
CREATE TABLE hashed (id bigint, at timestamptz) PARTITION BY HASH (id);
CREATE TABLE by_id (id bigint, at timestamptz) PARTITION BY RANGE (id);
CREATE TABLE two_keys (a timestamptz, b timestamptz) PARTITION BY RANGE (a, b);
CREATE TABLE events (id bigint, at timestamptz NOT NULL, other timestamptz)
    PARTITION BY RANGE (at);

SELECT throws_ok($$SELECT crm_core.partition_by_time('plain', 'at', '1 day', 1)$$,
                 '42809', 'table part_test.plain is not partitioned', 'a plain table is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('listed', 'at', '1 day', 1)$$,
                 '42809', 'table part_test.listed is partitioned by LIST, not by RANGE',
                 'a LIST-partitioned table is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('hashed', 'at', '1 day', 1)$$,
                 '42809', 'table part_test.hashed is partitioned by HASH, not by RANGE',
                 'a HASH-partitioned table is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('two_keys', 'a', '1 day', 1)$$,
                 '0A000', 'the partition key of part_test.two_keys is not a single column', 'a multi-column key is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'other', '1 day', 1)$$,
                 '42P10', 'column other is not the partition key of part_test.events',
                 'a column that is not the partition key is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'nope', '1 day', 1)$$,
                 '42703', 'column nope of table part_test.events does not exist', 'a missing column is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('by_id', 'id', '1 day', 1)$$,
                 '42804', 'partition key part_test.by_id.id is of type bigint, not a date or timestamp', 'a key that is not a date or timestamp is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'at', '-1 day', 1)$$,
                 '22023', 'partition interval must be positive', 'a negative interval is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'at', '0 days', 1)$$,
                 '22023', 'partition interval must be positive', 'a zero interval is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'at', '2 days', 1)$$,
                 '22023', 'unsupported partition interval', 'an unsupported interval is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'at', '1 day', -1)$$,
                 '22023', 'premake must be between 0 and 1000, not -1', 'a negative premake is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'at', '1 day', 1, '-1 year')$$,
                 '22023', 'retention must be positive, not -1 years', 'a negative retention is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'at', '1 day', 1, '1 year', 'archive')$$,
                 '22023', 'archive_schema is required with retention_action archive, and only then', 'archive without an archive schema is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'at', '1 day', 1, '1 year', 'archive', 'nowhere')$$,
                 '3F000', 'archive schema nowhere does not exist', 'a missing archive schema is refused');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'at', '1 day', 1, '1 year', 'shred')$$,
                 '22023', 'retention_action must be detach, drop or archive, not shred', 'an unknown retention action is refused');
SELECT throws_ok($$SELECT crm_core.alter_partitioning('events', premake => 3)$$,
                 '42704', 'table part_test.events is not registered for partition maintenance', 'altering an unregistered table is refused');
GRANT USAGE ON SCHEMA crm_core, part_test TO part_reader;
GRANT EXECUTE ON FUNCTION crm_core.partition_by_time(regclass, name, interval, integer, interval,
                                                     text, name, interval, boolean, boolean) TO part_reader;
SET ROLE part_reader;
SELECT throws_ok($$SELECT crm_core.partition_by_time('part_test.events', 'at', '1 day', 1)$$,
                 '42501', 'must own table part_test.events to partition it',
                 'only the table''s owner may register it');
RESET ROLE;
SELECT is((SELECT count(*) FROM crm_core.partition_config WHERE NOT by_extension), 0::bigint,
          'refused registrations leave no configuration behind');
SELECT is((SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass), 0::bigint,
          'and no partitions');

-- ---- every unit, by the clock ----------------------------------------------------------------
SELECT is((SELECT array_agg(partition_name ORDER BY partition_name)
           FROM crm_core.partition_by_time('events', 'at', '1 month', 2)),
          ARRAY['events_p' || to_char(slot('month'), 'YYYYMM'),
                'events_p' || to_char(slot('month', '1 month'), 'YYYYMM'),
                'events_p' || to_char(slot('month', '2 months'), 'YYYYMM')],
          'monthly: the current month and two ahead, named _pYYYYMM');
SELECT throws_ok($$SELECT crm_core.partition_by_time('events', 'at', '1 day', 1)$$,
                 '42710', 'table part_test.events is already registered for partition maintenance',
                 'registering twice is refused');
SELECT is((SELECT lower_bound FROM crm_core._partition_bounds('events')
           WHERE table_name = 'events_p' || to_char(slot('month'), 'YYYYMM')),
          slot('month'), 'the current month starts at midnight UTC on the 1st');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false) WHERE parent = 'events'::regclass),
          0::bigint, 'a second run has nothing to do (idempotent)');

CREATE TABLE daily (at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE weekly (at timestamp NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE quarterly (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE yearly (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('daily', 'at', '1 day', 3)), 4::bigint,
          'daily on a date column: today and three ahead');
SELECT is((SELECT min(lower_bound) FROM crm_core._partition_bounds('daily')), slot('day'),
          'the first day starts today (UTC)');
SELECT ok(to_regclass('daily_p' || to_char(slot('day', '3 days'), 'YYYYMMDD')) IS NOT NULL,
          'days are named _pYYYYMMDD');
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('weekly', 'at', '1 week', 1)), 2::bigint,
          'weekly on a timestamp column');
SELECT is((SELECT min(lower_bound) FROM crm_core._partition_bounds('weekly')), slot('week'),
          'weeks start on Monday, UTC');
SELECT is(extract(isodow FROM (SELECT min(lower_bound) FROM crm_core._partition_bounds('weekly'))),
          1::numeric, 'which is a Monday');
SELECT is((SELECT array_agg(partition_name ORDER BY partition_name)
           FROM crm_core.partition_by_time('quarterly', 'at', '3 months', 1)),
          ARRAY['quarterly_p' || to_char(slot('quarter'), 'YYYY"q"Q'),
                'quarterly_p' || to_char(slot('quarter', '3 months'), 'YYYY"q"Q')],
          'quarterly, named _pYYYYqN');
SELECT is((SELECT max(upper_bound) FROM crm_core._partition_bounds('quarterly')),
          slot('quarter', '6 months'), 'quarters end on quarter boundaries');
SELECT is((SELECT array_agg(partition_name ORDER BY partition_name)
           FROM crm_core.partition_by_time('yearly', 'at', '1 year', 0)),
          ARRAY['yearly_p' || to_char(slot('year'), 'YYYY')], 'yearly, named _pYYYY');
SELECT is((SELECT partitions_ahead FROM crm_core.partitioned_tables
           WHERE parent = 'daily'::regclass), 3, 'the status view counts partitions ahead');

-- ---- inheritance -----------------------------------------------------------------------------
CREATE TABLE account (id bigint PRIMARY KEY);
CREATE TABLE ledger_line (business_id bigint NOT NULL, id bigint NOT NULL,
                          account_id bigint REFERENCES account,
                          posted_at timestamptz NOT NULL,
                          amount numeric CONSTRAINT positive_amount CHECK (amount > 0),
                          PRIMARY KEY (business_id, id, posted_at)) PARTITION BY RANGE (posted_at);
CREATE INDEX ledger_line_account ON ledger_line (account_id);
ALTER TABLE ledger_line OWNER TO part_owner;
-- Maintenance creates partitions as the table's owner (303_partitions_owner.sql).
GRANT USAGE, CREATE ON SCHEMA part_test TO part_owner;
GRANT SELECT ON ledger_line TO part_reader;
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'append-only' USING ERRCODE = 'insufficient_privilege'; END $$;
CREATE TRIGGER no_update BEFORE UPDATE OR DELETE ON ledger_line
    FOR EACH ROW EXECUTE FUNCTION refuse();
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON ledger_line
    FOR EACH STATEMENT EXECUTE FUNCTION refuse();
ALTER TABLE ledger_line ENABLE ALWAYS TRIGGER no_truncate;
ALTER TABLE ledger_line ENABLE ALWAYS TRIGGER no_update;
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('ledger_line', 'posted_at', '1 month', 1)),
          2::bigint, 'ledger_line registered');
CREATE TEMP TABLE newest AS
    SELECT ('ledger_line_p' || to_char(slot('month', '1 month'), 'YYYYMM'))::regclass AS rel;
SELECT is((SELECT count(*) FROM pg_index WHERE indrelid = (SELECT rel FROM newest)), 2::bigint,
          'a new partition has the primary key and the index');
SELECT ok(EXISTS (SELECT FROM pg_constraint WHERE conrelid = (SELECT rel FROM newest)
                  AND conname = 'positive_amount'), 'and the CHECK constraint');
SELECT ok(EXISTS (SELECT FROM pg_constraint WHERE conrelid = (SELECT rel FROM newest)
                  AND contype = 'f'), 'and the foreign key');
SELECT ok(NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = (SELECT rel FROM newest)
                      AND conname LIKE '%bounds'), 'the pre-attach bounds CHECK is gone');
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = (SELECT rel FROM newest)),
          'part_owner', 'the parent''s owner owns it');
SELECT ok(has_table_privilege('part_reader', (SELECT rel FROM newest), 'SELECT'),
          'the parent''s grants apply to it');
SELECT is((SELECT tgenabled FROM pg_trigger WHERE tgrelid = (SELECT rel FROM newest)
           AND tgname = 'no_update'), 'A'::"char", 'the row trigger is cloned, ENABLE ALWAYS kept');
SELECT is((SELECT tgenabled FROM pg_trigger WHERE tgrelid = (SELECT rel FROM newest)
           AND tgname = 'no_truncate'), 'A'::"char", 'the TRUNCATE guard is copied, ENABLE ALWAYS');
SELECT throws_ok(format('TRUNCATE %s', (SELECT rel FROM newest)), '42501', 'append-only',
                 'and it refuses TRUNCATE of the partition itself');

-- ---- names that do not fit -------------------------------------------------------------------
CREATE TABLE "a_very_long_table_name_for_collection_actions_of_tenants_one" (at timestamptz NOT NULL)
    PARTITION BY RANGE (at);
CREATE TABLE "a_very_long_table_name_for_collection_actions_of_tenants_two" (at timestamptz NOT NULL)
    PARTITION BY RANGE (at);
SELECT is((SELECT count(*) FROM crm_core.partition_by_time(
              'a_very_long_table_name_for_collection_actions_of_tenants_one', 'at', '1 day', 1)
           WHERE action = 'created'), 2::bigint, 'long name one: partitions created');
SELECT is((SELECT count(*) FROM crm_core.partition_by_time(
              'a_very_long_table_name_for_collection_actions_of_tenants_two', 'at', '1 day', 1)
           WHERE action = 'created'), 2::bigint, 'long name two: no collision with one');
SELECT is((SELECT count(DISTINCT relname) FILTER (WHERE octet_length(relname) <= 63
                                                   AND relname ~ '_p[0-9]{8}$')
           FROM pg_class WHERE relname LIKE 'a\_very\_long%' AND relispartition),
          4::bigint, 'shortened names are distinct, fit in 63 bytes and keep their date suffix');

-- ---- gaps after an outage --------------------------------------------------------------------
CREATE TABLE calls (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE calls_old PARTITION OF calls FOR VALUES FROM ((slot('month', '-36 months') AT TIME ZONE 'UTC'))
    TO ((slot('month', '-35 months') AT TIME ZONE 'UTC'));
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('calls', 'at', '1 month', 1)
           WHERE action = 'created'), 37::bigint, 'three years of missing months are created, then premade');
SELECT is((SELECT count(*) FROM (
              SELECT lower_bound, lag(upper_bound) OVER (ORDER BY lower_bound) AS previous
              FROM crm_core._partition_bounds('calls')) b
           WHERE previous IS NOT NULL AND previous <> lower_bound), 0::bigint,
          'with no gap between consecutive partitions');

-- ---- retention -------------------------------------------------------------------------------
CREATE TABLE audit_drop (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE audit_keep (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE audit_archive (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE audit_drop_old PARTITION OF audit_drop
    FOR VALUES FROM ((slot('day', '-30 days') AT TIME ZONE 'UTC')) TO ((slot('day', '-29 days') AT TIME ZONE 'UTC'));
CREATE TABLE audit_keep_old PARTITION OF audit_keep
    FOR VALUES FROM ((slot('day', '-30 days') AT TIME ZONE 'UTC')) TO ((slot('day', '-29 days') AT TIME ZONE 'UTC'));
CREATE TABLE audit_archive_old PARTITION OF audit_archive
    FOR VALUES FROM ((slot('day', '-30 days') AT TIME ZONE 'UTC')) TO ((slot('day', '-29 days') AT TIME ZONE 'UTC'));
SELECT is((SELECT array_agg(action || ':' || partition_name || ':' || detail)
           FROM crm_core.partition_by_time('audit_drop', 'at', '1 day', 0, '10 days', 'drop')
           WHERE action <> 'created'),
          ARRAY['retired:audit_drop_old:detached and dropped'], 'drop retention retires the old day');
SELECT ok(to_regclass('audit_drop_old') IS NULL, 'and the table is gone');
SELECT is((SELECT min(lower_bound) FROM crm_core._partition_bounds('audit_drop')),
          slot('day', '-10 days'), 'days older than the retention cutoff are not created');
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('audit_keep', 'at', '1 day', 0, '10 days')
           WHERE action = 'retired'), 1::bigint, 'detach retention (the default) retires');
SELECT is((SELECT relispartition FROM pg_class WHERE oid = 'audit_keep_old'::regclass), false,
          'and keeps the table, detached');
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('audit_archive', 'at', '1 day', 0, '10 days',
                                                           'archive', 'part_archive')
           WHERE action = 'retired'), 1::bigint, 'archive retention retires');
SELECT ok(to_regclass('part_archive.audit_archive_old') IS NOT NULL,
          'and moves the table to the archive schema');
SELECT is((crm_core.alter_partitioning('audit_keep', premake => 4, clear_retention => true)).premake,
          4, 'alter_partitioning changes premake');
SELECT is((SELECT retention FROM crm_core.partition_config WHERE parent = 'audit_keep'::regclass),
          NULL, 'and clears retention');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false, 'audit_keep') WHERE action = 'created'),
          4::bigint, 'the next run premakes four more days');
SELECT throws_ok($$SELECT crm_core.alter_partitioning('audit_keep', retention => '0 days')$$,
                 '22023', 'retention must be positive, not 00:00:00', 'alter_partitioning validates too');

-- ---- the default partition -------------------------------------------------------------------
CREATE TABLE payment (business_id bigint NOT NULL, id bigint NOT NULL, paid_at timestamptz,
                      amount numeric NOT NULL) PARTITION BY RANGE (paid_at);
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('payment', 'paid_at', '1 month', 1,
                                                           default_partition => true)),
          2::bigint, 'registered with a default partition');
SELECT ok(to_regclass('payment_default') IS NOT NULL, 'named parent_default');
INSERT INTO payment
SELECT 1, g, now() - interval '70 days' - g * interval '1 hour', g FROM generate_series(1, 100) g;
INSERT INTO payment VALUES (1, 1000, NULL, 5);
SELECT is((SELECT default_rows FROM crm_core.partitioned_tables WHERE parent = 'payment'::regclass),
          101::bigint, 'the status view reports rows in the default partition');
CREATE TABLE payment_p_early PARTITION OF payment
    FOR VALUES FROM ((slot('month', '-12 months') AT TIME ZONE 'UTC'))
    TO ((slot('month', '-11 months') AT TIME ZONE 'UTC'));
SELECT ok((SELECT bool_or(action = 'deferred' AND detail LIKE '%move_default_rows%')
           FROM crm_core.run_maintenance(false, 'payment')),
          'a range with rows in the default partition is deferred, with what to do');
CREATE TEMP TABLE before_move AS SELECT id, paid_at, amount FROM payment;
SELECT ok((SELECT count(*) FROM crm_core.move_default_rows('payment') WHERE action = 'moved') >= 1,
          'move_default_rows moves them');
SELECT is((SELECT count(*) FROM ONLY payment_default), 1::bigint,
          'only the row with a NULL key stays in the default partition');
SELECT set_eq('SELECT id, paid_at, amount FROM payment', 'SELECT * FROM before_move',
              'no row lost, none duplicated');
SELECT is((SELECT count(*) FROM (SELECT id FROM payment GROUP BY id HAVING count(*) > 1) d),
          0::bigint, 'no id appears twice');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(false, 'payment') WHERE action <> 'created'),
          0::bigint, 'after the move nothing is deferred any more');

-- ---- log, view, config dump, matviews hook --------------------------------------------------
SELECT ok((SELECT count(*) FROM crm_core.partition_log WHERE parent = 'part_test.payment' AND action = 'moved') >= 1,
          'moves are logged');
SELECT ok((SELECT count(*) FROM crm_core.partition_log WHERE parent = 'part_test.events' AND action = 'created') = 3,
          'creations are logged');
SELECT columns_are('crm_core', 'partitioned_tables',
                   ARRAY['parent', 'control_column', 'partition_interval', 'premake', 'retention',
                         'retention_action', 'archive_schema', 'lock_timeout', 'partitions',
                         'partitions_ahead', 'oldest_lower_bound', 'newest_upper_bound',
                         'default_partition', 'default_rows', 'last_maintenance_at'],
                   'partitioned_tables has the contract columns');
SELECT ok((SELECT last_maintenance_at IS NOT NULL FROM crm_core.partitioned_tables
           WHERE parent = 'events'::regclass), 'last maintenance is recorded');
SELECT ok((SELECT 'crm_core.partition_config'::regclass::oid = ANY (extconfig)
           FROM pg_extension WHERE extname = 'crm_core'),
          'the configuration is marked for pg_dump');
SELECT ok(NOT has_function_privilege('public', 'crm_core.run_maintenance(boolean, regclass, integer)', 'EXECUTE'),
          'PUBLIC cannot run maintenance');

CREATE OR REPLACE FUNCTION crm_core.refresh_due()
    RETURNS TABLE(view regclass, status text, duration_ms double precision, rows bigint, message text)
    LANGUAGE sql AS $$
        VALUES ('part_test.events'::regclass, 'refreshed', 1.5::float8, 10::bigint, NULL::text),
               ('part_test.calls'::regclass, 'failed', 0.2::float8, NULL::bigint, 'boom'),
               ('part_test.daily'::regclass, 'skipped', 0::float8, NULL::bigint, NULL::text) $$;
SELECT is((SELECT array_agg(action || ':' || coalesce(detail, '') ORDER BY action)
           FROM crm_core.run_maintenance() WHERE partition_name IS NULL),
          ARRAY['refresh_failed:boom', 'refreshed:10 rows in 1.5 ms'],
          'run_maintenance() reports refresh_due() results, skipped ones left out');
SELECT is((SELECT count(*) FROM crm_core.run_maintenance(refresh_matviews => false)
           WHERE partition_name IS NULL), 0::bigint, 'refresh_matviews => false leaves them out');
SELECT ok(crm_core.unregister_partitioning('calls'), 'unregister_partitioning forgets a table');
SELECT ok(to_regclass('calls_old') IS NOT NULL, 'and keeps its partitions');

SELECT * FROM finish();
ROLLBACK;
