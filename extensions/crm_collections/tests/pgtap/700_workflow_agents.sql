-- The workflow's agents and assignments: history as validity ranges that never overlap per
-- debt (exclusion constraint), assign / unassign, the current_assignment view, bulk
-- reassignment by rule with balanced loads, the refusals, the audit and tenant isolation.
BEGIN;
SELECT * FROM no_plan();
\ir lib/fixture.sql

INSERT INTO collections.agent (business_id, id, name, team, max_load)
VALUES (71, 8001, 'Ana', 'early', NULL), (71, 8002, 'Ben', 'early', NULL), (71, 8003, 'Cy', 'late', 2),
       (71, 8004, 'Dee', 'late', NULL), (72, 8005, 'Eve', 'early', NULL);
INSERT INTO collections.agent (business_id, id, name, active) VALUES (71, 8006, 'Gone', false);
SELECT pg_temp.debt(1000, 4, 40, 'A-1') AS d1 \gset
SELECT pg_temp.debt(2000, 4, 10, 'A-2') AS d2 \gset

-- assign: history, never two current agents
SELECT collections.assign(:d1, 8001, now() - interval '10 days') AS a1 \gset
SELECT is((SELECT agent_id FROM collections.current_assignment WHERE debt_account_id = :d1), 8001::bigint,
          'assign: the debt is with its agent');
SELECT is(collections.assign(:d1, 8001), :a1::bigint, 'assigning the same agent again returns the current assignment');
SELECT collections.assign(:d1, 8002, now() - interval '1 day', 'rotation') AS a2 \gset
SELECT is((SELECT array_agg(agent_id || ':' || upper_inf(valid) ORDER BY lower(valid)) FROM collections.assignment
            WHERE debt_account_id = :d1), ARRAY['8001:false', '8002:true'],
          'reassigning ends the old range where the new one starts: the history stays');
SELECT is((SELECT upper(valid) FROM collections.assignment WHERE id = :a1),
          (SELECT lower(valid) FROM collections.assignment WHERE id = :a2), 'the ranges meet, without overlap');
SELECT is((SELECT count(*)::int FROM collections.current_assignment WHERE debt_account_id = :d1), 1,
          'one current agent per debt');

-- bad input
SELECT throws_ok(format('SELECT collections.assign(%s, 999999)', :d1), '23503',
                 'agent 999999 does not exist in business 71', 'an unknown agent is refused');
SELECT throws_ok('SELECT collections.assign(999999, 8001)', '23503',
                 'debt account 999999 does not exist', 'an unknown debt is refused');
SELECT throws_ok(format('SELECT collections.assign(%s, 8005)', :d1), '23503',
                 'agent 8005 does not exist in business 71', 'another business''s agent is unknown here');
SELECT throws_ok(format('SELECT collections.assign(%s, 8006)', :d1), '55000',
                 'agent 8006 (Gone) is inactive', 'an inactive agent gets no debts');
SELECT throws_ok(format('SELECT collections.assign(%s, 8003, now() - interval ''2 days'')', :d1), '23P01',
                 format('debt account %s is assigned to agent 8002 since %s: a new assignment must start after that, not at %s',
                        :d1, (SELECT lower(valid) FROM collections.assignment WHERE id = :a2),
                        now() - interval '2 days'),
                 'assign: an assignment starting before the current one is refused');
