// Running work as another role, the way a SECURITY DEFINER function does: a trigger that must
// write tables its caller may only read (balances, allocations) runs those statements as the
// owner of its extension's schema, with search_path pinned.
#pragma once

#include <functional>

#include "pg_call.hpp"
#include "relation.hpp"

namespace crm_core::pg {

// Runs fn as role, with search_path pinned to "pg_catalog, pg_temp" and generic plans (the
// statements run this way are key lookups and small set-based writes), like a SECURITY DEFINER
// function: not a security-restricted operation, since fn's statements post journal entries,
// whose deferred balance check PostgreSQL refuses to queue inside one. fn must therefore run
// only fixed statements on tables whose triggers only the role's peers can change. The role and
// the settings are restored on every path (ActingAs).
void as_role(Oid role, const std::function<void()>& fn);

// Whether the role running the statement (SET ROLE included, SECURITY DEFINER excluded) is a
// superuser: the role crm_core's guards decide on.
bool invoked_by_superuser();

}  // namespace crm_core::pg
