// The PostgreSQL side of the error boundary: every SQL-callable and trigger function is an
// extern "C" shim that runs its C++ body inside one catch-all and reports errors only after
// leaving the catch block, so no longjmp ever crosses a C++ frame or an active exception.
#pragma once

#include <exception>
#include <new>

#include "error.hpp"
#include "installed_version.hpp"
#include "pg_includes.hpp"

namespace crm_core::pg {

// What to ereport, copied into PostgreSQL memory: plain data, safe to carry past a catch block.
struct ErrorReport {
    int sqlstate;
    const char* message;
    const char* detail;
    const char* hint;
    const char* schema_name;
    const char* table_name;
    const char* column_name;
    const char* datatype_name;
    const char* constraint_name;
};

// Copies an Error for reporting; never throws and never ereports.
ErrorReport report_for(const Error& error) noexcept;

// Copies a plain message for reporting; never throws and never ereports.
ErrorReport report_for(int sqlstate, const char* message) noexcept;

// ereports the copied error at level ERROR; called only outside any catch block.
[[noreturn]] void raise(const ErrorReport& report);

// Runs body(fcinfo) and turns every C++ exception into an ordinary PostgreSQL error.
template <typename Body>
Datum call_cpp(Body body, FunctionCallInfo fcinfo) {
    MemoryContext call_context = CurrentMemoryContext;
    ErrorReport report{};
    try {
        return body(fcinfo);
    } catch (const Error& error) {
        MemoryContextSwitchTo(call_context);
        report = report_for(error);
    } catch (const std::bad_alloc&) {
        report = report_for(ERRCODE_OUT_OF_MEMORY, "out of memory in crm_core");
    } catch (const std::exception& error) {
        MemoryContextSwitchTo(call_context);
        report = report_for(ERRCODE_INTERNAL_ERROR, error.what());
    } catch (...) {
        report = report_for(ERRCODE_INTERNAL_ERROR, "unknown C++ exception in crm_core");
    }
    raise(report);
}

}  // namespace crm_core::pg

// Defines the SQL-callable function `name`; the braces that follow are its C++ body, which
// sees `fcinfo` and returns a Datum. Calls into PostgreSQL inside it go through guard(). Before
// the body runs, the library refuses to serve SQL objects of another version than its own
// (EXTENSION_NAME and EXTENSION_VERSION come from the extension's build; installed_version.hpp).
#define CRM_CORE_FUNCTION(name) \
    CRM_CORE_DEFINE_FUNCTION(   \
        name, crm_core::pg::require_installed_version(EXTENSION_NAME, EXTENSION_VERSION))

// A function that answers whatever SQL version is installed (e.g. crm_core.version(), which
// tells the library's version to a DBA diagnosing a mismatch).
#define CRM_CORE_FUNCTION_ANY_VERSION(name) CRM_CORE_DEFINE_FUNCTION(name, (void)0)

#define CRM_CORE_DEFINE_FUNCTION(name, version_check)       \
    static Datum name##_body(FunctionCallInfo fcinfo);      \
    extern "C" {                                            \
    PG_FUNCTION_INFO_V1(name);                              \
    Datum name(PG_FUNCTION_ARGS) {                          \
        version_check;                                      \
        return crm_core::pg::call_cpp(name##_body, fcinfo); \
    }                                                       \
    }                                                       \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
