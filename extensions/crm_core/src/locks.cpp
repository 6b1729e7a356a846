// crm_core's advisory locks (lib/pg/lock.hpp) for SQL: the internal ones that serialize
// maintenance, refreshes and sealing, and the session lock that elects crm-core-service's
// leader. No role can squat them with pg_advisory_lock: they live in lock classes that
// function never uses, and these functions are granted to crm_core's roles only.
#include "function.hpp"
#include "lock.hpp"

namespace {

using crm_core::pg::LockClass;
using crm_core::pg::LockScope;

}  // namespace

// crm_core._try_xact_lock(key bigint): takes crm_core's internal lock `key` until the end of the
// transaction without waiting; true when this transaction holds it.
CRM_CORE_FUNCTION(crm_core_try_xact_lock) {
    PG_RETURN_BOOL(
        crm_core::pg::try_lock(LockClass::internal, PG_GETARG_INT64(0), LockScope::transaction));
}

// crm_core.service_try_lock(key bigint): takes the service leader lock `key` for the session
// without waiting; true when this session holds it.
CRM_CORE_FUNCTION(crm_core_service_try_lock) {
    PG_RETURN_BOOL(
        crm_core::pg::try_lock(LockClass::leader, PG_GETARG_INT64(0), LockScope::session));
}

// crm_core.service_unlock(key bigint): releases the service leader lock `key`; false when this
// session did not hold it.
CRM_CORE_FUNCTION(crm_core_service_unlock) {
    PG_RETURN_BOOL(crm_core::pg::release_session_lock(LockClass::leader, PG_GETARG_INT64(0)));
}
