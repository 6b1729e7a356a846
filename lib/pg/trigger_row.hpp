// Reading and rewriting the row a trigger fires for, by column name: what a row trigger that
// fills in or checks columns needs, with every PostgreSQL call through pg_call().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg_call.hpp"
#include "trigger.hpp"

namespace crm_core::pg {

// The row a row trigger fires for (NEW for INSERT and UPDATE), with the changes the trigger
// makes to it collected until result().
class TriggerRow {
  public:
    TriggerRow(HeapTuple tuple, TupleDesc descriptor);

    // The attribute number of a column; throws when the table has no such column.
    int column(const char* name) const;

    // A column's value, or std::nullopt for NULL.
    std::optional<Datum> get(const char* name) const;
    std::optional<int64> get_int64(const char* name) const;
    std::optional<std::string> get_text(const char* name) const;

    // Sets a column (std::nullopt: NULL) in the row result() returns.
    void set(const char* name, std::optional<Datum> value);

    // The row with the changes made by set() (the original tuple when none).
    HeapTuple result() const;

  private:
    HeapTuple tuple_;
    TupleDesc descriptor_;
    std::vector<int> changed_columns_;
    std::vector<Datum> changed_values_;
    std::vector<bool> changed_nulls_;
};

// Arrays for set-based statements (unnest($1::bigint[], ...)); a nullopt element is NULL.
Datum int8_array(const std::vector<std::optional<int64>>& values);
Datum datum_array(const std::vector<std::optional<Datum>>& values, Oid element_type);

}  // namespace crm_core::pg
