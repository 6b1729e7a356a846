-- Every table keyed by business_id is tenant-isolated the way crm_core's own tables are
-- (crm_core.enable_tenant_isolation: row-level security, forced, and the tenant guard
-- triggers); facts are append-only; what applications may do; what pg_dump keeps.

DO $install$
DECLARE
    isolated regclass;
BEGIN
    FOREACH isolated IN ARRAY ARRAY[
        'erp.business_settings', 'erp.account_role', 'erp.till', 'erp.role', 'erp.business_access',
        'erp.item', 'erp.transaction_type', 'erp.posting_rule', 'erp.event_reversal',
        'erp.statement_import', 'erp.statement_line', 'erp.reconciliation_match', 'erp.reconciliation',
        'erp.customer',
        'water.product_size', 'water.raw_intake', 'water.production', 'water.sale',
        'laundry.service_type', 'laundry.job', 'laundry.job_item', 'laundry.job_status_history',
        'laundry.payment',
        'retail.category', 'retail.product', 'retail.stock_receipt', 'retail.sale', 'retail.sale_item',
        'retail.lpg_cylinder', 'retail.lpg_exchange']::regclass[] LOOP
        PERFORM crm_core.enable_tenant_isolation(isolated);
    END LOOP;
END;
$install$;

-- Facts that never change (event tables are guarded by erp.post_on_insert()).
INSERT INTO crm_core.append_only_table (relid, by_extension)
VALUES ('erp.event_reversal', true), ('erp.statement_line', true), ('erp.reconciliation', true),
       ('laundry.job_status_history', true);
SELECT crm_core.apply_append_only_guards(t.relid, 'crm_core.append_only_guard()')
  FROM (VALUES ('erp.event_reversal'::regclass), ('erp.statement_line'), ('erp.reconciliation'),
               ('laundry.job_status_history')) AS t (relid);
-- The module tables registered above are the extension's own (CREATE EXTENSION registers them
-- again on restore).
UPDATE erp.event_table SET by_extension = true;

-- Privileges: the application role works in its business (row-level security), the read-only
-- role reads. Nothing is granted to PUBLIC.
GRANT USAGE ON SCHEMA erp, water, laundry, retail, erp_legacy TO crm_core_app, crm_core_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA erp, water, laundry, retail, erp_legacy TO crm_core_app, crm_core_readonly;
REVOKE SELECT ON water.daily_summary_mv, laundry.daily_summary_mv, retail.daily_summary_mv
    FROM crm_core_app, crm_core_readonly;
GRANT INSERT ON water.raw_intake, water.production, water.sale,
                laundry.job, laundry.job_item, laundry.payment,
                retail.stock_receipt, retail.sale, retail.sale_item, retail.lpg_exchange,
                erp.statement_import, erp.statement_line, erp.reconciliation, erp.event_reversal
    TO crm_core_app;
GRANT INSERT, UPDATE ON erp.business_settings, erp.till, erp.item, erp.transaction_type,
                        water.product_size, laundry.service_type, laundry.job,
                        retail.category, retail.product, retail.lpg_cylinder,
                        erp.customer, erp.customer_pii, erp.statement_import
    TO crm_core_app;
GRANT INSERT, UPDATE, DELETE ON erp.posting_rule, erp.reconciliation_match TO crm_core_app;
-- Writing and reading through customer_pii needs the key and these; the read-only role sees
-- ciphertext only.
GRANT EXECUTE ON FUNCTION erp.pii_key(), erp.pii_hash(text), erp.pii_encrypt(text), erp.pii_decrypt(bytea),
    erp.pii_hash_with(text, text), erp.pii_encrypt_with(text, text), erp.pii_decrypt_with(bytea, text)
    TO crm_core_app;

-- pg_dump keeps every business's rows (extension tables are skipped unless marked) and their
-- id sequences; erp.event_table keeps the registrations users added.
DO $install$
DECLARE
    member record;
BEGIN
    FOR member IN
        SELECT c.oid::regclass AS relid
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('erp', 'water', 'laundry', 'retail') AND c.relkind IN ('r', 'S')
           AND c.oid NOT IN ('erp.event_table'::regclass, 'laundry.job_status'::regclass,
                             'laundry.job_transition'::regclass)
         ORDER BY c.relkind, c.relname
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(member.relid, '');
    END LOOP;
END;
$install$;
