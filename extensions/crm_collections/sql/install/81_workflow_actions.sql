-- The collection workflow, part 2: the per-business dictionaries (action outcomes and call
-- statuses, as seed 004's workflow schema keeps its dictionaries) and the actions agents take
-- on debts: append-only, partitioned by month.

-- The kinds of action, in one place for the checks below.
CREATE FUNCTION collections.action_kinds() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
    RETURN ARRAY['call', 'sms', 'email', 'letter', 'visit'];
COMMENT ON FUNCTION collections.action_kinds() IS 'The kinds of action: call, sms, email, letter, visit.';

-- What an action can come to, per business. is_contact: the customer was reached (a right
-- party contact), for the agent dashboards; kinds: the kinds of action it applies to (NULL:
-- every kind).
CREATE TABLE collections.action_outcome (
    business_id bigint NOT NULL REFERENCES crm_core.business (id),
    code        text NOT NULL CONSTRAINT action_outcome_code_shape CHECK (code ~ '^[a-z0-9_]{1,40}$'),
    label       text NOT NULL CONSTRAINT action_outcome_label_present CHECK (label <> ''),
    kinds       text[] CONSTRAINT action_outcome_kinds_known
                CHECK (kinds <@ collections.action_kinds()),
    is_contact  boolean NOT NULL DEFAULT false,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, code)
);
COMMENT ON TABLE collections.action_outcome IS
    'Per-business dictionary of action outcomes (is_contact: the customer was reached); deactivate, never delete a used one.';

-- The statuses a call goes through at the telephony provider, per business. is_final: the
-- call is over (completed, busy, failed ...); is_connected: someone answered.
CREATE TABLE collections.call_status (
    business_id  bigint NOT NULL REFERENCES crm_core.business (id),
    code         text NOT NULL CONSTRAINT call_status_code_shape CHECK (code ~ '^[a-z0-9_-]{1,40}$'),
    label        text NOT NULL CONSTRAINT call_status_label_present CHECK (label <> ''),
    is_final     boolean NOT NULL DEFAULT false,
    is_connected boolean NOT NULL DEFAULT false,
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, code)
);
COMMENT ON TABLE collections.call_status IS
    'Per-business dictionary of call statuses (provider statuses: queued, ringing, completed ...).';

-- The default dictionaries of a business (made when it is set up; idempotent, adds only what
-- is missing). Returns how many entries it added.
CREATE FUNCTION collections.seed_workflow_dictionaries(business_id bigint) RETURNS integer
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    outcomes integer;
    statuses integer;
BEGIN
    INSERT INTO collections.action_outcome AS o (business_id, code, label, kinds, is_contact)
    SELECT business_id, v.code, v.label, v.kinds, v.is_contact
      FROM (VALUES ('promise_to_pay', 'Promise to pay', NULL::text[], true),
                   ('paid', 'Says it is paid', NULL, true),
                   ('refused', 'Refuses to pay', NULL, true),
                   ('dispute', 'Disputes the debt', NULL, true),
                   ('callback', 'Asked to be called back', '{call,visit}', true),
                   ('no_answer', 'No answer', '{call,visit}', false),
                   ('left_message', 'Left a message', '{call}', false),
                   ('wrong_number', 'Wrong number', '{call,sms}', false),
                   ('sent', 'Sent', '{sms,email,letter}', false),
                   ('bounced', 'Not delivered', '{sms,email,letter}', false)) AS v(code, label, kinds, is_contact)
    ON CONFLICT ON CONSTRAINT action_outcome_pkey DO NOTHING;
    GET DIAGNOSTICS outcomes = ROW_COUNT;
    INSERT INTO collections.call_status AS s (business_id, code, label, is_final, is_connected)
    SELECT business_id, v.code, v.label, v.is_final, v.is_connected
      FROM (VALUES ('queued', 'Queued', false, false),
                   ('ringing', 'Ringing', false, false),
                   ('in-progress', 'In progress', false, true),
                   ('completed', 'Completed', true, true),
                   ('busy', 'Busy', true, false),
                   ('no-answer', 'No answer', true, false),
                   ('failed', 'Failed', true, false),
                   ('canceled', 'Canceled', true, false)) AS v(code, label, is_final, is_connected)
    ON CONFLICT ON CONSTRAINT call_status_pkey DO NOTHING;
    GET DIAGNOSTICS statuses = ROW_COUNT;
    RETURN outcomes + statuses;
END;
$$;
COMMENT ON FUNCTION collections.seed_workflow_dictionaries(bigint) IS
    'Adds the default action outcomes and call statuses a business lacks; returns how many.';

