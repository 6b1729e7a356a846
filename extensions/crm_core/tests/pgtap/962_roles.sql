-- Who may do what. PUBLIC may execute the ledger API and what the status views call, nothing
-- else; the application role cannot lock the journal (and so cannot blind the health checks);
-- crm_core_service holds exactly what crm-core-service needs, and with it maintains, refreshes,
-- seals and probes tables and views that other roles own. Item numbers refer to issue 10.
BEGIN;
SELECT plan(45);
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;

-- ---- PUBLIC (item 16) ---------------------------------------------------------------------------
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE p.pronamespace = 'crm_core'::regnamespace
         AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
    ARRAY[
        -- the ledger API the application calls
        'crm_core.version()',
        'crm_core.account_balance(bigint)',
        'crm_core.account_balance(bigint,timestamp with time zone)',
        'crm_core.account_rollup_balance(bigint)',
        'crm_core.check_balances()',
        'crm_core.unbalanced_entries()',
        'crm_core.post_entry(bigint,jsonb,text,date,text,text,jsonb)',
        'crm_core.post_entries(bigint,jsonb)',
        'crm_core.reverse_entry(bigint,text)',
        'crm_core.subledger_balance(bigint,bigint)',
        'crm_core.subledger_balance(bigint,bigint,timestamp with time zone)',
        -- the journal tables' CHECK constraints (PostgreSQL checks EXECUTE for whoever writes a row)
        'crm_core.entry_valid(text,bigint,bigint)',
        'crm_core.line_amount_valid(numeric,numeric)',
        -- called by that API with the caller's rights
        'crm_core._subledger_net(bigint,bigint,bigint,timestamp with time zone)',
        'crm_core._reverse_entry(bigint,bigint,text)',
        'crm_core._subledger_index_totals()',
        'crm_core._subledger_index_lines(bigint,bigint)',
        -- PostgreSQL checks EXECUTE when it clones a row trigger (the append-only guard, the
        -- audit trigger) onto a partition that a table's owner creates
        'crm_core.append_only_guard()',
        'crm_core.audit_trigger()',
        -- called by the status views for whoever may read them (catalog reads, arithmetic; the
        -- row count answers only roles that may read crm_core.partitioned_tables)
        'crm_core._partition_bounds(regclass)',
        'crm_core._partition_range(pg_node_tree)',
        'crm_core._default_rows(regclass)',
        'crm_core._matview_next_due(timestamp with time zone,interval,timestamp with time zone)',
        -- tenant isolation (docs/tenants.md): the policies call current_business() as the
        -- querying role; table owners isolate their own tables (each call does only what its
        -- caller could: ALTER TABLE and CREATE POLICY need the table's owner), and the
        -- partitions a role creates under an isolated table are isolated as that role
        'crm_core.current_business()',
        'crm_core.tenant_guard()',
        'crm_core.enable_tenant_isolation(regclass)',
        'crm_core.disable_tenant_isolation(regclass)',
        'crm_core._apply_tenant_isolation(regclass,name,boolean)',
        'crm_core._check_tenant_table(regclass,name)'],
    'PUBLIC may execute the ledger API and the status views'' helpers, no internal function');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'crm_core'::regnamespace AND p.prosecdef
                   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) AS c(setting)
                                   WHERE c.setting LIKE 'search\_path=%')),
          -- The C event trigger resolves the statement's own names with the session's
          -- search_path, as PostgreSQL is about to; every query it runs is schema-qualified.
          ARRAY['crm_core.guard_ddl_command_start()'],
          'every other SECURITY DEFINER function pins its search_path');

-- ---- the application role (item 11) ---------------------------------------------------------
INSERT INTO crm_core.business (id, name) VALUES (96001, 'roles test');
INSERT INTO crm_core.account (id, business_id, code, name, kind, currency)
VALUES (96001, 96001, 'cash', 'Cash', 'asset', 'EUR'), (96002, 96001, 'fees', 'Fees', 'income', 'EUR');
SELECT crm_core.grant_business('crm_core_app', 96001);
SET LOCAL crm_core.business_id = '96001';
SET ROLE crm_core_app;
SELECT throws_ok('LOCK TABLE crm_core.journal_line IN ACCESS EXCLUSIVE MODE', '42501',
                 'permission denied for table journal_line',
                 'the application role cannot lock journal_line against readers');
