-- Reminders: templates checked when saved, rules, blocks, run_dunning (rendered messages,
-- cooldown, dedup, promises, blocks, min_amount, buckets), and the outbox (claim, done,
-- failed with backoff, dead letters).
BEGIN;
SELECT * FROM no_plan();
\ir lib/fixture.sql

-- templates and rules: bad input refused when saved
SELECT throws_ok('INSERT INTO collections.dunning_template (business_id, code, channel, body) VALUES (71, ''bad'', ''sms'', ''Pay {{amount}} now'')',
                 '22023', 'template body: unknown placeholder {{amount}} at character 5; known: {{customer_name}}, {{external_ref}}, {{amount_due}}, {{amount_overdue}}, {{days_past_due}}, {{next_due_date}}, {{next_due_amount}}, {{currency}}, {{bucket}}',
                 'a template with an unknown placeholder is refused when saved');
SELECT throws_ok('INSERT INTO collections.dunning_template (business_id, code, channel, body) VALUES (71, ''bad'', ''sms'', ''Pay {{amount_due'')',
                 '22023', 'template body: placeholder at character 5 is not closed with }}', 'an unclosed placeholder is refused');
SELECT throws_ok('INSERT INTO collections.dunning_template (business_id, code, channel, body) VALUES (71, ''bad'', ''email'', ''Pay'')',
                 '23502', 'email template bad needs a subject', 'an email template needs a subject');
SELECT throws_ok('INSERT INTO collections.dunning_template (business_id, code, channel, subject, body) VALUES (71, ''bad'', ''email'', ''{{x}}'', ''Pay'')',
                 '22023', 'template subject: unknown placeholder {{x}} at character 1; known: {{customer_name}}, {{external_ref}}, {{amount_due}}, {{amount_overdue}}, {{days_past_due}}, {{next_due_date}}, {{next_due_amount}}, {{currency}}, {{bucket}}',
                 'the subject is checked too');
INSERT INTO collections.dunning_template (business_id, id, code, channel, subject, body) VALUES
    (71, 8401, 'first', 'sms', NULL, 'Hello {{customer_name}}, {{amount_overdue}} {{currency}} of {{external_ref}} is {{days_past_due}} days late ({{bucket}}). Total {{amount_due}}.'),
    (71, 8402, 'mail', 'email', 'Your debt {{external_ref}}', 'Next: {{next_due_amount}} on {{next_due_date}}.');
SELECT throws_ok('UPDATE collections.dunning_template SET body = ''{{nope}}'' WHERE id = 8401', '22023',
                 'template body: unknown placeholder {{nope}} at character 1; known: {{customer_name}}, {{external_ref}}, {{amount_due}}, {{amount_overdue}}, {{days_past_due}}, {{next_due_date}}, {{next_due_amount}}, {{currency}}, {{bucket}}',
                 'and when changed');
SELECT throws_ok('INSERT INTO collections.dunning_rule (business_id, template_id, min_dpd, max_dpd) VALUES (71, 8401, 30, 10)',
                 '23514', 'min_dpd 30 is greater than max_dpd 10', 'a rule with min > max is refused');
SELECT throws_ok('INSERT INTO collections.dunning_rule (business_id, template_id, min_dpd) VALUES (71, 999, 1)',
                 '23503', 'dunning template 999 does not exist in business 71', 'a rule with an unknown template is refused');
SELECT throws_ok('INSERT INTO collections.dunning_rule (business_id, template_id, min_dpd, bucket) VALUES (71, 8401, 1, ''lost'')',
                 '23503', 'bucket lost does not exist in business 71', 'a rule with an unknown bucket is refused');
INSERT INTO collections.dunning_rule (business_id, id, template_id, min_dpd, max_dpd, min_amount, cooldown)
VALUES (71, 8501, 8401, 1, 60, 50, interval '7 days'),
       (71, 8502, 8402, 25, NULL, NULL, interval '30 days');
INSERT INTO collections.dunning_rule (business_id, id, template_id, min_dpd, bucket, stop_on_open_promise)
VALUES (71, 8503, 8401, 1, '61-90', false);

