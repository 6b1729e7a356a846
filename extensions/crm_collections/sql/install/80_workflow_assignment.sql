-- The collection workflow, part 1: assigning debts to agents, unassigning, rebalancing
-- (the tables: 80_workflow_agents.sql).

-- The active agent with this id in a business, or 23503 / 55000 saying what is wrong.
CREATE FUNCTION collections._agent(business_id bigint, agent_id bigint) RETURNS collections.agent
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    found_agent collections.agent;
BEGIN
    SELECT * INTO found_agent FROM collections.agent a WHERE a.business_id = business_id AND a.id = agent_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'agent % does not exist in business %', coalesce(agent_id::text, 'NULL'), business_id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'See SELECT id, name FROM collections.agent WHERE active;';
    END IF;
    IF NOT found_agent.active THEN
        RAISE EXCEPTION 'agent % (%) is inactive', agent_id, found_agent.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Assign the debt to an active agent, or UPDATE collections.agent SET active = true first.';
    END IF;
    RETURN found_agent;
END;
$$;

-- Gives a debt to an agent from `at` on, ending its current assignment there. Returns the
-- assignment's id (the current one when the agent already has the debt).
CREATE FUNCTION collections.assign(debt_account_id bigint, agent_id bigint, at timestamptz DEFAULT now(),
                                   reason text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    debt collections.debt_account;
    current_row collections.assignment;
    new_id bigint;
BEGIN
    IF at IS NULL THEN
        RAISE EXCEPTION 'at is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    debt := collections._debt(debt_account_id);
    PERFORM collections._agent(debt.business_id, agent_id);
    -- One change of a debt's assignment at a time.
    PERFORM FROM collections.debt_account d WHERE d.business_id = debt.business_id AND d.id = debt.id
        FOR NO KEY UPDATE;
    SELECT * INTO current_row FROM collections.assignment s
     WHERE s.business_id = debt.business_id AND s.debt_account_id = debt.id AND upper_inf(s.valid);
    IF FOUND THEN
        IF current_row.agent_id = agent_id THEN
            RETURN current_row.id;
        END IF;
        IF lower(current_row.valid) >= at THEN
            RAISE EXCEPTION 'debt account % is assigned to agent % since %: a new assignment must start after that, not at %',
                            debt.id, current_row.agent_id, lower(current_row.valid), at
                USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'assignment_no_overlap',
                      TABLE = 'assignment', SCHEMA = 'collections',
                      HINT = 'Pass a later at (the default is now()).';
        END IF;
        UPDATE collections.assignment s SET valid = tstzrange(lower(s.valid), at)
         WHERE s.business_id = current_row.business_id AND s.id = current_row.id;
    END IF;
    INSERT INTO collections.assignment AS s (business_id, debt_account_id, agent_id, valid, reason)
    VALUES (debt.business_id, debt.id, agent_id, tstzrange(at, NULL), reason)
    RETURNING s.id INTO new_id;
    RETURN new_id;
END;
$$;
COMMENT ON FUNCTION collections.assign(bigint, bigint, timestamptz, text) IS
    'Assigns a debt to an agent from at (default now), ending its current assignment; returns the assignment id.';

-- Ends a debt's open assignment at `at`; false when it had none.
CREATE FUNCTION collections.unassign(debt_account_id bigint, at timestamptz DEFAULT now())
    RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    debt collections.debt_account := collections._debt(debt_account_id);
BEGIN
    IF at IS NULL THEN
        RAISE EXCEPTION 'at is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE collections.assignment s SET valid = tstzrange(lower(s.valid), at)
     WHERE s.business_id = debt.business_id AND s.debt_account_id = debt.id AND upper_inf(s.valid);
    RETURN FOUND;
END;
$$;
COMMENT ON FUNCTION collections.unassign(bigint, timestamptz) IS
    'Ends the open assignment of a debt at at (default now); false when it had none.';

-- How many of n new debts each agent takes so that the loads stay as level as their
-- capacities allow (lib/pure collections/workload.hpp).
CREATE FUNCTION collections._balance_quotas(loads bigint[], capacities bigint[], n bigint) RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'crm_collections_balance_quotas' LANGUAGE C IMMUTABLE;

-- Bulk reassignment by rule, in one call: the active debts of a business that match the rule
-- (bucket code as of the last run_dpd, branch, current agent, or only the unassigned ones) and
-- are not already with one of the target agents go to the target agents (to_agents, or the
-- active agents of to_team), each taking as many as keeps the loads level within max_load.
-- Debts are dealt out round-robin, the longest unpaid first. Returns one row per selected debt;
-- agent_id is NULL for a debt that no agent had room for (it stays where it was).
CREATE FUNCTION collections.reassign(business_id bigint, to_agents bigint[] DEFAULT NULL,
                                     to_team text DEFAULT NULL, bucket text DEFAULT NULL,
                                     branch text DEFAULT NULL, from_agent_id bigint DEFAULT NULL,
                                     unassigned_only boolean DEFAULT false,
                                     at timestamptz DEFAULT now(), reason text DEFAULT NULL)
    RETURNS TABLE (debt_account_id bigint, previous_agent_id bigint, agent_id bigint)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    target_ids bigint[];
    target_loads bigint[];
    target_capacities bigint[];
    quotas bigint[];
    selected bigint[];
    previous bigint[];
    chosen bigint[];
    missing bigint;
BEGIN
    IF business_id IS NULL OR at IS NULL OR unassigned_only IS NULL THEN
        RAISE EXCEPTION 'business_id, at and unassigned_only are required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF (to_agents IS NULL) = (to_team IS NULL) THEN
        RAISE EXCEPTION 'give either to_agents or to_team'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example to_agents => ARRAY[1, 2], or to_team => ''early''.';
    END IF;
    IF bucket IS NOT NULL AND NOT EXISTS (SELECT FROM collections.bucket b
                                          WHERE b.business_id = business_id AND b.code = bucket) THEN
        RAISE EXCEPTION 'bucket % does not exist in business %', bucket, business_id
            USING ERRCODE = 'foreign_key_violation', HINT = 'See SELECT code FROM collections.bucket;';
    END IF;
    IF from_agent_id IS NOT NULL AND NOT EXISTS (SELECT FROM collections.agent a
                                                 WHERE a.business_id = business_id AND a.id = from_agent_id) THEN
        RAISE EXCEPTION 'agent % does not exist in business %', from_agent_id, business_id
            USING ERRCODE = 'foreign_key_violation', HINT = 'See SELECT id, name FROM collections.agent;';
    END IF;
    IF to_agents IS NOT NULL THEN
        SELECT min(t.id) INTO missing FROM unnest(to_agents) AS t(id)
         WHERE NOT EXISTS (SELECT FROM collections.agent a
                            WHERE a.business_id = business_id AND a.id = t.id AND a.active);
        IF missing IS NOT NULL OR array_position(to_agents, NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'agent % is not an active agent of business %', coalesce(missing::text, 'NULL'), business_id
                USING ERRCODE = 'foreign_key_violation',
                      HINT = 'See SELECT id, name FROM collections.agent WHERE active;';
        END IF;
    END IF;
    -- The target agents with their loads (open assignments) and the room max_load leaves.
    SELECT array_agg(a.id ORDER BY a.id),
           array_agg((SELECT count(*) FROM collections.assignment s
                       WHERE s.business_id = a.business_id AND s.agent_id = a.id AND upper_inf(s.valid))
                     ORDER BY a.id),
           array_agg(a.max_load::bigint ORDER BY a.id)
      INTO target_ids, target_loads, target_capacities
      FROM collections.agent a
     WHERE a.business_id = business_id AND a.active
       AND (a.id = ANY (to_agents) OR a.team = to_team);
    IF target_ids IS NULL THEN
        RAISE EXCEPTION 'team % has no active agent in business %', to_team, business_id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'See SELECT team, count(*) FROM collections.agent WHERE active GROUP BY team;';
    END IF;
    -- The debts of the rule, locked against concurrent assignment, longest unpaid first.
    SELECT array_agg(x.id ORDER BY x.unpaid_since NULLS LAST, x.id), array_agg(x.agent_id ORDER BY x.unpaid_since NULLS LAST, x.id)
      INTO selected, previous
      FROM (SELECT d.id, d.unpaid_since, s.agent_id
              FROM collections.debt_account d
              LEFT JOIN collections.assignment s
                     ON s.business_id = d.business_id AND s.debt_account_id = d.id AND upper_inf(s.valid)
              LEFT JOIN collections.bucket b ON b.business_id = d.business_id AND b.id = d.bucket_id
             WHERE d.business_id = business_id AND d.status = 'active'
               AND (bucket IS NULL OR b.code = bucket)
               AND (branch IS NULL OR d.branch = branch)
               AND (from_agent_id IS NULL OR s.agent_id = from_agent_id)
               AND (NOT unassigned_only OR s.agent_id IS NULL)
               AND (s.agent_id IS NULL OR s.agent_id <> ALL (target_ids))
               -- nothing of its history reaches past at but an open assignment from before
               AND NOT EXISTS (SELECT FROM collections.assignment h
                                WHERE h.business_id = d.business_id AND h.debt_account_id = d.id
                                  AND h.valid && tstzrange(at, NULL)
                                  AND NOT (upper_inf(h.valid) AND lower(h.valid) < at))
               FOR NO KEY UPDATE OF d) x;
    IF selected IS NULL THEN
        RETURN;
    END IF;
    quotas := collections._balance_quotas(target_loads, target_capacities, cardinality(selected));
    -- Round-robin over the agents' slots: the k-th debt goes to the k-th slot in (round, agent)
    -- order, where an agent has as many rounds as its quota.
    SELECT array_agg(slot.agent_id ORDER BY slot.rank) INTO chosen
      FROM (SELECT t.agent_id, row_number() OVER (ORDER BY r.round, t.position) AS rank
              FROM unnest(target_ids, quotas) WITH ORDINALITY AS t(agent_id, quota, position)
             CROSS JOIN LATERAL generate_series(1, t.quota) AS r(round)) slot;
    UPDATE collections.assignment s SET valid = tstzrange(lower(s.valid), at)
      FROM unnest(selected, chosen) AS m(debt_id, agent_id)
     WHERE m.agent_id IS NOT NULL
       AND s.business_id = business_id AND s.debt_account_id = m.debt_id AND upper_inf(s.valid);
    INSERT INTO collections.assignment (business_id, debt_account_id, agent_id, valid, reason)
    SELECT business_id, m.debt_id, m.agent_id, tstzrange(at, NULL), reason
      FROM unnest(selected, chosen) AS m(debt_id, agent_id)
     WHERE m.agent_id IS NOT NULL;
    RETURN QUERY SELECT m.debt_id, m.previous_id, m.agent_id
                   FROM unnest(selected, previous, chosen) AS m(debt_id, previous_id, agent_id);
END;
$$;
COMMENT ON FUNCTION collections.reassign(bigint, bigint[], text, text, text, bigint, boolean, timestamptz, text) IS
    'Bulk reassignment by rule (bucket, branch, current agent or unassigned) to agents or a team, balancing their loads within max_load.';
