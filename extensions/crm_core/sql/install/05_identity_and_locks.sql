-- crm_core's primitives for acting under another identity and for its own advisory locks (C++:
-- src/as_owner.cpp, src/locks.cpp, over lib/pg/identity.hpp and lib/pg/lock.hpp). New in 0.2.0.

-- SQL that crm_core runs on a user's table (maintenance DDL, reads of a default partition) runs
-- as the table's owner, as VACUUM and REFRESH MATERIALIZED VIEW do: inside
-- SECURITY_RESTRICTED_OPERATION, search_path pinned to pg_catalog, pg_temp. The caller must be a
-- superuser or a member of that owner's role: nobody acts as an owner it could not become.
CREATE FUNCTION crm_core._execute_as_owner(relation regclass, statement text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_core_execute_as_owner' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION crm_core._execute_as_owner(regclass, text) IS
    'Runs a statement as the owner of relation (restricted, search_path pinned); returns the rows it processed.';
CREATE FUNCTION crm_core._select_as_owner(relation regclass, query text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_core_select_as_owner' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION crm_core._select_as_owner(regclass, text) IS
    'Runs a query returning one bigint as the owner of relation (restricted, search_path pinned).';

-- crm_core's internal locks (maintenance of a table, refresh of a view, sealing) live in a lock
-- class that pg_advisory_lock cannot reach: no role can take or squat them.
CREATE FUNCTION crm_core._try_xact_lock(key bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_try_xact_lock' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION crm_core._try_xact_lock(bigint) IS
    'Takes crm_core''s internal lock key until the end of the transaction, without waiting.';

REVOKE EXECUTE ON FUNCTION
    crm_core._execute_as_owner(regclass, text),
    crm_core._select_as_owner(regclass, text),
    crm_core._try_xact_lock(bigint)
FROM PUBLIC;
