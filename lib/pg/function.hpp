// The PostgreSQL side of the error boundary: every SQL-callable and trigger function is an
// extern "C" shim that runs its C++ body inside one catch-all and reports errors only after
// leaving the catch block, so no longjmp ever crosses a C++ frame or an active exception.
#pragma once

#include <exception>
#include <new>
#include <type_traits>

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
    // An error PostgreSQL raised (Error::from_postgres), rebuilt with its origin to be
    // re-thrown as it was; nullptr for an error of our own (or when memory ran out).
    ErrorData* original;
};

// PostgreSQL's error-handling state when C++ code starts: after the code, both stacks must be
// as they were. A C++ exception thrown out of a PG_TRY block (or a longjmp out of C++ code)
// leaves PG_exception_stack pointing into a dead frame, where the next ereport would jump;
// the boundary checks for that after every body, restores the stacks and reports it.
struct ErrorStacks {
    sigjmp_buf* exception_stack;
    ErrorContextCallback* context_stack;

    static ErrorStacks current() noexcept { return {PG_exception_stack, error_context_stack}; }
    bool unchanged() const noexcept {
        return PG_exception_stack == exception_stack && error_context_stack == context_stack;
    }
    void restore() const noexcept {
        PG_exception_stack = exception_stack;
        error_context_stack = context_stack;
    }
};

// What the boundary reports when C++ code left the stacks changed.
extern const char* const changed_error_stacks_message;

// Copies an Error for reporting; never throws and never ereports.
ErrorReport report_for(const Error& error) noexcept;

// Copies a plain message for reporting; never throws and never ereports.
ErrorReport report_for(int sqlstate, const char* message) noexcept;

// ereports the copied error at level ERROR (an error PostgreSQL raised is re-thrown as it was,
// without running the error context callbacks a second time); called only outside any catch
// block.
[[noreturn]] void raise(const ErrorReport& report);

// Runs body() and turns every C++ exception into an ordinary PostgreSQL error: the boundary of
// every entry point PostgreSQL calls (SQL functions, triggers, transaction callbacks).
template <typename Body>
auto report_errors(Body body) -> decltype(body()) {
    MemoryContext call_context = CurrentMemoryContext;
    const ErrorStacks stacks = ErrorStacks::current();
    ErrorReport report{};
    try {
        if constexpr (std::is_void_v<decltype(body())>) {
            body();
            if (!stacks.unchanged()) {
                throw Error(ERRCODE_INTERNAL_ERROR, changed_error_stacks_message);
            }
            return;
        } else {
            auto result = body();
            if (!stacks.unchanged()) {
                throw Error(ERRCODE_INTERNAL_ERROR, changed_error_stacks_message);
            }
            return result;
        }
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
    if (!stacks.unchanged()) {
        stacks.restore();
        MemoryContextSwitchTo(call_context);
        report = report_for(ERRCODE_INTERNAL_ERROR, changed_error_stacks_message);
    }
    raise(report);
}

// Runs body(fcinfo) and turns every C++ exception into an ordinary PostgreSQL error.
template <typename Body>
Datum call_cpp(Body body, FunctionCallInfo fcinfo) {
    return report_errors([&] { return body(fcinfo); });
}

}  // namespace crm_core::pg

// Defines the SQL-callable function `name`; the braces that follow are its C++ body, which
// sees `fcinfo` and returns a Datum. Calls into PostgreSQL inside it go through pg_call(). Before
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