-- debts: late 20 days (rule 1), late 40 days (rules 1, 2), small (under min_amount), blocked,
-- with a promise, current (no rule), and one with no email (rule 2 has no address)
INSERT INTO collections.customer (business_id, id, full_name, phone, email) VALUES
    (71, 8601, 'Jeanne Martin', '0611000001', 'jeanne@example.org'),
    (71, 8602, 'Paul Durand', '0611000002', 'paul@example.org'),
    (71, 8603, 'Small Sum', '0611000003', NULL),
    (71, 8604, 'Blocked Customer', '0611000004', NULL),
    (71, 8605, 'Promised', '0611000005', NULL),
    (71, 8606, 'Current', '0611000006', NULL),
    (71, 8607, 'No Mail', '0611000007', NULL);
INSERT INTO collections.debt_account (business_id, id, customer_id, external_ref, principal, due_on) VALUES
    (71, 8701, 8601, 'L-20', 1000, CURRENT_DATE - 20),
    (71, 8702, 8602, 'L-40', 2000, CURRENT_DATE - 40),
    (71, 8703, 8603, 'L-SMALL', 30, CURRENT_DATE - 20),
    (71, 8704, 8604, 'L-BLOCKED', 1000, CURRENT_DATE - 20),
    (71, 8705, 8605, 'L-PROMISED', 1000, CURRENT_DATE - 20),
    (71, 8706, 8606, 'L-CURRENT', 1000, CURRENT_DATE + 20),
    (71, 8707, 8607, 'L-NOMAIL', 1000, CURRENT_DATE - 40);
INSERT INTO collections.dunning_block (business_id, customer_id, reason, blocked_until) VALUES (71, 8604, 'dispute', CURRENT_DATE + 30);
SELECT collections.promise_to_pay(8705, 100, CURRENT_DATE + 5) AS promise \gset

SELECT is((SELECT format('%s/%s', messages_queued, skipped_without_recipient) FROM collections.run_dunning()), '4/1',
          'run_dunning: one message per eligible (rule, debt); one debt without an email address');
SELECT is((SELECT array_agg(format('%s:%s', d.external_ref, o.rule_id) ORDER BY d.external_ref, o.rule_id)
             FROM collections.outbox o JOIN collections.debt_account d ON d.business_id = o.business_id AND d.id = o.debt_account_id),
          ARRAY['L-20:8501', 'L-40:8501', 'L-40:8502', 'L-NOMAIL:8501'],
          'blocked, promised, current and small debts get nothing');
SELECT is((SELECT body FROM collections.outbox WHERE debt_account_id = 8701),
          'Hello Jeanne Martin, 1000.00 EUR of L-20 is 20 days late (1-30). Total 1000.00.',
          'the message is rendered from the debt''s position');
SELECT is((SELECT format('%s|%s|%s', recipient, subject, body) FROM collections.outbox WHERE debt_account_id = 8702 AND rule_id = 8502),
          'paul@example.org|Your debt L-40|Next:  on .', 'an email goes to the customer''s address, subject rendered');
SELECT is((SELECT recipient FROM collections.outbox WHERE debt_account_id = 8701), '+33611000001', 'an sms goes to the E.164 phone');
SELECT is((SELECT format('%s/%s', messages_queued, skipped_without_recipient) FROM collections.run_dunning()), '0/1',
          'a second run the same day adds nothing (and reports the debt without an address again)');
SELECT is((SELECT messages_queued FROM collections.run_dunning(CURRENT_DATE + 3)), 0::bigint, 'nothing within the cooldown');
SELECT is((SELECT messages_queued FROM collections.run_dunning(CURRENT_DATE + 7)), 5::bigint,
          'after the 7-day cooldown rule 1 fires again (4 debts); rule 2 reaches L-20 (27 days), not L-40 again (30-day cooldown)');
SELECT ok(EXISTS (SELECT FROM collections.outbox WHERE debt_account_id = 8705 AND as_of = CURRENT_DATE + 7),
          'a promise whose due date has passed (not yet broken by run_promises) no longer holds reminders back');
