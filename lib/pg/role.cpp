#include "role.hpp"

#include "acting_as.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace crm_core::pg {

bool citus_loaded() {
    static const bool loaded =
        pg_call([] { return GetConfigOption("citus.version", true, false) != nullptr; });
    return loaded;
}

const char* fixed_statements_plan_mode() {
    return citus_loaded() ? "auto" : "force_generic_plan";
}

void as_role(Oid role, const std::function<void()>& fn) {
    ActingAs acting(role, ActingAs::Mode::definer,
                    {{"search_path", "pg_catalog, pg_temp"},
                     {"plan_cache_mode", fixed_statements_plan_mode()}});
    fn();
}

bool invoked_by_superuser() {
    Oid outer_user = GetOuterUserId();
    return pg_call([&] { return superuser_arg(outer_user); });
}

}  // namespace crm_core::pg
