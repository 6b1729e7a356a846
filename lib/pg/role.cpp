#include "role.hpp"

#include "acting_as.hpp"

namespace crm_core::pg {

void as_role(Oid role, const std::function<void()>& fn) {
    ActingAs acting(
        role, ActingAs::Mode::definer,
        {{"search_path", "pg_catalog, pg_temp"}, {"plan_cache_mode", "force_generic_plan"}});
    fn();
}

bool invoked_by_superuser() {
    Oid outer_user = GetOuterUserId();
    return pg_call([&] { return superuser_arg(outer_user); });
}

}  // namespace crm_core::pg
