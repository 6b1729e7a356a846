// Conversions between PostgreSQL Datums and C++ values, through pg_call() where PostgreSQL may
// ereport.
#pragma once

#include <string>
#include <string_view>

#include "pg_call.hpp"

namespace crm_core::pg {

// A text Datum (possibly toasted) as a std::string.
std::string text_to_string(Datum value);

// A std::string as a new text Datum in the current memory context.
Datum string_to_text(std::string_view value);

// Argument n of a function call as a std::string; the function must be STRICT or check NULL.
inline std::string text_argument(FunctionCallInfo fcinfo, int n) {
    return text_to_string(PG_GETARG_DATUM(n));
}

}  // namespace crm_core::pg