SELECT throws_ok(format('INSERT INTO collections.outbox (business_id, channel, recipient, body, debt_account_id, customer_id, as_of, dedup_key)
                         SELECT business_id, channel, recipient, body, debt_account_id, customer_id, as_of, dedup_key
                           FROM collections.outbox WHERE debt_account_id = 8701 LIMIT 1'),
                 '23505', NULL, 'the dedup key is unique');
SELECT is((SELECT messages_queued FROM collections.run_dunning(CURRENT_DATE + 45)) >= 1, true,
          'the bucket rule fires when the days reach its bucket');
SELECT ok((SELECT bool_and(rule_id <> 8503 OR body LIKE '%(61-90)%') FROM collections.outbox), 'with that bucket in the message');

-- the outbox
SELECT is((SELECT count(*)::int FROM collections.claim_outbox('sms', 2)), 2, 'claim hands out up to batch messages');
SELECT is((SELECT count(*)::int FROM collections.outbox WHERE status = 'sending'), 2, 'marked sending');
SELECT min(id) AS m1, max(id) AS m2 FROM collections.outbox WHERE status = 'sending' \gset
SELECT lives_ok(format('SELECT collections.outbox_done(%s, ''provider-id-1'')', :m1), 'done');
SELECT is((SELECT status || ' ' || result FROM collections.outbox WHERE id = :m1), 'sent provider-id-1', 'sent, with the provider''s answer');
SELECT throws_ok(format('SELECT collections.outbox_done(%s)', :m1), '55000',
                 format('outbox message %s is sent, not being sent', :m1), 'an outcome is reported once');
SELECT throws_ok('SELECT collections.outbox_done(999999999)', '23503', 'outbox message 999999999 does not exist',
                 'an unknown message is refused');
SELECT is(collections.outbox_failed(:m2, 'timeout', 2), 'pending', 'a failure: tried again');
SELECT ok((SELECT next_attempt_at > now() + interval '50 seconds' AND last_error = 'timeout' FROM collections.outbox WHERE id = :m2),
          'after the backoff (1 minute less jitter)');
SELECT is((SELECT count(*)::int FROM collections.claim_outbox('sms', 100) WHERE id = :m2), 0, 'not handed out before its time');
UPDATE collections.outbox SET next_attempt_at = now() - interval '1 second' WHERE id = :m2;
SELECT is((SELECT count(*)::int FROM collections.claim_outbox('sms', 100) WHERE id = :m2), 1, 'handed out again when due');
SELECT is(collections.outbox_failed(:m2, 'timeout again', 2), 'dead', 'a dead letter after max_attempts');
SELECT is(collections._retry_delay_ms(3, 60000, 3600000, 0, 0.5), 240000::bigint, 'backoff doubles (crm_core''s rule)');
SELECT throws_ok('SELECT collections.claim_outbox(''pigeon'', 10)', '22023', 'channel must be sms, email, letter or call, not ''pigeon''',
                 'an unknown channel is refused');
SELECT throws_ok('SELECT collections.claim_outbox(''sms'', 0)', '22023', 'batch must be from 1 to 10000, not 0', 'a bad batch is refused');
SELECT throws_ok(format('SELECT collections.outbox_failed(%s, ''x'', 0)', :m2), '22023', 'max_attempts must be at least 1, not 0',
                 'a bad max_attempts is refused');
SELECT throws_ok(format('UPDATE collections.outbox SET body = ''changed'' WHERE id = %s', :m1), '55000',
                 format('outbox message %s is what was queued: its content does not change', :m1), 'queued content is fixed');
SELECT throws_ok(format('UPDATE collections.outbox SET status = ''pending'' WHERE id = %s', :m1), '55000',
                 format('outbox message %s cannot go from sent to pending', :m1), 'a sent message is not sent again');
-- an expired lease hands the message out again
SELECT min(id) AS m3 FROM collections.outbox WHERE status = 'sending' \gset
UPDATE collections.outbox SET next_attempt_at = now() - interval '1 second' WHERE id = :m3;
SELECT is((SELECT array_agg(id) FROM collections.claim_outbox('sms', 1)), ARRAY[:m3]::bigint[],
          'a message whose lease ran out is handed out again');

-- tenant isolation
SELECT pg_temp.as_app(72);
SELECT is((SELECT count(*)::int FROM collections.claim_outbox('sms', 100)), 0, 'a worker of business 72 gets none of 71''s messages');
SELECT is((SELECT count(*)::int FROM collections.dunning_rule), 0, 'nor sees its rules');
RESET ROLE;
SELECT pg_temp.as_app(71);
SELECT throws_ok('SELECT * FROM collections.run_dunning()', '42501', 'permission denied for function run_dunning', 'the application does not run the job itself');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
