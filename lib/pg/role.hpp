// Running work as another role, the way a SECURITY DEFINER function does: a trigger that must
// write tables its caller may only read (balances, allocations) runs those statements as the
// owner of its extension's schema, with search_path pinned.
#pragma once

#include <functional>

#include "guard.hpp"

namespace crm_core::pg {

// The owner of a schema (an extension's schema belongs to the role that created it).
Oid schema_owner(const char* schema);

// Runs fn as role, with search_path pinned to "pg_catalog, pg_temp" and generic plans (the
// statements run this way are key lookups and small set-based writes), like a SECURITY DEFINER
// function: not a security-restricted operation, since fn's statements post journal entries,
// whose deferred balance check PostgreSQL refuses to queue inside one. fn must therefore run
// only fixed statements on tables whose triggers only the role's peers can change. The role is
// restored on every path (ActingAs); when fn throws, the (sub)transaction's abort restores the
// settings.
void as_role(Oid role, const std::function<void()>& fn);

}  // namespace crm_core::pg
