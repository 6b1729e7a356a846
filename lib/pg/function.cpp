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
    return report;
}

ErrorReport report_for(int sqlstate, const char* message) noexcept {
    ErrorReport report{};
    report.sqlstate = sqlstate;
    report.message = message;
    return report;
}

[[noreturn]] void raise(const ErrorReport& report) {
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
