#include "lock.hpp"

extern "C" {
#include "storage/lock.h"
}

namespace crm_core::pg {

namespace {

// The lock tag: this database, the key's two halves, the class in place of pg_advisory_lock's
// 1 (one bigint key) or 2 (two integer keys).
LOCKTAG tag_of(LockClass lock_class, std::int64_t key) {
    LOCKTAG tag;
    auto bits = static_cast<std::uint64_t>(key);
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(bits >> 32),
                         static_cast<uint32>(bits), static_cast<uint16>(lock_class));
    return tag;
}

}  // namespace

bool try_lock(LockClass lock_class, std::int64_t key, LockScope scope) {
    LOCKTAG tag = tag_of(lock_class, key);
    bool session = scope == LockScope::session;
    LockAcquireResult result =
        pg_call([&] { return LockAcquire(&tag, ExclusiveLock, session, true); });
    return result != LOCKACQUIRE_NOT_AVAIL;
}

void wait_for_lock(LockClass lock_class, std::int64_t key) {
    LOCKTAG tag = tag_of(lock_class, key);
    pg_call([&] { LockAcquire(&tag, ExclusiveLock, false, false); });
}

bool release_session_lock(LockClass lock_class, std::int64_t key) {
    LOCKTAG tag = tag_of(lock_class, key);
    return pg_call([&] { return LockRelease(&tag, ExclusiveLock, true); });
}

}  // namespace crm_core::pg
