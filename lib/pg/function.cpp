#include <string>

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
    report.from_postgres = error.from_postgres;
    if (error.from_postgres) {
        const ErrorOrigin& origin = error.origin;
        report.filename = copy_text(origin.filename);
        report.lineno = origin.lineno;
        report.funcname = copy_text(origin.funcname);
        report.context = copy_text(origin.context);
        report.internal_query = copy_text(origin.internal_query);
        report.internal_position = origin.internal_position;
        report.cursor_position = origin.cursor_position;
        report.domain = origin.domain;
        report.context_domain = origin.context_domain;
        report.output_to_server = origin.output_to_server;
        report.output_to_client = origin.output_to_client;
        report.hide_statement = origin.hide_statement;
        report.hide_context = origin.hide_context;
    }
    return report;
}

ErrorReport report_for(int sqlstate, const char* message) noexcept {
    ErrorReport report{};
    report.sqlstate = sqlstate;
    report.message = message;
    return report;
}

namespace {

// Re-throws an error PostgreSQL raised, as PL/pgSQL's RAISE without arguments does: the same
// fields, location and context; ReThrowError copies them into the error stack and skips the
// context callbacks, whose lines the context already holds.
[[noreturn]] void rethrow_postgres_error(const ErrorReport& report) {
    ErrorData data{};
    data.elevel = ERROR;
    data.output_to_server = report.output_to_server;
    data.output_to_client = report.output_to_client;
    data.hide_stmt = report.hide_statement;
    data.hide_ctx = report.hide_context;
    data.filename = report.filename;
    data.lineno = report.lineno;
    data.funcname = report.funcname;
    data.domain = report.domain;
    data.context_domain = report.context_domain;
    data.sqlerrcode = report.sqlstate;
    data.message = const_cast<char*>(report.message);
    data.detail = const_cast<char*>(report.detail);
    data.hint = const_cast<char*>(report.hint);
    data.context = const_cast<char*>(report.context);
    data.schema_name = const_cast<char*>(report.schema_name);
    data.table_name = const_cast<char*>(report.table_name);
    data.column_name = const_cast<char*>(report.column_name);
    data.datatype_name = const_cast<char*>(report.datatype_name);
    data.constraint_name = const_cast<char*>(report.constraint_name);
    data.cursorpos = report.cursor_position;
    data.internalpos = report.internal_position;
    data.internalquery = const_cast<char*>(report.internal_query);
    ReThrowError(&data);
}

}  // namespace

[[noreturn]] void raise(const ErrorReport& report) {
    if (report.from_postgres && report.message != nullptr) {
        rethrow_postgres_error(report);
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
