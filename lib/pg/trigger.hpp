// What every trigger function needs from its call: the TriggerData, the event, a column as text.
#pragma once

#include <optional>
#include <string>

#include "pg_call.hpp"

extern "C" {
#include "commands/trigger.h"
#include "utils/rel.h"
}

namespace crm_core::pg {

// The TriggerData of a trigger call; throws when the function was called some other way.
TriggerData* trigger_data(FunctionCallInfo fcinfo, const char* function_name);

// The text form of column attnum (1-based) of tuple, or std::nullopt for NULL.
std::optional<std::string> column_text(HeapTuple tuple, TupleDesc descriptor, int attnum);

// The operation that fired the trigger: "INSERT", "UPDATE", "DELETE" or "TRUNCATE".
const char* trigger_operation(const TriggerData* data);

// The error a guard raises for a refused change: the table, the operation, and what to do
// instead ("UPDATE on t is refused: <what> are append-only").
Error append_only_error(const std::string& table, const char* operation, const char* what);

}  // namespace crm_core::pg
