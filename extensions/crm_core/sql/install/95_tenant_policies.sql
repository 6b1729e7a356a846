-- crm_core tenant isolation of crm_core's own tables (the one place that applies it): every
-- table keyed by business_id, and crm_core.business keyed by id, shows and accepts only the
-- current business's rows to every role but superusers, BYPASSRLS roles and crm_core_service.
-- business_grant is admin data (no policy: current_business() reads it). Tables added to the
-- schema later are isolated when they have a business_id column (tests/pgtap 510 lists them).
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

-- Every crm_core view over an isolated table (seal_status, account_balances ...) reads it as the
-- querying role, so it shows that role's business only. After the parts that (re)create them:
-- CREATE OR REPLACE VIEW resets a view's options.
DO $$
DECLARE
    view_name regclass;
BEGIN
    FOR view_name IN
        SELECT v.oid FROM pg_catalog.pg_class AS v
         WHERE v.relnamespace = 'crm_core'::regnamespace AND v.relkind = 'v'
           AND EXISTS (SELECT FROM pg_catalog.pg_rewrite AS r
                         JOIN pg_catalog.pg_depend AS d
                           ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                         JOIN pg_catalog.pg_policy AS p
                           ON p.polrelid = d.refobjid AND p.polname = 'crm_core_tenant'
                        WHERE r.ev_class = v.oid)
         ORDER BY 1
    LOOP
        EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', view_name);
        EXECUTE pg_catalog.format('GRANT SELECT ON %s TO crm_core_service', view_name);
    END LOOP;
END;
$$;
GRANT SELECT ON crm_core.ledger_sealed_entry TO crm_core_app, crm_core_readonly;
-- Those views now read their tables as the caller: the service reads them for every business.
GRANT USAGE ON SCHEMA crm_core TO crm_core_service;
GRANT SELECT ON crm_core.business, crm_core.account, crm_core.account_balance_slot,
    crm_core.journal_entry, crm_core.journal_line, crm_core.ledger_block,
    crm_core.ledger_sealed_entry TO crm_core_service;

-- On a Citus cluster the grants go to every node with the businesses they reference (a policy
-- evaluated on a worker's shard reads them there).
INSERT INTO crm_core.scale_out_table (relid, placement, by_extension)
VALUES ('crm_core.business_grant', 'reference', true)
ON CONFLICT (relid) DO NOTHING;