SELECT throws_ok('LOCK TABLE crm_core.journal_entry IN ACCESS EXCLUSIVE MODE', '42501',
                 'permission denied for table journal_entry', 'nor journal_entry');
SELECT throws_ok('LOCK TABLE crm_core.journal_line IN SHARE MODE', '42501',
                 'permission denied for table journal_line', 'nor hold off every writer');
SELECT lives_ok($$
    INSERT INTO crm_core.journal_entry (business_id, id) VALUES (96001, 96001);
    INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit)
    VALUES (96001, 96001, 96001, 10, NULL), (96001, 96001, 96002, NULL, 10)$$,
    'it posts entries');
SELECT lives_ok($$
    INSERT INTO crm_core.journal_entry (business_id, id, status) VALUES (96001, 96002, 'draft');
    INSERT INTO crm_core.journal_line (business_id, id, entry_id, account_id, debit, credit)
    VALUES (96001, 96003, 96002, 96001, 5, NULL), (96001, 96004, 96002, 96002, NULL, 4);
    UPDATE crm_core.journal_line SET credit = 5 WHERE business_id = 96001 AND id = 96004;
    UPDATE crm_core.journal_entry SET memo = 'fee', status = 'posted'
     WHERE business_id = 96001 AND id = 96002$$,
    'it builds, edits and posts a draft');
SELECT throws_ok($$UPDATE crm_core.journal_entry SET posted_at = now() WHERE business_id = 96001$$,
                 '42501', 'permission denied for table journal_entry',
                 'the posting stamps are the ledger''s');
SELECT throws_ok($$DELETE FROM crm_core.journal_line WHERE business_id = 96001$$,
                 '42501', 'permission denied for table journal_line', 'it deletes no line');
SELECT throws_ok($$SELECT crm_core.service_try_lock(1)$$,
                 '42501', 'permission denied for function service_try_lock',
                 'it cannot take the service''s leader lock (item 12)');
SELECT throws_ok($$SELECT crm_core._matview_refresh_order('{1}', '{}', '{}')$$,
                 '42501', 'permission denied for function _matview_refresh_order',
                 'nor run the refresh planner (item 16)');
SELECT throws_ok($$SELECT * FROM crm_core.partitioned_tables$$,
                 '42501', 'permission denied for view partitioned_tables',
                 'nor read the maintenance status');
SELECT throws_ok($$SELECT crm_core._default_rows('crm_core.audit_log')$$,
                 '42501', 'permission denied for view partitioned_tables',
                 'nor count a default partition''s rows behind the view''s back');
RESET ROLE;
RESET crm_core.business_id;
SELECT is((SELECT count(*) FROM crm_core.unbalanced_entries() WHERE business_id = 96001), 0::bigint,
          'what the application role posted balances');

-- The application role holds the key that 0.1.0 serialized sealing with (item 12).
SELECT dblink_connect('squatter', format('dbname=%s host=%s port=%s user=%s', current_database(),
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_user)) AS connected;
SELECT dblink_exec('squatter', 'SET ROLE crm_core_app');
SELECT ok((SELECT locked FROM dblink('squatter', $$SELECT pg_try_advisory_lock(hashtext('crm_core.seal_ledger'))$$)
           AS t(locked boolean)), 'the application role holds the key 0.1.0 sealed under');
SET LOCAL lock_timeout = '200ms';
SELECT lives_ok($$SELECT * FROM crm_core.seal_ledger()$$, 'sealing does not wait for it');
SET LOCAL lock_timeout = 0;
SELECT dblink_disconnect('squatter');

