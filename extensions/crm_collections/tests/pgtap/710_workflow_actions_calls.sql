-- The workflow's dictionaries, actions (append-only, partitioned, outcomes per business) and
-- call sessions whose status is always their latest status update.
BEGIN;
SELECT * FROM no_plan();
\ir lib/fixture.sql

SELECT ok((SELECT count(*) FROM collections.action_outcome WHERE business_id = 71) >= 10
          AND (SELECT count(*) FROM collections.call_status WHERE business_id = 72) = 8,
          'setting a business up gives it the default outcomes and call statuses');
SELECT is(collections.seed_workflow_dictionaries(71), 0, 'seeding again adds nothing');
SELECT ok(EXISTS (SELECT FROM pg_inherits WHERE inhparent = 'collections.action'::regclass
                    AND inhrelid::regclass::text LIKE 'collections.action_p%'),
          'setting a business up made the monthly partitions of actions');

INSERT INTO collections.agent (business_id, id, name) VALUES (71, 8101, 'Ana');
SELECT pg_temp.debt(500, NULL, 0, 'C-1') AS d1 \gset
SELECT customer_id AS c1 FROM collections.debt_account WHERE id = :d1 \gset

SELECT collections.record_action(:d1, 'call', 'promise_to_pay', 8101, 'will pay friday') AS act \gset
SELECT is((SELECT customer_id FROM collections.action WHERE id = :act), :c1::bigint, 'an action keeps the debt''s customer');
SELECT ok((SELECT last_contact_at FROM collections.customer WHERE id = :c1) IS NOT NULL,
          'a contact moves the customer''s last_contact_at');
SELECT throws_ok(format('SELECT collections.record_action(%s, ''call'', ''vanished'')', :d1), '23503',
                 'outcome ''vanished'' is not an active outcome of business 71', 'an outcome outside the dictionary is refused');
SELECT throws_ok(format('SELECT collections.record_action(%s, ''sms'', ''no_answer'')', :d1), '22023',
                 'outcome no_answer does not apply to a sms (only to call, visit)', 'an outcome of another kind of action is refused');
SELECT throws_ok(format('SELECT collections.record_action(%s, ''call'', ''refused'', 999)', :d1), '23503',
                 'agent 999 does not exist in business 71', 'an unknown agent is refused');
SELECT throws_ok('INSERT INTO collections.action (business_id, debt_account_id, kind, outcome) VALUES (71, 999999, ''call'', ''refused'')',
                 '23503', 'debt account 999999 does not exist in business 71', 'an unknown debt is refused');
SELECT throws_ok(format('SELECT collections.record_action(%s, ''fax'', ''refused'')', :d1), '23514',
                 '''fax'' is not a kind of action', 'an unknown kind of action is refused');
UPDATE collections.action_outcome SET active = false WHERE business_id = 71 AND code = 'dispute';
SELECT throws_ok(format('SELECT collections.record_action(%s, ''call'', ''dispute'')', :d1), '23503',
                 'outcome ''dispute'' is not an active outcome of business 71', 'an inactive outcome is refused');
SELECT throws_ok(format('UPDATE collections.action SET note = ''x'' WHERE id = %s', :act), '55000',
                 format('UPDATE on %s is refused: its rows are append-only',
                        (SELECT tableoid::regclass FROM collections.action WHERE id = :act)),
                 'actions are append-only');

-- call sessions
INSERT INTO collections.call_session (business_id, id, call_sid, customer_id, debt_account_id, initiated_at)
VALUES (71, 8201, 'CA-1', :c1, :d1, now() - interval '5 minutes');
SELECT is((SELECT status FROM collections.call_session WHERE id = 8201), 'queued', 'a new session starts queued');
SELECT is((SELECT count(*)::int FROM collections.call_status_update WHERE call_session_id = 8201), 1,
          'its first status is its first update');
SELECT ok(collections.record_call_status(71, 'CA-1', 'ringing', NULL, now() - interval '4 minutes') > 0, 'a callback by call_sid');
INSERT INTO collections.call_status_update (business_id, call_session_id, status, at)
VALUES (71, 8201, 'completed', now() - interval '1 minute');
-- an older update arriving late is history only
SELECT collections.record_call_status(71, 'CA-1', 'in-progress', 'late callback', now() - interval '3 minutes') AS late \gset
SELECT is((SELECT status || ' ' || (ended_at IS NOT NULL) FROM collections.call_session WHERE id = 8201), 'completed true',
          'the session shows its latest update, whatever the order they arrive in; a final status ends it');
SELECT is((SELECT status FROM collections.call_session s WHERE id = 8201),
          (SELECT status FROM collections.call_status_update WHERE call_session_id = 8201 ORDER BY at DESC, id DESC LIMIT 1),
          'status = the latest status update');
SELECT throws_ok(format('INSERT INTO collections.call_session (business_id, call_sid, customer_id) VALUES (71, ''CA-1'', %s)', :c1),
                 '23505', 'call_sid CA-1 is already call session 8201 of business 71', 'call_sid is unique per business');
INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (72, 8102, 'Ravi Kumar', '98765 43210');
SELECT lives_ok('INSERT INTO collections.call_session (business_id, call_sid, customer_id) VALUES (72, ''CA-1'', 8102)',
                'another business may have the same call_sid');
SELECT throws_ok('SELECT collections.record_call_status(71, ''CA-1'', ''teleported'')', '23503',
                 'call status ''teleported'' is not an active call status of business 71', 'an unknown status is refused');
SELECT throws_ok('SELECT collections.record_call_status(71, ''CA-404'', ''ringing'')', '23503',
                 'no call session of business 71 has call_sid CA-404', 'an unknown call_sid is refused');
SELECT throws_ok('INSERT INTO collections.call_status_update (business_id, call_session_id, status) VALUES (71, 999, ''ringing'')',
                 '23503', 'call session 999 does not exist in business 71', 'an update of an unknown session is refused');
SELECT pg_temp.customer('Other') AS c2 \gset
SELECT throws_ok(format('INSERT INTO collections.call_session (business_id, call_sid, customer_id, debt_account_id) VALUES (71, ''CA-2'', %s, %s)',
                        :c2, :d1),
                 '23503', format('debt account %s is not a debt of customer %s in business 71', :d1, :c2),
                 'a session''s debt must be its customer''s');
SELECT pg_temp.as_app(71);
SELECT throws_ok('UPDATE collections.call_session SET status = ''failed'' WHERE id = 8201', '42501', 'permission denied for table call_session',
                 'the application cannot set a session''s status');
SELECT lives_ok('UPDATE collections.call_session SET duration_seconds = 62 WHERE id = 8201', 'it records the duration');
RESET ROLE;
-- even a role that was granted UPDATE on the status does not set it by hand
GRANT UPDATE (status) ON collections.call_session TO crm_core_app;
SELECT pg_temp.as_app(71);
SELECT throws_ok('UPDATE collections.call_session SET status = ''failed'' WHERE id = 8201', '55000',
                 'the status of call session 8201 is its latest status update: it is not set by hand',
                 'a status is never set by hand, whatever the grants');
RESET ROLE;
SELECT throws_ok(format('DELETE FROM collections.call_status_update WHERE id = %s', :late), '55000',
                 format('DELETE on %s is refused: its rows are append-only',
                        (SELECT tableoid::regclass FROM collections.call_status_update WHERE id = :late)),
                 'status updates are append-only');

SELECT * FROM finish();
ROLLBACK;
