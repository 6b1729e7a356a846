#include <string>

#include "guard.hpp"

namespace crm_core::pg {

namespace {

// A NULL-safe copy of a C string from ErrorData.
std::string text_or_empty(const char* text) {
    return text == nullptr ? std::string() : text;
}

}  // namespace

[[noreturn]] void throw_error_data(ErrorData* edata) {
    Error error(edata->sqlerrcode, text_or_empty(edata->message), text_or_empty(edata->detail),
                text_or_empty(edata->hint));
    error.schema_name = text_or_empty(edata->schema_name);
    error.table_name = text_or_empty(edata->table_name);
    error.column_name = text_or_empty(edata->column_name);
    error.datatype_name = text_or_empty(edata->datatype_name);
    error.constraint_name = text_or_empty(edata->constraint_name);
    error.context = text_or_empty(edata->context);
    FreeErrorData(edata);
    throw error;
}

}  // namespace crm_core::pg
