#include <string>

#include "pg_call.hpp"

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
    error.from_postgres = true;
    ErrorOrigin& origin = error.origin;
    origin.filename = text_or_empty(edata->filename);
    origin.lineno = edata->lineno;
    origin.funcname = text_or_empty(edata->funcname);
    origin.context = text_or_empty(edata->context);
    origin.internal_query = text_or_empty(edata->internalquery);
    origin.internal_position = edata->internalpos;
    origin.cursor_position = edata->cursorpos;
    origin.domain = edata->domain;
    origin.context_domain = edata->context_domain;
    origin.output_to_server = edata->output_to_server;
    origin.output_to_client = edata->output_to_client;
    origin.hide_statement = edata->hide_stmt;
    origin.hide_context = edata->hide_ctx;
    FreeErrorData(edata);
    throw error;
}

}  // namespace crm_core::pg