-- ---- crm_core_service (item 13) ----------------------------------------------------------------
SELECT ok((SELECT NOT rolcanlogin AND NOT rolsuper AND NOT rolbypassrls FROM pg_roles
           WHERE rolname = 'crm_core_service'), 'crm_core_service is a group role without login or superuser');
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE p.pronamespace = 'crm_core'::regnamespace
         AND has_function_privilege('crm_core_service', p.oid, 'EXECUTE')
         AND NOT has_function_privilege('public', p.oid, 'EXECUTE')$$,
    ARRAY['crm_core.run_maintenance(boolean,regclass,integer)',
          'crm_core.concurrent_retirements()',
          'crm_core.finish_retirement(regclass,regclass)',
          'crm_core.run_job(text,boolean,double precision,interval,interval)',
          'crm_core.refresh_due()',
          'crm_core.seal_ledger(integer)',
          'crm_core.service_try_lock(bigint)',
          'crm_core.service_unlock(bigint)',
          'crm_core.service_leader_beat(bigint,text)',
          'crm_core.service_leader(bigint)',
          'crm_core.prepared_ledger_transactions()'],
    'crm_core_service executes its jobs (built-in, concurrent retention, registered), its lock and leader functions and the probes');
SELECT set_eq(
    $$SELECT c.oid::regclass::text || ' ' || p.privilege
        FROM pg_class c
        CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                                'TRIGGER']) AS p(privilege)
       WHERE c.relnamespace = 'crm_core'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
         AND has_table_privilege('crm_core_service', c.oid, p.privilege)$$,
    ARRAY['crm_core.partitioned_tables SELECT', 'crm_core.matview_status SELECT',
          'crm_core.seal_status SELECT', 'crm_core.jobs SELECT', 'crm_core.account SELECT',
          'crm_core.journal_entry SELECT', 'crm_core.journal_line SELECT',
          'crm_core.account_balance_slot SELECT',
          -- what seal_status and account_balances read as their caller under tenant isolation
          'crm_core.business SELECT', 'crm_core.ledger_block SELECT',
          'crm_core.ledger_sealed_entry SELECT', 'crm_core.account_balances SELECT'],
    'it reads the status views and what the ledger checks read, and writes no table');

