-- Demo: the collection workflow of crm_collections (docs/collections.md, "Workflow") on the
-- demo business: agents, assignments, actions, a promise to pay, reminder templates and rules,
-- and one dunning run, then what it would send. Runs once, when crm_collections is installed
-- and business 1 is set up for collections (the collections demo does both); otherwise says so.
SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'crm_collections')
       AND to_regclass('collections.business_settings') IS NOT NULL AS workflow_possible \gset
\if :workflow_possible
SELECT EXISTS (SELECT FROM collections.business_settings WHERE business_id = 1)
       AND NOT EXISTS (SELECT FROM collections.agent WHERE business_id = 1) AS fresh_workflow \gset
\else
\echo 'workflow demo skipped: CREATE EXTENSION crm_collections and SELECT collections.setup_business(1) first'
SELECT false AS fresh_workflow \gset
\endif
\if :fresh_workflow
\o /dev/null
BEGIN;
INSERT INTO collections.agent (business_id, name, team, max_load)
VALUES (1, 'Ana Lopez', 'early', 200), (1, 'Ben Okafor', 'early', 200), (1, 'Chloé Petit', 'late', NULL);
-- Every active debt to team "early", balanced.
SELECT count(*) FROM collections.reassign(1, to_team => 'early', unassigned_only => true);
-- A morning of calls on the longest unpaid debts, one promise.
WITH worked AS (
    SELECT d.id, row_number() OVER (ORDER BY d.unpaid_since NULLS LAST, d.id) AS n, a.agent_id
      FROM collections.debt_account d
      JOIN collections.current_assignment a ON a.business_id = d.business_id AND a.debt_account_id = d.id
     WHERE d.business_id = 1 AND d.status = 'active'
     LIMIT 6)
SELECT collections.record_action(w.id, 'call', CASE w.n % 3 WHEN 0 THEN 'promise_to_pay' WHEN 1 THEN 'no_answer' ELSE 'callback' END,
                                 w.agent_id, 'demo call')
  FROM worked w;
SELECT collections.promise_to_pay(d.id, 50, CURRENT_DATE + 5, a.agent_id, 'pays on Friday')
  FROM collections.debt_account d
  JOIN collections.current_assignment a ON a.business_id = d.business_id AND a.debt_account_id = d.id
 WHERE d.business_id = 1 AND d.status = 'active'
 ORDER BY d.unpaid_since NULLS LAST, d.id LIMIT 1;
INSERT INTO collections.dunning_template (business_id, code, channel, subject, body) VALUES
    (1, 'reminder-sms', 'sms', NULL,
     'Hello {{customer_name}}, {{amount_overdue}} {{currency}} on {{external_ref}} is {{days_past_due}} days late. Please pay today.'),
    (1, 'reminder-email', 'email', 'Your account {{external_ref}}',
     'Dear {{customer_name}}, you owe {{amount_due}} {{currency}} ({{bucket}}).');
INSERT INTO collections.dunning_rule (business_id, name, template_id, min_dpd, max_dpd, cooldown)
SELECT 1, 'first reminder', id, 1, 30, interval '7 days' FROM collections.dunning_template WHERE business_id = 1 AND code = 'reminder-sms'
UNION ALL
SELECT 1, 'late notice', id, 31, NULL, interval '14 days' FROM collections.dunning_template WHERE business_id = 1 AND code = 'reminder-email';
COMMIT;
SELECT * FROM collections.run_dunning(CURRENT_DATE);
\o
\echo
\echo 'Workflow demo: agents, assignments, calls, a promise, reminder rules; run_dunning queued:'
SELECT o.channel, o.recipient, coalesce(o.subject || ': ', '') || o.body AS message
  FROM collections.outbox o WHERE o.business_id = 1 AND o.status = 'pending' ORDER BY o.id LIMIT 10;
SELECT a.agent_name, count(*) AS debts FROM collections.current_assignment a WHERE a.business_id = 1 GROUP BY 1 ORDER BY 1;
\endif
