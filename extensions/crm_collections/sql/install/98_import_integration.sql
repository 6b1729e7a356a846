-- Imports under crm_core's rules: tenant isolation, privileges, what pg_dump keeps.

SELECT crm_core.enable_tenant_isolation(t::regclass)
  FROM unnest(ARRAY['collections.import_batch', 'collections.import_row', 'collections.import_key']) AS t;

-- The application imports: it starts batches, COPYs rows in, runs the steps (as itself: every
-- customer, debt, payment and entry is its own INSERT, under its tenant) and reads the result.
-- Counters and progress marks are the database's.
GRANT SELECT ON collections.import_batch, collections.import_row, collections.import_key
    TO crm_core_app, crm_core_readonly;
GRANT INSERT (business_id, source, entity, filename, file_sha256, country, currency),
      UPDATE (status, refusal, started_at, finished_at, validated_through, applied_through),
      DELETE
    ON collections.import_batch TO crm_core_app;
GRANT INSERT (business_id, batch_id, line_no, raw),
      UPDATE (status, error, key, phone_normalized, fingerprint, data, match_customer_id,
              match_debt_account_id, match_method, target_id)
    ON collections.import_row TO crm_core_app;
GRANT INSERT, UPDATE (target_id, digest, batch_id, line_no, updated_at) ON collections.import_key TO crm_core_app;
GRANT EXECUTE ON FUNCTION collections._import_map(text, text, jsonb, text, text),
    collections._import_batch_locked(bigint), collections._import_batch_for_step(bigint),
    collections._import_remember(collections.import_batch, collections.import_row, bigint),
    collections._import_target(bigint, text, text, text),
    collections._import_customer(collections.import_batch, collections.import_row, bigint, boolean),
    collections._import_owed(collections.debt_account),
    collections._import_settle(collections.import_batch, collections.import_row, collections.debt_account, numeric),
    collections._import_reassign(collections.debt_account, jsonb), collections._import_product(bigint, text, text),
    collections._import_voice_loan(collections.import_batch, collections.import_row),
    collections._import_debt_account(collections.import_batch, collections.import_row),
    collections._import_recouvrement(collections.import_batch, collections.import_row),
    collections._import_erp_ledger(collections.import_batch, collections.import_row),
    collections._import_apply_rows(collections.import_batch, bigint[], boolean),
    collections._import_apply_row(collections.import_batch, collections.import_row),
    collections._import_check_batch(collections.import_batch), collections._import_prepare(collections.import_batch),
    collections._import_finish(collections.import_batch)
    TO crm_core_app;

SELECT pg_catalog.pg_extension_config_dump('collections.import_batch', '');
SELECT pg_catalog.pg_extension_config_dump('collections.import_batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('collections.import_row', '');
SELECT pg_catalog.pg_extension_config_dump('collections.import_key', '');

-- Scale-out: an import's batch, rows and keys are placed by business (crm_core.distribute()).
INSERT INTO crm_core.scale_out_table (relid, placement, by_extension)
SELECT t::regclass, 'business', true
  FROM unnest(ARRAY['collections.import_batch', 'collections.import_row', 'collections.import_key']) AS t;