CREATE ROLE svc_owner;
CREATE SCHEMA svc_t AUTHORIZATION svc_owner;
SET ROLE svc_owner;
CREATE TABLE svc_t.events (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE svc_t.events_default PARTITION OF svc_t.events DEFAULT;
INSERT INTO svc_t.events VALUES (now() - interval '1 year');
CREATE TABLE svc_t.src (n int);
INSERT INTO svc_t.src VALUES (1), (2);
CREATE MATERIALIZED VIEW svc_t.totals AS SELECT sum(n) AS total FROM svc_t.src;
RESET ROLE;
SELECT is((SELECT count(*) FROM crm_core.partition_by_time('svc_t.events', 'at', '1 day', 0)),
          1::bigint, 'a superuser registers a table another role owns');
SELECT crm_core.alter_partitioning('svc_t.events', premake => 2) IS NOT NULL AS altered;
SELECT crm_core.register_matview('svc_t.totals', '1 minute', concurrently => false);
SET ROLE svc_owner;
INSERT INTO svc_t.src VALUES (3);
RESET ROLE;

-- The service role cannot even name these objects (no USAGE on svc_t): their OIDs, for later.
CREATE TEMP TABLE svc_objects AS
    SELECT 'svc_t.events'::regclass::oid AS events, 'svc_t.totals'::regclass::oid AS totals;
GRANT SELECT ON svc_objects TO crm_core_service;

SET ROLE crm_core_service;
SELECT is((SELECT array_agg(action ORDER BY action) FROM crm_core.run_maintenance()
           WHERE parent::oid = (SELECT events FROM svc_objects) OR action LIKE 'refresh%'),
          ARRAY['created', 'created', 'refreshed'],
          'as crm_core_service, maintenance premakes the owner''s partitions and refreshes due views');
SELECT lives_ok($$SELECT * FROM crm_core.refresh_due()$$, 'refresh_due() runs as crm_core_service');
SELECT lives_ok($$SELECT * FROM crm_core.seal_ledger()$$, 'seal_ledger() runs as crm_core_service');
SELECT is((SELECT default_rows FROM crm_core.partitioned_tables
           WHERE parent::oid = (SELECT events FROM svc_objects)),
          1::bigint, 'it reads the maintenance status, rows in the default partition included');
SELECT is((SELECT count(*) FROM crm_core.matview_status
           WHERE view::oid = (SELECT totals FROM svc_objects) AND last_status = 'refreshed'),
          1::bigint, 'and the views'' status');
SELECT lives_ok($$SELECT count(*) FROM crm_core.seal_status$$, 'and the seal status');
SELECT is((SELECT count(*) FROM crm_core.unbalanced_entries() WHERE business_id = 96001), 0::bigint,
          'it runs the ledger checks');
SELECT lives_ok($$SELECT count(*) FROM crm_core.check_balances()$$, 'both of them');
SELECT lives_ok($$SELECT count(*) FROM crm_core.prepared_ledger_transactions()$$,
                'and lists prepared transactions holding postings');
SELECT throws_ok($$SELECT crm_core.service_leader_beat(96001, 'seal')$$,
                 '55000', 'this session does not hold the leader lock 96001',
                 'only the lock holder records a leader''s job');
SELECT ok(crm_core.service_try_lock(96001), 'it takes the leader lock');
SELECT is((SELECT pid FROM crm_core.service_leader(96001)), pg_backend_pid(),
          'and is seen holding it');
SELECT lives_ok($$SELECT crm_core.service_leader_beat(96001, 'seal')$$, 'it records the job it ran');
SELECT is((SELECT last_job || ' ' || (last_job_at IS NOT NULL) FROM crm_core.service_leader(96001)),
          'seal true', 'which every instance reads');
SELECT ok(crm_core.service_unlock(96001), 'and releases it');
SELECT is((SELECT pid FROM crm_core.service_leader(96001)), NULL, 'then nobody holds it');
SELECT throws_ok($$INSERT INTO crm_core.journal_entry (business_id) VALUES (96001)$$,
                 '42501', 'permission denied for table journal_entry', 'it posts nothing');
SELECT throws_ok($$SELECT crm_core._execute_as_owner((SELECT events FROM svc_objects), 'SELECT 1')$$,
                 '42501', 'permission denied for function _execute_as_owner',
                 'it cannot run SQL as a table''s owner');
SELECT throws_ok($$SELECT crm_core.partition_by_time(0, 'n', '1 day', 1)$$,
                 '42501', 'permission denied for function partition_by_time',
                 'nor register tables');
SELECT throws_ok($$SELECT * FROM svc_t.events$$,
                 '42501', 'permission denied for schema svc_t', 'nor read the tables it maintains');
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT c.relowner::regrole::text) FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'svc_t.events'::regclass),
          ARRAY['svc_owner'], 'the partitions it made are the owner''s');

-- ---- running SQL as a table's owner is refused to roles not in that owner's role ----------------
GRANT USAGE ON SCHEMA crm_core TO svc_owner;
GRANT EXECUTE ON FUNCTION crm_core._execute_as_owner(regclass, text),
                          crm_core._select_as_owner(regclass, text) TO svc_owner;
SET ROLE svc_owner;
SELECT throws_ok($$SELECT crm_core._execute_as_owner('crm_core.audit_log', 'SELECT 1')$$,
                 '42501', 'must be a member of role postgres to act as the owner of crm_core.audit_log',
                 'even with EXECUTE, a role acts only as owners it already is');
SELECT is(crm_core._select_as_owner('svc_t.events', 'SELECT count(*) FROM svc_t.events'), 1::bigint,
          'and as the owner of its own tables');
RESET ROLE;
SELECT throws_ok($$SELECT crm_core._select_as_owner('svc_t.events', 'SELECT 1')$$,
                 '42804', '_select_as_owner needs a query returning one bigint column',
                 'a query of another shape is refused');
SELECT throws_ok($$SELECT crm_core._execute_as_owner(0, 'SELECT 1')$$,
                 '42P01', 'relation with OID 0 does not exist', 'an unknown relation is refused');

SELECT * FROM finish();
ROLLBACK;
