// Conversions between PostgreSQL Datums and C++ values, through pg_call() where PostgreSQL may
// ereport.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg_call.hpp"

namespace crm_core::pg {

// A text Datum (possibly toasted) as a std::string.
std::string text_to_string(Datum value);

// Whether a text Datum (possibly toasted) equals expected, without copying it.
bool text_equals(Datum value, std::string_view expected);

// A numeric Datum as text ("12.50", "NaN"), for messages.
std::string numeric_text(Datum value);

// A std::string as a new text Datum in the current memory context.
Datum string_to_text(std::string_view value);

// Argument n of a function call as a std::string; the function must be STRICT or check NULL.
inline std::string text_argument(FunctionCallInfo fcinfo, int n) {
    return text_to_string(PG_GETARG_DATUM(n));
}

// An integer Datum of type int2, int4 or int8 (any other type is read as int8) as int64.
int64_t integer_datum(Datum value, Oid type);

// A one-dimensional array of element_type holding values (nulls[i] true: element i is NULL),
// in the current memory context. Values of a by-reference type must stay valid until then.
Datum make_array(Oid element_type, const std::vector<Datum>& values,
                 const std::vector<bool>& nulls);

// The elements of a one-dimensional array of element_type (std::nullopt: a NULL element),
// detoasted into the current memory context.
std::vector<std::optional<Datum>> array_elements(Datum array, Oid element_type);

}  // namespace crm_core::pg
