-- crm_core ledger seal: sealing blocks, verifying the chain, the digest (C, seal.cpp; they run
-- with a pinned search_path). Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part. The tables: 23_ledger_history.sql;
-- the status view: 25_seal_status.sql.

CREATE OR REPLACE FUNCTION crm_core.seal_ledger(entries_per_block integer DEFAULT 1000)
RETURNS TABLE (business_id bigint, blocks_sealed integer, rows_sealed bigint)
    AS 'MODULE_PATHNAME', 'crm_core_seal_ledger' LANGUAGE C STRICT VOLATILE
    -- SECURITY DEFINER: crm_core_service seals without write access to the chain's tables.
    SECURITY DEFINER SET search_path = pg_catalog, crm_core, pg_temp;
REVOKE EXECUTE ON FUNCTION crm_core.seal_ledger(integer) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.seal_ledger(integer) IS
    'Seals committed, not yet sealed posted entries (with their lines) into hash-chained blocks per business. Run by maintenance.';

CREATE OR REPLACE FUNCTION crm_core.verify_ledger(business_id bigint DEFAULT NULL,
                                                  digest text DEFAULT NULL)
RETURNS TABLE (business_id bigint, ok boolean, blocks_checked bigint, rows_checked bigint,
               broken_block bigint, broken_row_kind text, broken_row_id bigint, problem text)
    AS 'MODULE_PATHNAME', 'crm_core_verify_ledger' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, crm_core, pg_temp;
REVOKE EXECUTE ON FUNCTION crm_core.verify_ledger(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.verify_ledger(bigint, text) IS
    'Recomputes every sealed block from the rows as they are now; reports the first broken block and row per business, and every business a digest from ledger_digest() names that is gone.';

CREATE OR REPLACE FUNCTION crm_core.ledger_digest(business_id bigint DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_core_ledger_digest' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, crm_core, pg_temp;
REVOKE EXECUTE ON FUNCTION crm_core.ledger_digest(bigint) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.ledger_digest(bigint) IS
    'The last block hash of each business chain (every business and every chain found), as text to keep outside the database and pass to verify_ledger() later.';
