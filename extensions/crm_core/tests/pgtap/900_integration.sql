-- Integration of the audit log with partition management, and what pg_dump must (not) carry.
BEGIN;
SELECT plan(33);

-- Registration made by the install, not dumped.
SELECT is((SELECT concat_ws('|', control_column, partition_interval, premake, retention,
                           retention_action, by_extension)
             FROM crm_core.partition_config WHERE parent = 'crm_core.audit_log'::regclass),
          'logged_at|1 mon|3|7 years|detach|t',
          'the install registers crm_core.audit_log: monthly, 3 ahead, 7 years, detach');
SELECT is((SELECT bool_and(by_extension) FROM crm_core.append_only_table
            WHERE relid::text LIKE 'crm_core.%'),
          true, 'append-only registrations made by the install are marked by_extension');
SELECT is((SELECT array_agg(c.relname || ': ' || u.condition ORDER BY c.relname)
             FROM pg_extension AS e
             CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS u(config, condition)
             JOIN pg_class AS c ON c.oid = u.config
            WHERE e.extname = 'crm_core' AND u.condition <> ''),
          ARRAY['append_only_table: WHERE NOT by_extension',
                'audited_table: WHERE NOT by_extension',
                'job: WHERE extension IS NULL',
                'matview: WHERE NOT by_extension',
                'partition_config: WHERE NOT by_extension',
                'scale_out_table: WHERE NOT by_extension'],
          'pg_dump skips the rows install scripts wrote in append_only_table, audited_table, matview, partition_config and scale_out_table, and the jobs extensions registered');
SELECT ok((SELECT 'crm_core.audit_log_default'::regclass::oid = ANY (extconfig)
             FROM pg_extension WHERE extname = 'crm_core'),
          'the rows of audit_log_default are dumped');
SELECT is((SELECT count(*)::integer FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
            WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'
              AND c.relname ~ '^audit_log_p[0-9]{6}$'),
          0, 'no monthly audit partition is an extension member');
SELECT is((SELECT count(*)::integer FROM pg_index WHERE indrelid = 'crm_core.audit_log'::regclass),
          0, 'audit_log keeps its indexes on its partitions (pg_dump restores them there)');

-- Rows written before maintenance made this month's partition are kept, then moved into it.
CREATE TABLE public.it_payment (business_id bigint NOT NULL, id bigint NOT NULL,
                                amount numeric NOT NULL, PRIMARY KEY (business_id, id));
SELECT crm_core.audit_table('public.it_payment');
CREATE TEMP TABLE month_partition AS
    SELECT 'crm_core.audit_log_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM') AS name;
-- This month's partition may exist in the regression database: detach it for the test.
DO $$ BEGIN
    IF to_regclass((SELECT name FROM month_partition)) IS NOT NULL THEN
        EXECUTE format('ALTER TABLE crm_core.audit_log DETACH PARTITION %s',
                       (SELECT name FROM month_partition));
        EXECUTE format('ALTER TABLE %s RENAME TO audit_log_it_detached',
                       (SELECT name FROM month_partition));
    END IF;
END $$;
INSERT INTO public.it_payment VALUES (1, 1, 10);
SELECT is((SELECT tableoid::regclass::text FROM crm_core.audit_log
            WHERE relid = 'public.it_payment'::regclass),
          'crm_core.audit_log_default',
          'an audit row written before any maintenance run lands in audit_log_default');

-- Maintenance premakes the audit months; rows land in the month's partition.
CREATE TEMP TABLE done AS SELECT * FROM crm_core.run_maintenance(false, 'crm_core.audit_log');
SELECT cmp_ok((SELECT partitions_ahead FROM crm_core.partitioned_tables
                WHERE parent = 'crm_core.audit_log'::regclass), '>=', 3,
              'run_maintenance premakes at least 3 months of audit_log ahead');
