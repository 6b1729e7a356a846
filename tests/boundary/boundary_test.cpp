// Test-only SQL functions that prove the error boundary rules on a real server.
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "crm_core/sqlstate.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "spi.hpp"

extern "C" {
PG_MODULE_MAGIC;
}

namespace {

int64 destructor_count = 0;

// Counts its own destruction: proves stack unwinding ran through a frame.
struct DestructorProbe {
    DestructorProbe() = default;
    DestructorProbe(const DestructorProbe&) = delete;
    DestructorProbe& operator=(const DestructorProbe&) = delete;
    ~DestructorProbe() { ++destructor_count; }
};

}  // namespace

// throw_error(sqlstate, message, detail, hint): a C++ exception with an intended SQLSTATE.
CRM_CORE_FUNCTION(crm_core_test_throw_error) {
    std::string code = crm_core::pg::text_argument(fcinfo, 0);
    int sqlstate = crm_core::pack_sqlstate(code);
    if (sqlstate < 0) {
        throw crm_core::pg::Error(ERRCODE_INVALID_PARAMETER_VALUE,
                                  "invalid SQLSTATE \"" + code + "\"",
                                  "A SQLSTATE is five digits or upper-case letters.");
    }
    throw crm_core::pg::Error(sqlstate, crm_core::pg::text_argument(fcinfo, 1),
                              crm_core::pg::text_argument(fcinfo, 2),
                              crm_core::pg::text_argument(fcinfo, 3));
}

// throw_std_exception(message): a plain std::runtime_error.
CRM_CORE_FUNCTION(crm_core_test_throw_std_exception) {
    throw std::runtime_error(crm_core::pg::text_argument(fcinfo, 0));
}

// throw_bad_alloc(): what a failed C++ allocation looks like.
CRM_CORE_FUNCTION(crm_core_test_throw_bad_alloc) {
    throw std::bad_alloc();
}

// throw_non_std(): an exception that is not a std::exception.
CRM_CORE_FUNCTION(crm_core_test_throw_non_std) {
    throw 42;
}

// run_guarded(sql): runs sql through SPI with a DestructorProbe on the stack.
CRM_CORE_FUNCTION(crm_core_test_run_guarded) {
    DestructorProbe probe;
    std::string sql = crm_core::pg::text_argument(fcinfo, 0);
    crm_core::pg::SpiConnection spi;
    uint64 rows = crm_core::pg::execute_once(sql.c_str(), false);
    PG_RETURN_INT64(static_cast<int64>(rows));
}

// destructor_runs(): how many DestructorProbes were destroyed in this backend.
CRM_CORE_FUNCTION(crm_core_test_destructor_runs) {
    PG_RETURN_INT64(destructor_count);
}

// catch_in_subtransaction(sql): runs sql, catches a PostgreSQL error as a C++ exception and
// returns "SQLSTATE|message|memory context restored?" (or "ok"), and the session carries on.
CRM_CORE_FUNCTION(crm_core_test_catch_in_subtransaction) {
    std::string sql = crm_core::pg::text_argument(fcinfo, 0);
    std::string outcome = "ok";
    {
        crm_core::pg::SpiConnection spi;
        MemoryContext expected = CurrentMemoryContext;
        try {
            crm_core::pg::in_subtransaction(
                [&] { crm_core::pg::execute_once(sql.c_str(), false); });
        } catch (const crm_core::pg::Error& error) {
            outcome = crm_core::unpack_sqlstate(error.sqlstate()) + "|" + error.what() + "|" +
                      (CurrentMemoryContext == expected ? "context-restored" : "context-lost");
        }
    }
    // The result is allocated after SPI_finish, in the function's own memory context.
    return crm_core::pg::string_to_text(outcome);
}

// cached_double(value): value * 2 through a plan prepared once per backend.
CRM_CORE_FUNCTION(crm_core_test_cached_double) {
    static crm_core::pg::CachedPlan plan("SELECT $1::int8 * 2", {INT8OID});
    Datum argument = PG_GETARG_DATUM(0);
    crm_core::pg::SpiConnection spi;
    plan.execute(&argument, nullptr, true, 1);
    std::optional<Datum> value = crm_core::pg::result_value(0, 1);
    PG_RETURN_INT64(DatumGetInt64(*value));
}

// plans_prepared(): how many plans this backend prepared.
CRM_CORE_FUNCTION(crm_core_test_plans_prepared) {
    PG_RETURN_INT64(static_cast<int64>(crm_core::pg::CachedPlan::preparations()));
}

// no_exception_in_flight(): false if an earlier error left a C++ exception half-handled
// (an ereport that longjmp'd out of a catch block would leave one behind).
CRM_CORE_FUNCTION(crm_core_test_no_exception_in_flight) {
    PG_RETURN_BOOL(std::current_exception() == nullptr && std::uncaught_exceptions() == 0);
}

// leave_error_stacks_changed(): the bug the boundary must catch, a C++ exception thrown inside
// a PG_TRY block: it skips PG_END_TRY, so PG_exception_stack still points into this frame.
CRM_CORE_FUNCTION(crm_core_test_leave_error_stacks_changed) {
    PG_TRY();
    { throw std::runtime_error("thrown out of a PG_TRY block"); }
    PG_CATCH();
    { PG_RE_THROW(); }
    PG_END_TRY();
    PG_RETURN_VOID();
}

// error_origin(sql): how a client that catches errors in C sees the error sql raises, as
// "function|file|context" (file without its directory); 'no error' when it succeeds. Plain C
// on purpose, outside the boundary it observes: it is PostgreSQL's side of the call (what
// PL/pgSQL's EXCEPTION block does), with nothing but plain data in its frame.
extern "C" {
PG_FUNCTION_INFO_V1(crm_core_test_error_origin);
Datum crm_core_test_error_origin(PG_FUNCTION_ARGS) {
    char* sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
    MemoryContext caller_context = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    ErrorData* volatile caught = nullptr;
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(caller_context);
    PG_TRY();
    {
        SPI_connect();
        SPI_execute(sql, false, 0);
        SPI_finish();
        ReleaseCurrentSubTransaction();
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        caught = CopyErrorData();
        FlushErrorState();
        RollbackAndReleaseCurrentSubTransaction();
    }
    PG_END_TRY();
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
    if (caught == nullptr) {
        PG_RETURN_TEXT_P(cstring_to_text("no error"));
    }
    const char* file = caught->filename != nullptr ? caught->filename : "";
    const char* slash = strrchr(file, '/');
    PG_RETURN_TEXT_P(cstring_to_text(psprintf(
        "%s|%s|%s", caught->funcname != nullptr ? caught->funcname : "",
        slash != nullptr ? slash + 1 : file, caught->context != nullptr ? caught->context : "")));
}
}
