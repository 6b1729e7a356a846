// What every trigger function needs from its call: the TriggerData, the event, column numbers,
// row values (as Datums or text), and the rows of a transition table.
#pragma once

#include <optional>
#include <string>

#include "pg_call.hpp"

extern "C" {
#include "commands/trigger.h"
#include "executor/tuptable.h"
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

// The attribute number of a column the trigger relies on; refuses a table without it.
int column_number(TupleDesc descriptor, const char* name, const char* table);

// A column number looked up by name on first use and re-checked by name on every later use
// (the attribute at the remembered number must still carry the name): a row trigger reads
// the same columns at every call, and SPI_fnumber scans the whole descriptor. The table may
// be altered, or the trigger fire on another relation with another layout (a Citus shard), in
// between: the name is looked up again then.
class CachedColumn {
  public:
    explicit CachedColumn(const char* name) : name_(name) {}
    // The column's attribute number in descriptor; refuses a table without it (column_number).
    int number(TupleDesc descriptor, const char* table);

  private:
    const char* name_;
    int number_ = 0;
};

// A column of a heap tuple, or std::nullopt for NULL.
std::optional<Datum> tuple_value(HeapTuple tuple, TupleDesc descriptor, int column);

// A column of a tuple table slot, or std::nullopt for NULL.
std::optional<Datum> slot_value(TupleTableSlot* slot, int column);

// Reads a transition table (REFERENCING NEW/OLD TABLE) row by row: start(), then next()
// until false, then finish() (also after an exception: the slot lives in the trigger's memory
// context, so skipping finish() only delays freeing it).
class TransitionRows {
  public:
    TransitionRows(Tuplestorestate* rows, TupleDesc descriptor);
    bool next();
    TupleTableSlot* slot() const { return slot_; }
    void finish();

  private:
    Tuplestorestate* rows_;
    TupleTableSlot* slot_ = nullptr;
};

}  // namespace crm_core::pg
