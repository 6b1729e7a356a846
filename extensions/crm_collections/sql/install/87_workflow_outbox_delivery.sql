-- The collection workflow, part 5: sending workers claim messages from the outbox and report
-- each outcome (retries with backoff, dead letter after N).

-- Hands out up to batch messages of a channel to a sending worker: pending ones that are due
-- and claimed ones whose lease ran out, oldest first, skipping rows other workers hold
-- (FOR UPDATE SKIP LOCKED), so concurrent workers never get the same message. Each comes back
-- marked sending, with its lease (the worker reports the outcome within it). Under tenant
-- isolation a worker sees the current business's messages; a worker for every business uses
-- a role granted crm_core_service.
CREATE FUNCTION collections.claim_outbox(channel text, batch integer, lease interval DEFAULT interval '5 minutes')
    RETURNS SETOF collections.outbox
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    IF channel IS NULL OR channel NOT IN ('sms', 'email', 'letter', 'call') THEN
        RAISE EXCEPTION 'channel must be sms, email, letter or call, not %', coalesce(quote_literal(channel), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch IS NULL OR batch NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'batch must be from 1 to 10000, not %', coalesce(batch::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF lease IS NULL OR lease < interval '1 second' THEN
        RAISE EXCEPTION 'lease must be at least 1 second, not %', coalesce(lease::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH picked AS (
        SELECT o.business_id, o.id FROM collections.outbox o
         WHERE o.channel = channel AND o.status IN ('pending', 'sending') AND o.next_attempt_at <= now()
         ORDER BY o.next_attempt_at, o.id
         LIMIT batch
           FOR UPDATE SKIP LOCKED
    )
    UPDATE collections.outbox o
       SET status = 'sending', attempts = o.attempts + 1, claimed_at = now(), next_attempt_at = now() + lease
      FROM picked
     WHERE o.business_id = picked.business_id AND o.id = picked.id
    RETURNING o.*;
END;
$$;
COMMENT ON FUNCTION collections.claim_outbox(text, integer, interval) IS
    'Hands out up to batch due messages of a channel (FOR UPDATE SKIP LOCKED), marked sending for the lease.';

-- The message being sent with this id, or 23503 / 55000 saying why not.
CREATE FUNCTION collections._outbox_sending(outbox_id bigint) RETURNS collections.outbox
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    message collections.outbox;
BEGIN
    SELECT * INTO message FROM collections.outbox o WHERE o.id = outbox_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox message % does not exist', coalesce(outbox_id::text, 'NULL')
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF message.status <> 'sending' THEN
        RAISE EXCEPTION 'outbox message % is %, not being sent', outbox_id, message.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Report the outcome of messages claim_outbox() handed out, once.';
    END IF;
    RETURN message;
END;
$$;

-- The message was sent: result is what the provider said (its message id, say).
CREATE FUNCTION collections.outbox_done(id bigint, result text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    message collections.outbox := collections._outbox_sending(id);
BEGIN
    UPDATE collections.outbox o SET status = 'sent', sent_at = now(), result = result, last_error = NULL
     WHERE o.business_id = message.business_id AND o.id = message.id;
END;
$$;
COMMENT ON FUNCTION collections.outbox_done(bigint, text) IS
    'Records that a claimed message was sent (result: the provider''s answer).';

-- When retry number `attempt` of a message is due, in milliseconds from now: the backoff of
-- crm_core's jobs (doubling from initial up to max, less up to jitter of itself at random).
CREATE FUNCTION collections._retry_delay_ms(attempt integer, initial_ms bigint, max_ms bigint,
                                            jitter double precision, random01 double precision)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_collections_retry_delay_ms' LANGUAGE C STRICT IMMUTABLE;

-- Sending failed: the message is tried again after a backoff (1 minute, 2, 4 ... up to
-- backoff_max), or is a dead letter after max_attempts attempts.
CREATE FUNCTION collections.outbox_failed(id bigint, error text, max_attempts integer DEFAULT 5,
                                          backoff_initial interval DEFAULT interval '1 minute',
                                          backoff_max interval DEFAULT interval '6 hours')
    RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    message collections.outbox;
    outcome text;
BEGIN
    IF max_attempts IS NULL OR max_attempts < 1 THEN
        RAISE EXCEPTION 'max_attempts must be at least 1, not %', coalesce(max_attempts::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF backoff_initial IS NULL OR backoff_max IS NULL OR backoff_initial < interval '1 millisecond'
       OR backoff_max < backoff_initial THEN
        RAISE EXCEPTION 'backoff_initial must be positive and backoff_max at least as long'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    message := collections._outbox_sending(id);
    outcome := CASE WHEN message.attempts >= max_attempts THEN 'dead' ELSE 'pending' END;
    UPDATE collections.outbox o
       SET status = outcome, last_error = error,
           next_attempt_at = now() + collections._retry_delay_ms(
               message.attempts, (extract(epoch FROM backoff_initial) * 1000)::bigint,
               (extract(epoch FROM backoff_max) * 1000)::bigint, 0.1, random()) * interval '1 millisecond'
     WHERE o.business_id = message.business_id AND o.id = message.id;
    RETURN outcome;
END;
$$;
COMMENT ON FUNCTION collections.outbox_failed(bigint, text, integer, interval, interval) IS
    'Records a failed send: pending again after a backoff, or dead after max_attempts; returns the new status.';
