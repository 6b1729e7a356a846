// Helpers shared by crm_core's trigger functions (append-only guards, audit, ledger guard).
#pragma once

#include <optional>
#include <string>

#include "guard.hpp"
#include "trigger.hpp"

extern "C" {
#include "utils/rel.h"
}

namespace crm_core::pg {

// "schema.table" of the trigger's relation, quoted where needed, for messages.
std::string qualified_name(Relation relation);

// The text form of column attnum (1-based) of tuple, or std::nullopt for NULL.
std::optional<std::string> column_text(HeapTuple tuple, TupleDesc descriptor, int attnum);

// The operation that fired the trigger: "INSERT", "UPDATE", "DELETE" or "TRUNCATE".
const char* trigger_operation(const TriggerData* data);

// Whether the role running the statement (SET ROLE included, SECURITY DEFINER excluded) is a
// superuser: the role crm_core's guards decide on.
bool invoked_by_superuser();

}  // namespace crm_core::pg
