#include <string>
#include <unordered_set>

#include "function.hpp"

namespace crm_core::pg {

namespace {

// Copies text into the current memory context without ereport on out-of-memory.
const char* copy_text(const std::string& text) noexcept {
    if (text.empty()) {
        return nullptr;
    }
    auto* copy = static_cast<char*>(
        MemoryContextAllocExtended(CurrentMemoryContext, text.size() + 1, MCXT_ALLOC_NO_OOM));
    if (copy == nullptr) {
        return nullptr;
    }
    memcpy(copy, text.c_str(), text.size() + 1);
    return copy;
}

// A copy of a source file or function name that lives as long as the backend. PostgreSQL
// treats ErrorData's filename and funcname as static strings (CopyErrorData and ReThrowError
// keep the pointers), so a copy in the call's memory could be read after that memory is gone
// (a PL/pgSQL EXCEPTION block copies the error, rolls back, and may RAISE it again). Bounded:
// there are only so many places in PostgreSQL that raise errors. nullptr when memory ran out.
const char* backend_lifetime_text(const std::string& text) noexcept {
    static std::unordered_set<std::string> texts;
    if (text.empty()) {
        return nullptr;
    }
    try {
        return texts.insert(text).first->c_str();
    } catch (...) {
        return nullptr;
    }
}

// The ErrorData PostgreSQL raised, rebuilt from a copied Error in the current memory context
// (its texts are report's copies); nullptr when memory ran out. Never throws nor ereports.
ErrorData* original_error(const Error& error, const ErrorReport& report) noexcept {
    auto* data = static_cast<ErrorData*>(MemoryContextAllocExtended(
        CurrentMemoryContext, sizeof(ErrorData), MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO));
    if (data == nullptr) {
        return nullptr;
    }
    const ErrorOrigin& origin = error.origin;
    data->elevel = ERROR;
    data->output_to_server = origin.output_to_server;
    data->output_to_client = origin.output_to_client;
    data->hide_stmt = origin.hide_statement;
    data->hide_ctx = origin.hide_context;
    data->filename = backend_lifetime_text(origin.filename);
    data->lineno = origin.lineno;
    data->funcname = backend_lifetime_text(origin.funcname);
    data->domain = origin.domain;
    data->context_domain = origin.context_domain;
    data->sqlerrcode = report.sqlstate;
    data->message = const_cast<char*>(report.message);
    data->detail = const_cast<char*>(report.detail);
    data->hint = const_cast<char*>(report.hint);
    data->context = const_cast<char*>(copy_text(origin.context));
    data->schema_name = const_cast<char*>(report.schema_name);
    data->table_name = const_cast<char*>(report.table_name);
    data->column_name = const_cast<char*>(report.column_name);
    data->datatype_name = const_cast<char*>(report.datatype_name);
    data->constraint_name = const_cast<char*>(report.constraint_name);
    data->cursorpos = origin.cursor_position;
    data->internalpos = origin.internal_position;
    data->internalquery = const_cast<char*>(copy_text(origin.internal_query));
    return data;
}

}  // namespace

const char* const changed_error_stacks_message =
    "crm_core: C++ code left PostgreSQL's error stacks changed (an exception or longjmp crossed "
    "a PG_TRY block); the stacks were restored";

ErrorReport report_for(const Error& error) noexcept {
    ErrorReport report{};
    report.sqlstate = error.sqlstate();
    report.message = copy_text(error.what());
    report.detail = copy_text(error.detail());
    report.hint = copy_text(error.hint());
    report.schema_name = copy_text(error.schema_name);
    report.table_name = copy_text(error.table_name);
    report.column_name = copy_text(error.column_name);
    report.datatype_name = copy_text(error.datatype_name);
    report.constraint_name = copy_text(error.constraint_name);
    if (error.from_postgres) {
        report.original = original_error(error, report);
    }
    return report;
}

ErrorReport report_for(int sqlstate, const char* message) noexcept {
    ErrorReport report{};
    report.sqlstate = sqlstate;
    report.message = message;
    return report;
}

[[noreturn]] void raise(const ErrorReport& report) {
    if (report.original != nullptr && report.original->message != nullptr) {
        // As PL/pgSQL's RAISE without arguments: the same fields, location and context;
        // ReThrowError skips the context callbacks, whose lines the context already holds.
        ReThrowError(report.original);
    }
    const char* message = report.message != nullptr ? report.message : "crm_core error";
    ereport(
        ERROR,
        (errcode(report.sqlstate), errmsg_internal("%s", message),
         report.detail ? errdetail_internal("%s", report.detail) : 0,
         report.hint ? errhint("%s", report.hint) : 0,
         report.schema_name ? err_generic_string(PG_DIAG_SCHEMA_NAME, report.schema_name) : 0,
         report.table_name ? err_generic_string(PG_DIAG_TABLE_NAME, report.table_name) : 0,
         report.column_name ? err_generic_string(PG_DIAG_COLUMN_NAME, report.column_name) : 0,
         report.datatype_name ? err_generic_string(PG_DIAG_DATATYPE_NAME, report.datatype_name) : 0,
         report.constraint_name
             ? err_generic_string(PG_DIAG_CONSTRAINT_NAME, report.constraint_name)
             : 0));
    pg_unreachable();
}

}  // namespace crm_core::pg
