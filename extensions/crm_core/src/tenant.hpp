// Tenant isolation: the business a session acts for (crm_core.business_id) and who may see
// every business. See tenant.cpp and docs/tenants.md.
#pragma once

#include <optional>

#include "pg_includes.hpp"

namespace crm_core::pg::tenant {

// Defines the crm_core.business_id setting; called from _PG_init. Holds no C++ object, so an
// error PostgreSQL raises in it unwinds nothing of ours.
void define_business_setting();

// Whether role sees every business: a superuser, a role with BYPASSRLS, or a member of
// crm_core_service.
bool has_global_view(Oid role);

// The business this session acts for (std::nullopt: none set); throws 42501 when the session's
// role (the login, or the role it SET ROLE to) was neither granted it nor has the global view.
std::optional<int64> current_business();

}  // namespace crm_core::pg::tenant
