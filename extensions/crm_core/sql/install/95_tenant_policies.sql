-- crm_core tenant isolation of crm_core's own tables (the one place that applies it): every
-- table keyed by business_id, and crm_core.business keyed by id, shows and accepts only the
-- current business's rows to every role but superusers, BYPASSRLS roles and crm_core_service.
-- business_grant is admin data (no policy: current_business() reads it). Tables added to the
-- schema later are isolated when they have a business_id column (tests/pgtap 500 lists them).
-- Tables that only crm_core writes (as the extension owner: balance slots, the seal chain, the
-- audit log; their own guards refuse every other writer) get the policy without the write
-- guard triggers, which would cost the ledger's hot path a trigger call per balance update.
SELECT crm_core._apply_tenant_isolation('crm_core.business', 'id', true);
SELECT crm_core._apply_tenant_isolation(
           c.oid::regclass, 'business_id',
           c.oid NOT IN ('crm_core.account_balance_slot'::regclass, 'crm_core.audit_log'::regclass,
                         'crm_core.ledger_block'::regclass, 'crm_core.ledger_sealed_entry'::regclass,
                         'crm_core.seal_progress'::regclass))
  FROM pg_catalog.pg_class AS c
 WHERE c.relnamespace = 'crm_core'::regnamespace AND c.relkind IN ('r', 'p')
   AND NOT c.relispartition AND c.oid <> 'crm_core.business_grant'::regclass
   AND EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = c.oid AND a.attname = 'business_id' AND NOT a.attisdropped)
 ORDER BY c.relname;

-- Views over isolated tables read them as the querying role, so they show its business only.
ALTER VIEW crm_core.seal_status SET (security_invoker = true);
GRANT SELECT ON crm_core.ledger_sealed_entry TO crm_core_app, crm_core_readonly;
