-- The collection workflow under crm_core's rules: tenant isolation, append-only history,
-- monthly partitions, audit of assignments and promises, privileges and what pg_dump keeps.
-- (Runs before 90_integration.sql, whose by-schema marking of registrations covers these.)

SELECT crm_core.enable_tenant_isolation(t::regclass)
  FROM unnest(ARRAY['collections.agent', 'collections.assignment', 'collections.action_outcome',
                    'collections.call_status', 'collections.action', 'collections.call_session',
                    'collections.call_session_key', 'collections.call_status_update',
                    'collections.promise', 'collections.promise_payment', 'collections.promise_history',
                    'collections.dunning_template', 'collections.dunning_rule',
                    'collections.dunning_block', 'collections.outbox']) AS t;

SELECT crm_core.make_append_only(t::regclass)
  FROM unnest(ARRAY['collections.action', 'collections.call_session_key',
                    'collections.call_status_update', 'collections.promise_payment',
                    'collections.promise_history']) AS t;

-- Monthly partitions premade three months ahead, kept forever (shorten with
-- crm_core.alter_partitioning); made by maintenance and when a business is set up.
INSERT INTO crm_core.partition_config (parent, control_column, partition_interval, premake, by_extension)
VALUES ('collections.action', 'acted_at', interval '1 month', 3, true),
       ('collections.call_session', 'initiated_at', interval '1 month', 3, true),
       ('collections.call_status_update', 'at', interval '1 month', 3, true);

SELECT crm_core.audit_table('collections.assignment');
SELECT crm_core.audit_table('collections.promise');

-- A business set up for collections gets the default dictionaries and the workflow's
-- partitions for this month and the next ones.
CREATE FUNCTION collections._workflow_business_set_up() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM collections.seed_workflow_dictionaries(NEW.business_id);
    PERFORM crm_core.run_maintenance(false, c.parent)
       FROM crm_core.partition_config c
      WHERE c.parent IN ('collections.action'::regclass, 'collections.call_session'::regclass,
                         'collections.call_status_update'::regclass);
    RETURN NULL;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._workflow_business_set_up() FROM PUBLIC;
CREATE TRIGGER business_settings_workflow AFTER INSERT ON collections.business_settings
    FOR EACH ROW EXECUTE FUNCTION collections._workflow_business_set_up();

-- ---------------------------------------------------------------------------------------
-- Privileges of the application (reads come from 90_integration.sql's GRANT SELECT). What
-- the database keeps (statuses, history, keys, outbox content) has no grant; the triggers
-- refuse the rest of what would rewrite history.
GRANT INSERT, UPDATE (name, team, email, external_ref, max_load, active) ON collections.agent TO crm_core_app;
GRANT INSERT (business_id, id, debt_account_id, agent_id, valid, reason), UPDATE (valid)
    ON collections.assignment TO crm_core_app;
GRANT INSERT, UPDATE (label, kinds, is_contact, active), DELETE ON collections.action_outcome TO crm_core_app;
GRANT INSERT, UPDATE (label, is_final, is_connected, active), DELETE ON collections.call_status TO crm_core_app;
GRANT INSERT (business_id, id, debt_account_id, agent_id, kind, outcome, acted_at, note, call_session_id)
    ON collections.action TO crm_core_app;
GRANT INSERT (business_id, id, call_sid, customer_id, debt_account_id, agent_id, direction, to_number,
              from_number, provider, initiated_at, status, duration_seconds, ended_at, provider_data,
              triggered_by_batch, triggered_by_row),
      UPDATE (debt_account_id, agent_id, duration_seconds, ended_at, provider_data)
    ON collections.call_session TO crm_core_app;
GRANT INSERT (business_id, call_session_id, status, message, at, extra) ON collections.call_status_update TO crm_core_app;
GRANT INSERT (business_id, id, debt_account_id, amount, due_on, promised_at, agent_id, channel, note),
      UPDATE (status, note)
    ON collections.promise TO crm_core_app;
GRANT INSERT, UPDATE (code, channel, subject, body, active), DELETE ON collections.dunning_template TO crm_core_app;
GRANT INSERT, UPDATE (name, template_id, min_dpd, max_dpd, bucket, min_amount, cooldown, stop_on_open_promise, active),
      DELETE ON collections.dunning_rule TO crm_core_app;
GRANT INSERT (business_id, id, debt_account_id, customer_id, reason, blocked_from, blocked_until),
      UPDATE (blocked_until, lifted_at)
    ON collections.dunning_block TO crm_core_app;
GRANT UPDATE (status, attempts, next_attempt_at, claimed_at, sent_at, result, last_error)
    ON collections.outbox TO crm_core_app;

REVOKE EXECUTE ON FUNCTION collections.seed_workflow_dictionaries(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION collections.seed_workflow_dictionaries(bigint) TO crm_core_app;

-- ---------------------------------------------------------------------------------------
-- pg_dump: rows of the member tables (and their sequences) are dumped.
SELECT pg_catalog.pg_extension_config_dump('collections.agent', '');
SELECT pg_catalog.pg_extension_config_dump('collections.agent_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.assignment', '');
SELECT pg_catalog.pg_extension_config_dump('collections.assignment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.action_outcome', '');
SELECT pg_catalog.pg_extension_config_dump('collections.call_status', '');
SELECT pg_catalog.pg_extension_config_dump('collections.action_default', '');
SELECT pg_catalog.pg_extension_config_dump('collections.action_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.call_session_default', '');
SELECT pg_catalog.pg_extension_config_dump('collections.call_session_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.call_session_key', '');
SELECT pg_catalog.pg_extension_config_dump('collections.call_status_update_default', '');
SELECT pg_catalog.pg_extension_config_dump('collections.call_status_update_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.promise', '');
SELECT pg_catalog.pg_extension_config_dump('collections.promise_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.promise_payment', '');
SELECT pg_catalog.pg_extension_config_dump('collections.promise_payment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.promise_history', '');
SELECT pg_catalog.pg_extension_config_dump('collections.promise_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.dunning_template', '');
SELECT pg_catalog.pg_extension_config_dump('collections.dunning_template_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.dunning_rule', '');
SELECT pg_catalog.pg_extension_config_dump('collections.dunning_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.dunning_block', '');
SELECT pg_catalog.pg_extension_config_dump('collections.dunning_block_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('collections.outbox_id_seq', '');