SELECT throws_ok(format('INSERT INTO collections.assignment (business_id, debt_account_id, agent_id, valid)
                         VALUES (71, %s, 8003, tstzrange(now() - interval ''5 days'', now() - interval ''3 days''))', :d1),
                 '23P01',
                 format('debt account %s is already assigned to agent 8001 over %s, which overlaps %s', :d1,
                        (SELECT valid FROM collections.assignment WHERE id = :a1),
                        tstzrange(now() - interval '5 days', now() - interval '3 days')),
                 'an overlapping range inserted directly is refused, naming the overlap');
-- The exclusion constraint holds even with the trigger out of the way.
ALTER TABLE collections.assignment DISABLE TRIGGER assignment_history;
SELECT throws_ok(format('INSERT INTO collections.assignment (business_id, debt_account_id, agent_id, valid)
                         VALUES (71, %s, 8003, tstzrange(now() - interval ''5 days'', NULL))', :d1),
                 '23P01', NULL, 'the exclusion constraint refuses two current agents by itself');
ALTER TABLE collections.assignment ENABLE TRIGGER assignment_history;
SELECT throws_ok(format('DELETE FROM collections.assignment WHERE id = %s', :a1), '55000',
                 format('assignment %s is history: it is ended, never deleted', :a1), 'assignments are not deleted');
SELECT throws_ok(format('UPDATE collections.assignment SET agent_id = 8004 WHERE id = %s', :a2), '55000',
                 format('assignment %s is history: only the end of an open assignment is set, once', :a2),
                 'an assignment''s agent is not rewritten');
SELECT throws_ok(format('UPDATE collections.assignment SET valid = tstzrange(lower(valid), now() - interval ''9 days'') WHERE id = %s', :a1),
                 '55000', format('assignment %s is history: only the end of an open assignment is set, once', :a1),
                 'an ended assignment is not moved');
SELECT throws_ok(format('UPDATE collections.assignment SET valid = tstzrange(lower(valid), lower(valid)) WHERE id = %s', :a2),
                 '22023', format('assignment %s starts at %s: it cannot end at %s', :a2,
                                 (SELECT lower(valid) FROM collections.assignment WHERE id = :a2),
                                 (SELECT lower(valid) FROM collections.assignment WHERE id = :a2)),
                 'an assignment cannot end before it starts');
SELECT ok(collections.unassign(:d1), 'unassign ends the current assignment');
SELECT is((SELECT count(*)::int FROM collections.current_assignment WHERE debt_account_id = :d1), 0, 'no current agent then');
SELECT ok(NOT collections.unassign(:d1), 'unassign of an unassigned debt: false');

-- audit of assignment changes
SELECT ok((SELECT count(*) FROM crm_core.audit_log WHERE table_name = 'collections.assignment'
            AND row_key->>'id' = :a1::text) >= 2, 'assignment changes are audited (insert and the end)');

-- bulk reassignment: the late bucket's debts go to team late, balanced within max_load
SELECT pg_temp.debt(100 + i, 2, 45 + i, 'BULK-' || i) FROM generate_series(1, 7) AS i;
SELECT collections.run_dpd() IS NOT NULL AS ran \gset
SELECT collections.assign(id, 8004, now() - interval '2 hours') FROM collections.debt_account WHERE external_ref = 'BULK-7';
SELECT is((SELECT count(*)::int FROM collections.reassign(71, to_team => 'late', bucket => '31-60',
                                                          at => now() - interval '1 hour')), 6,
          'reassign by bucket: the debts of the bucket not already with the team are selected');
SELECT is((SELECT array_agg(agent_id || '=' || n ORDER BY agent_id) FROM (
              SELECT agent_id, count(*) AS n FROM collections.current_assignment
               WHERE debt_account_id IN (SELECT id FROM collections.debt_account WHERE external_ref LIKE 'BULK-%')
               GROUP BY agent_id) x),
          ARRAY['8003=2', '8004=5'], 'loads level out within max_load: Cy (max 2) takes 2, Dee the rest');
SELECT is((SELECT count(*)::int FROM collections.reassign(71, to_team => 'late', bucket => '31-60',
                                                          at => now() - interval '50 minutes')), 0,
          'a second call finds nothing to move');
SELECT is((SELECT count(*)::int FROM collections.reassign(71, to_agents => ARRAY[8001, 8002], from_agent_id => 8004,
                                                        at => now() - interval '30 minutes')
            WHERE agent_id IS NOT NULL), 5, 'reassign from one agent to two');
SELECT is((SELECT array_agg(n ORDER BY agent_id) FROM (
              SELECT agent_id, count(*) AS n FROM collections.current_assignment WHERE agent_id IN (8001, 8002)
               GROUP BY agent_id) x), ARRAY[3, 2]::bigint[], 'dealt out evenly (3 and 2)');
UPDATE collections.agent SET max_load = 3 WHERE id IN (8001, 8002);
SELECT is((SELECT array_agg(coalesce(agent_id::text, 'none') ORDER BY debt_account_id)
             FROM collections.reassign(71, to_agents => ARRAY[8001, 8002], from_agent_id => 8003,
                                      at => now() - interval '10 minutes')),
          ARRAY['none', '8002'], 'max_load 3 each: one debt fits (the longest unpaid), the other stays where it was and comes back without an agent');
SELECT throws_ok('SELECT * FROM collections.reassign(71, to_agents => ARRAY[8001], to_team => ''x'')', '22023',
                 'give either to_agents or to_team', 'reassign needs one target');
SELECT throws_ok('SELECT * FROM collections.reassign(71, to_agents => ARRAY[8001, 8006])', '23503',
                 'agent 8006 is not an active agent of business 71', 'reassign to an inactive agent is refused');
SELECT throws_ok('SELECT * FROM collections.reassign(71, to_team => ''nobody'')', '22023',
                 'team nobody has no active agent in business 71', 'reassign to an empty team is refused');
SELECT throws_ok('SELECT * FROM collections.reassign(71, to_team => ''late'', bucket => ''9+'')', '23503',
                 'bucket 9+ does not exist in business 71', 'reassign with an unknown bucket is refused');

-- as the application, under tenant isolation
SELECT pg_temp.as_app(72);
SELECT is((SELECT count(*)::int FROM collections.assignment), 0, 'business 72 sees none of 71''s assignments');
SELECT is((SELECT count(*)::int FROM collections.agent), 1, 'nor its agents');
SELECT throws_ok(format('SELECT collections.assign(%s, 8005)', :d2), '23503',
                 format('debt account %s does not exist', :d2), 'nor can it assign 71''s debts');
RESET ROLE;
SELECT pg_temp.as_app(71);
SELECT ok(collections.assign(:d2, 8001) > 0, 'the application assigns its own debts');
SELECT throws_ok(format('DELETE FROM collections.assignment WHERE debt_account_id = %s', :d2), '42501', 'permission denied for table assignment',
                 'the application cannot delete assignments');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