-- What agents (or automations, agent_id NULL) did about a debt, and what came of it. Never
-- changed: a correction is a new action.
CREATE TABLE collections.action (
    business_id     bigint NOT NULL,
    id              bigint GENERATED BY DEFAULT AS IDENTITY,
    debt_account_id bigint NOT NULL,
    agent_id        bigint,
    kind            text NOT NULL CONSTRAINT action_kind_known
                    CHECK (kind = ANY (collections.action_kinds())),
    outcome         text NOT NULL,
    acted_at        timestamptz NOT NULL DEFAULT now(),
    note            text,
    call_session_id bigint,
    -- Kept by crm_collections: the debt's customer.
    customer_id     bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id, acted_at),
    FOREIGN KEY (business_id, debt_account_id) REFERENCES collections.debt_account (business_id, id),
    FOREIGN KEY (business_id, agent_id) REFERENCES collections.agent (business_id, id),
    FOREIGN KEY (business_id, outcome) REFERENCES collections.action_outcome (business_id, code)
) PARTITION BY RANGE (acted_at);
CREATE INDEX action_debt_idx ON collections.action (business_id, debt_account_id, acted_at);
CREATE INDEX action_agent_idx ON collections.action (business_id, agent_id, acted_at);
CREATE TABLE collections.action_default PARTITION OF collections.action DEFAULT;
COMMENT ON TABLE collections.action IS
    'Actions on debts (call, sms, email, letter, visit) and their outcomes. Append-only, monthly partitions.';

-- Checks an action before the foreign keys do, saying what to fix, and fills its customer.
CREATE FUNCTION collections._action_recorded() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    known collections.action_outcome;
BEGIN
    -- (the table's CHECK would name the partition, not the kinds)
    IF NEW.kind IS NULL OR NOT NEW.kind = ANY (collections.action_kinds()) THEN
        RAISE EXCEPTION '% is not a kind of action', coalesce(quote_literal(NEW.kind), 'NULL')
            USING ERRCODE = 'check_violation', CONSTRAINT = 'action_kind_known', TABLE = 'action', SCHEMA = 'collections',
                  HINT = 'The kinds: ' || array_to_string(collections.action_kinds(), ', ') || '.';
    END IF;
    SELECT d.customer_id INTO NEW.customer_id FROM collections.debt_account d
     WHERE d.business_id = NEW.business_id AND d.id = NEW.debt_account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'debt account % does not exist in business %', coalesce(NEW.debt_account_id::text, 'NULL'), NEW.business_id
            USING ERRCODE = 'foreign_key_violation', TABLE = 'action', SCHEMA = 'collections';
    END IF;
    IF NEW.agent_id IS NOT NULL AND NOT EXISTS (
           SELECT FROM collections.agent a WHERE a.business_id = NEW.business_id AND a.id = NEW.agent_id) THEN
        RAISE EXCEPTION 'agent % does not exist in business %', NEW.agent_id, NEW.business_id
            USING ERRCODE = 'foreign_key_violation', TABLE = 'action', SCHEMA = 'collections',
                  HINT = 'See SELECT id, name FROM collections.agent; agent_id NULL records an automated action.';
    END IF;
    SELECT * INTO known FROM collections.action_outcome o
     WHERE o.business_id = NEW.business_id AND o.code = NEW.outcome;
    IF NOT FOUND OR NOT known.active THEN
        RAISE EXCEPTION 'outcome % is not an active outcome of business %', coalesce(quote_literal(NEW.outcome), 'NULL'), NEW.business_id
            USING ERRCODE = 'foreign_key_violation', TABLE = 'action', SCHEMA = 'collections',
                  HINT = 'See SELECT code, label FROM collections.action_outcome WHERE active; or INSERT a new outcome there.';
    END IF;
    IF known.kinds IS NOT NULL AND NOT NEW.kind = ANY (known.kinds) THEN
        RAISE EXCEPTION 'outcome % does not apply to a % (only to %)', NEW.outcome, NEW.kind, array_to_string(known.kinds, ', ')
            USING ERRCODE = 'invalid_parameter_value', TABLE = 'action', SCHEMA = 'collections';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER action_recorded BEFORE INSERT ON collections.action
    FOR EACH ROW EXECUTE FUNCTION collections._action_recorded();

-- A contact moves the customer's last_contact_at (only forward).
CREATE FUNCTION collections._action_contact() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE collections.customer c SET last_contact_at = NEW.acted_at
     WHERE c.business_id = NEW.business_id AND c.id = NEW.customer_id
       AND (c.last_contact_at IS NULL OR c.last_contact_at < NEW.acted_at)
       AND EXISTS (SELECT FROM collections.action_outcome o
                    WHERE o.business_id = NEW.business_id AND o.code = NEW.outcome AND o.is_contact);
    RETURN NULL;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._action_contact() FROM PUBLIC;
CREATE TRIGGER action_contact AFTER INSERT ON collections.action
    FOR EACH ROW EXECUTE FUNCTION collections._action_contact();

-- Records an action; returns its id.
CREATE FUNCTION collections.record_action(debt_account_id bigint, kind text, outcome text,
                                          agent_id bigint DEFAULT NULL, note text DEFAULT NULL,
                                          acted_at timestamptz DEFAULT now())
    RETURNS bigint
    LANGUAGE sql SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO collections.action (business_id, debt_account_id, agent_id, kind, outcome, acted_at, note)
    SELECT d.business_id, d.id, record_action.agent_id, record_action.kind, record_action.outcome,
           record_action.acted_at, record_action.note
      FROM collections._debt(record_action.debt_account_id) AS d
    RETURNING id;
END;
COMMENT ON FUNCTION collections.record_action(bigint, text, text, bigint, text, timestamptz) IS
    'Records an action (call, sms, email, letter, visit) on a debt with its outcome; returns its id.';
