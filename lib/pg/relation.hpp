// Catalog facts about relations and schemas that crm_core's C++ code needs: who owns them (the
// identity code acting on them runs as, ActingAs) and their names as SQL and messages spell
// them. The one place these lookups live.
#pragma once

#include <string>

#include "pg_call.hpp"

extern "C" {
#include "utils/rel.h"
}

namespace crm_core::pg {

// The OID of schema.name; throws undefined_table when it does not exist.
Oid relation_id(const char* schema, const char* name);

// The owner of a relation; throws undefined_table when it does not exist.
Oid relation_owner(Oid relation);

// The owner of a schema (an extension's schema belongs to the role that created it).
Oid schema_owner(const char* schema);

// "schema.table", each part quoted where needed: for SQL built from a relation and messages.
std::string qualified_name(Oid relation);
std::string qualified_name(Relation relation);

}  // namespace crm_core::pg