SELECT is((SELECT count(*)::integer FROM crm_core.partitioned_tables p
             JOIN pg_inherits i ON i.inhparent = p.parent
             JOIN pg_index x ON x.indrelid = i.inhrelid AND x.indisprimary
            WHERE p.parent = 'crm_core.audit_log'::regclass),
          (SELECT count(*)::integer FROM pg_inherits
            WHERE inhparent = 'crm_core.audit_log'::regclass),
          'every audit partition has its primary key');
SELECT is((SELECT tableoid::regclass::text FROM crm_core.audit_log
            WHERE relid = 'public.it_payment'::regclass),
          (SELECT name FROM month_partition),
          'run_maintenance created this month and moved the waiting row into it, not lost');
SELECT is((SELECT count(*)::integer FROM ONLY crm_core.audit_log_default
            WHERE logged_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'),
          0, 'the default partition is empty again');
INSERT INTO public.it_payment VALUES (1, 2, 20);
SELECT is((SELECT count(*)::integer FROM crm_core.audit_log
            WHERE relid = 'public.it_payment'::regclass AND tableoid::regclass::text =
                  (SELECT name FROM month_partition)),
          2, 'new audit rows land in this month''s partition');
INSERT INTO crm_core.audit_log (logged_at, relid, table_name, operation, txid, db_user,
                                session_user_name)
VALUES ('2100-01-01 00:00+00', 0, 'far future', 'INSERT', 1, 'u', 'u');
SELECT throws_ok($$DELETE FROM ONLY crm_core.audit_log_default$$, '55000', 'DELETE on crm_core.audit_log_default is refused: its rows are append-only',
                 'the default partition is append-only again once maintenance is done');
SELECT is((SELECT count(*)::integer FROM pg_trigger t JOIN pg_inherits i ON i.inhrelid = t.tgrelid
            WHERE i.inhparent = 'crm_core.audit_log'::regclass
              AND t.tgname = 'crm_core_guard_truncate' AND t.tgenabled = 'A'),
          (SELECT count(*)::integer FROM pg_inherits
            WHERE inhparent = 'crm_core.audit_log'::regclass),
          'every audit partition has its TRUNCATE guard');

-- An audit month older than 7 years: retired by maintenance, untouchable by applications.
CREATE TABLE crm_core.audit_log_p201801 PARTITION OF crm_core.audit_log
    FOR VALUES FROM ('2018-01-01 00:00+00') TO ('2018-02-01 00:00+00');
SELECT crm_core._index_audit_partition('crm_core.audit_log_p201801');
INSERT INTO crm_core.audit_log (logged_at, relid, table_name, operation, txid, db_user,
                                session_user_name)
VALUES ('2018-01-15 12:00+00', 0, 'old', 'INSERT', 1, 'u', 'u');
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_core_it_app') THEN
        CREATE ROLE crm_core_it_app NOLOGIN;
    END IF;
END $$;
GRANT crm_core_app TO crm_core_it_app;
GRANT SELECT, INSERT ON crm_core.audit_log_p201801 TO crm_core_it_app;
SET ROLE crm_core_it_app;
SELECT throws_ok($$ALTER TABLE crm_core.audit_log DETACH PARTITION crm_core.audit_log_p201801$$,
                 '42501', 'detaching crm_core.audit_log_p201801 from its append-only table is refused', 'an application role cannot detach an audit partition');
SELECT throws_ok($$DROP TABLE crm_core.audit_log_p201801$$, '42501', 'must be owner of table audit_log_p201801',
                 'nor drop it');
SELECT throws_ok($$TRUNCATE crm_core.audit_log_p201801$$, '42501', 'permission denied for table audit_log_p201801', 'nor truncate it');
SELECT throws_ok($$DELETE FROM crm_core.audit_log_p201801$$, '42501', 'permission denied for table audit_log_p201801', 'nor delete from it');
SELECT throws_ok($$SELECT * FROM crm_core.run_maintenance(false)$$, '42501', 'permission denied for function run_maintenance',
                 'nor run maintenance');
RESET ROLE;
SELECT throws_ok($$TRUNCATE crm_core.audit_log_p201801$$, '55000', 'TRUNCATE on crm_core.audit_log_p201801 is refused: its rows are append-only',
                 'even the owner cannot truncate it: it is append-only');

-- A maintenance role that is not a superuser, with EXECUTE on every crm_core function.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_core_it_maint') THEN
        CREATE ROLE crm_core_it_maint NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA crm_core TO crm_core_it_maint;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crm_core TO crm_core_it_maint;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_core.partition_config, crm_core.partition_state,
      crm_core.partition_log TO crm_core_it_maint;
SET ROLE crm_core_it_maint;
SELECT throws_ok($$ALTER TABLE crm_core.audit_log DETACH PARTITION crm_core.audit_log_p201801$$,
                 '42501', 'detaching crm_core.audit_log_p201801 from its append-only table is refused', 'the maintenance role cannot detach an audit month itself');
SELECT throws_ok($$SELECT crm_core._audit_retention_detach('crm_core.audit_log_p201801')$$,
                 '42501', 'only the owner of crm_core.audit_log may maintain its partitions',
                 'nor through the detach helper');
SELECT throws_ok(format('SELECT crm_core._retire_audit_partition(%L)',
                        'crm_core.audit_log_p' || to_char(now() AT TIME ZONE 'UTC' + interval '1 month', 'YYYYMM')),
                 '42501',
                 format('crm_core.audit_log_p%s is not a month of crm_core.audit_log past its retention',
                        to_char(now() AT TIME ZONE 'UTC' + interval '1 month', 'YYYYMM')),
                 'nor retire a month younger than 7 years');
SELECT throws_ok($$UPDATE crm_core.partition_config SET retention = '1 day'
                    WHERE parent = 'crm_core.audit_log'::regclass$$,
                 '23514', 'new row for relation "partition_config" violates check constraint "partition_config_audit_log_kept"', 'nor shorten the audit log''s retention below 7 years');
SELECT throws_ok($$UPDATE crm_core.partition_config SET retention_action = 'drop'
                    WHERE parent = 'crm_core.audit_log'::regclass$$,
                 '23514', 'new row for relation "partition_config" violates check constraint "partition_config_audit_log_kept"', 'nor have retention drop audit months');
UPDATE crm_core.partition_config SET premake = 5 WHERE parent = 'crm_core.audit_log'::regclass;
CREATE TEMP TABLE maint_done AS
    SELECT * FROM crm_core.run_maintenance(false, 'crm_core.audit_log');
RESET ROLE;
SELECT is((SELECT string_agg(partition_name, ',') FROM maint_done WHERE action = 'retired'),
          'audit_log_p201801',
          'run_maintenance by the maintenance role retires the audit month older than 7 years');
SELECT ok(to_regclass('crm_core.audit_log_p'
                      || to_char(now() AT TIME ZONE 'UTC' + interval '5 months', 'YYYYMM')) IS NOT NULL,
          'and premakes audit months as the audit log''s owner (premake raised from 3 to 5)');
SELECT is((SELECT string_agg(DISTINCT detail, ' ; ') FROM maint_done WHERE action = 'failed'), NULL, 'without failures');
SELECT ok(NOT (SELECT relispartition FROM pg_class
                WHERE oid = 'crm_core.audit_log_p201801'::regclass),
          'it is detached, not dropped');
SELECT is((SELECT count(*)::integer FROM crm_core.audit_log_p201801), 1, 'with its rows');
SELECT is((SELECT by_extension FROM crm_core.append_only_table
            WHERE relid = 'crm_core.audit_log_p201801'::regclass),
          false, 'and stays append-only on its own, in every dump');
SELECT throws_ok($$DELETE FROM crm_core.audit_log_p201801$$, '55000', 'DELETE on crm_core.audit_log_p201801 is refused: its rows are append-only',
                 'its guards stay in place');
SELECT ok(NOT EXISTS (SELECT FROM pg_depend WHERE objid = 'crm_core.audit_log_p201801'::regclass
                                              AND deptype = 'e'),
          'a retired month is not an extension member (DROP by a superuser stays possible)');

SELECT * FROM finish();
ROLLBACK;
