-- crm_core roles and their grants on the ledger, the audit log and the seal.

-- ---------------------------------------------------------------------------------------
-- Roles (least privilege). NOLOGIN group roles, created once per cluster: grant them to
-- login roles. crm_core_app writes postings and reads; crm_core_readonly reads;
-- crm_core_service runs crm-core-service's jobs and probes (its grants: 50_service.sql).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_app') THEN
        CREATE ROLE crm_core_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_readonly') THEN
        CREATE ROLE crm_core_readonly NOLOGIN;
    END IF;
    -- What crm-core-service needs, granted in 50_service.sql.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_core_service') THEN
        CREATE ROLE crm_core_service NOLOGIN;
    END IF;
END;
$$;
GRANT USAGE ON SCHEMA crm_core TO crm_core_app, crm_core_readonly;
GRANT SELECT ON crm_core.business, crm_core.account, crm_core.fiscal_period,
    crm_core.journal_entry, crm_core.journal_line, crm_core.account_balance_slot,
    crm_core.ledger_block TO crm_core_app, crm_core_readonly;
-- Drafts are edited and posted by UPDATE of these columns; the guards refuse it once posted.
-- No table-wide UPDATE and no DELETE: either would let the role LOCK the journal in ACCESS
-- EXCLUSIVE mode, stopping every reader, the health checks included.
GRANT INSERT ON crm_core.journal_entry, crm_core.journal_line TO crm_core_app;
GRANT UPDATE (status, effective_date, memo, idempotency_key, source_ref, metadata)
    ON crm_core.journal_entry TO crm_core_app;
GRANT UPDATE (account_id, debit, credit, currency, memo, subledger)
    ON crm_core.journal_line TO crm_core_app;
GRANT SELECT ON crm_core.audit_log TO crm_core_readonly;
-- verify_ledger() runs with the caller's rights: an auditor reads the seal's per-entry hashes.
GRANT SELECT ON crm_core.ledger_sealed_entry TO crm_core_readonly;
GRANT EXECUTE ON FUNCTION crm_core.verify_ledger(bigint, text), crm_core.ledger_digest(bigint)
    TO crm_core_readonly;
