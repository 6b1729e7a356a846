// crm_core's own advisory locks: PostgreSQL's lock manager and the advisory lock type (so they
// show in pg_locks as locktype 'advisory' in this database), but under lock classes
// (pg_locks.objsubid) that pg_advisory_lock and its siblings never use (they use 1 and 2). No
// role can take or squat them through SQL: only through crm_core's functions, whose EXECUTE
// privilege crm_core grants to no one but its own roles.
#pragma once

#include <cstdint>

#include "pg_call.hpp"

namespace crm_core::pg {

// The classes, as pg_locks.objsubid shows them.
enum class LockClass : std::uint16_t {
    internal = 0x4352,  // "CR": crm_core's own serialization (maintenance, refresh, sealing)
    leader = 0x434c,    // "CL": crm-core-service's leader election
};

enum class LockScope { transaction, session };

// Takes the lock (class, key) in this database without waiting; true when this backend holds
// it now (also when it held it already).
bool try_lock(LockClass lock_class, std::int64_t key, LockScope scope);

// Takes the lock (class, key) until the end of the transaction, waiting for it as any lock
// waits (lock_timeout and deadlock detection apply).
void wait_for_lock(LockClass lock_class, std::int64_t key);

// Releases a session lock (class, key); false when this backend did not hold it.
bool release_session_lock(LockClass lock_class, std::int64_t key);

}  // namespace crm_core::pg
