-- The collection workflow, part 5 (dunning, 84_workflow_dunning.sql): the outbox of messages to
-- send and its status transitions.

-- Messages to send. The rows stay after sending: they are what was sent (the cooldown reads
-- them) and the dead letters.
CREATE TABLE collections.outbox (
    business_id      bigint NOT NULL,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    channel          text NOT NULL,
    recipient        text NOT NULL,
    subject          text,
    body             text NOT NULL,
    debt_account_id  bigint NOT NULL,
    customer_id      bigint NOT NULL,
    rule_id          bigint,
    template_id      bigint,
    as_of            date NOT NULL,
    -- rule:debt:as_of for run_dunning's messages: one per (rule, debt, day).
    dedup_key        text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CONSTRAINT outbox_status_known CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    -- pending: when it may be sent; sending: when the claim's lease runs out (then it is
    -- handed out again).
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claimed_at       timestamptz,
    sent_at          timestamptz,
    result           text,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    CONSTRAINT outbox_dedup_key_unique UNIQUE (business_id, dedup_key),
    FOREIGN KEY (business_id, debt_account_id) REFERENCES collections.debt_account (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES collections.customer (business_id, id)
);
-- Workers name a message by id alone (claim_outbox, outbox_done): the identity keeps ids
-- unique; the index is not UNIQUE because Citus allows uniqueness only with business_id.
CREATE INDEX outbox_id_idx ON collections.outbox (id);
CREATE INDEX outbox_claim_idx ON collections.outbox (channel, next_attempt_at, id)
    WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_rule_debt_idx ON collections.outbox (business_id, debt_account_id, rule_id, as_of);
COMMENT ON TABLE collections.outbox IS
    'Messages to send (run_dunning): claimed with claim_outbox(), outcome by outbox_done() / outbox_failed().';

-- Only the workflow functions move a message: pending -> sending -> sent, back to pending
-- (retry) or dead; its content never changes.
CREATE FUNCTION collections._outbox_before_update() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (NEW.business_id, NEW.id, NEW.channel, NEW.recipient, NEW.subject, NEW.body, NEW.debt_account_id,
        NEW.customer_id, NEW.rule_id, NEW.template_id, NEW.as_of, NEW.dedup_key, NEW.created_at)
       IS DISTINCT FROM
       (OLD.business_id, OLD.id, OLD.channel, OLD.recipient, OLD.subject, OLD.body, OLD.debt_account_id,
        OLD.customer_id, OLD.rule_id, OLD.template_id, OLD.as_of, OLD.dedup_key, OLD.created_at) THEN
        RAISE EXCEPTION 'outbox message % is what was queued: its content does not change', OLD.id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT ((OLD.status, NEW.status) IN (('pending', 'sending'), ('pending', 'pending'), ('sending', 'sending'), ('sending', 'sent'),
                                         ('sending', 'pending'), ('sending', 'dead'))
            OR (OLD.status = NEW.status AND OLD.status IN ('sent', 'dead')
                AND (NEW.attempts, NEW.sent_at, NEW.result) IS NOT DISTINCT FROM (OLD.attempts, OLD.sent_at, OLD.result))) THEN
        RAISE EXCEPTION 'outbox message % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Use collections.claim_outbox(), outbox_done() and outbox_failed().';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER outbox_transition BEFORE UPDATE ON collections.outbox
    FOR EACH ROW EXECUTE FUNCTION collections._outbox_before_update();
