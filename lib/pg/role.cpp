#include "role.hpp"

#include "acting_as.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "utils/guc.h"
#include "utils/syscache.h"
}

namespace crm_core::pg {

Oid schema_owner(const char* schema) {
    return guard([&] {
        Oid namespace_oid = get_namespace_oid(schema, false);
        HeapTuple tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(namespace_oid));
        if (!HeapTupleIsValid(tuple)) {
            elog(ERROR, "cache lookup failed for schema %s", schema);
        }
        Oid owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
        ReleaseSysCache(tuple);
        return owner;
    });
}

void as_role(Oid role, const std::function<void()>& fn) {
    ActingAs acting(role, false);
    int guc_level = guard([] {
        int level = NewGUCNestLevel();
        set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
        set_config_option("plan_cache_mode", "force_generic_plan", PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
        return level;
    });
    fn();
    guard([&] { AtEOXact_GUC(true, guc_level); });
}

}  // namespace crm_core::pg
