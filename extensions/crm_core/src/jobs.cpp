// Registered jobs (sql/install/50_jobs*.sql): the parts that need C. A job belongs to the role
// that registered it and runs with that role's privileges, never with the runner's
// (crm-core-service or a cron role), so:
//  - registration records the role calling crm_core.schedule_job(), which only C can see (a
//    SECURITY DEFINER function would see its owner), and writes crm_core.job as its owner;
//  - a run switches to that role as a security-restricted operation (crm_core.run_job pins the
//    search_path), reverts every setting the job changed, and bounds the job with its
//    statement_timeout.
#include <string>

#include "acting_as.hpp"
#include "crm_core/job_schedule.hpp"
#include "function.hpp"
#include "spi.hpp"

extern "C" {
#include "commands/extension.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
}

namespace {

// Whether the last crm_core._job_call() of this backend was stopped by its statement_timeout.
bool last_job_timed_out = false;

// Calls `sql` (a crm_core function taking the calling role as $1, then `arguments`) as the
// owner of crm_core.job and returns its single result, or nullopt for NULL.
std::optional<Datum> call_as_job_owner(crm_core::pg::CachedPlan& plan, Datum* values,
                                       const char* nulls) {
    // The owner of crm_core.job (the extension's owner): registrations are written as that role.
    Oid owner = crm_core::pg::relation_owner(crm_core::pg::relation_id("crm_core", "job"));
    crm_core::pg::ActingAs as_owner(owner, true);
    plan.execute(values, nulls, false, 1);
    return crm_core::pg::result_value(0, 1);
}

// Bounds a job by its statement_timeout: arms PostgreSQL's statement timer for the job's deadline
// unless the running statement's own timeout comes sooner, and gives the statement its own timer
// back afterwards. The timer functions fail only with FATAL (the process exits, no longjmp).
class JobTimeout {
  public:
    explicit JobTimeout(int64 timeout_ms) {
        TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
        outer_active_ = get_timeout_active(STATEMENT_TIMEOUT);
        if (outer_active_) {
            outer_deadline_ = get_timeout_finish_time(STATEMENT_TIMEOUT);
        }
        if (!outer_active_ || deadline < outer_deadline_) {
            enable_timeout_at(STATEMENT_TIMEOUT, deadline);
            armed_ = true;
        }
    }
    ~JobTimeout() {
        // A fired timer is no longer active: the error the job ended with is its timeout.
        last_job_timed_out = armed_ && !get_timeout_active(STATEMENT_TIMEOUT);
        if (armed_) {
            disable_timeout(STATEMENT_TIMEOUT, false);
            if (outer_active_) {
                enable_timeout_at(STATEMENT_TIMEOUT, outer_deadline_);
            }
        }
    }
    JobTimeout(const JobTimeout&) = delete;
    JobTimeout& operator=(const JobTimeout&) = delete;

  private:
    bool armed_ = false;
    bool outer_active_ = false;
    TimestampTz outer_deadline_ = 0;
};

}  // namespace

// crm_core.schedule_job(name, job, every, statement_timeout, start_at): registers (or replaces)
// a job for the calling role; crm_core._job_register does the checks and the write. During
// CREATE/ALTER EXTENSION the registering extension is recorded (its script registers it again
// on restore, so pg_dump leaves its rows out).
CRM_CORE_FUNCTION(crm_core_schedule_job) {
    static crm_core::pg::CachedPlan plan_register(
        "SELECT crm_core._job_register($1, $2, $3, $4, $5, $6, $7::pg_catalog.name)",
        {REGROLEOID, TEXTOID, REGPROCEDUREOID, INTERVALOID, INTERVALOID, TIMESTAMPTZOID, TEXTOID});
    Datum values[7];
    char nulls[7];
    values[0] = ObjectIdGetDatum(GetUserId());
    nulls[0] = ' ';
    for (int i = 0; i < 5; ++i) {
        values[i + 1] = PG_ARGISNULL(i) ? 0 : PG_GETARG_DATUM(i);
        nulls[i + 1] = PG_ARGISNULL(i) ? 'n' : ' ';
    }
    const char* extension = crm_core::pg::pg_call(
        [] { return creating_extension ? get_extension_name(CurrentExtensionObject) : nullptr; });
    values[6] = extension != nullptr ? CStringGetTextDatum(extension) : 0;
    nulls[6] = extension != nullptr ? ' ' : 'n';
    crm_core::pg::SpiConnection spi;
    std::optional<Datum> next_due = call_as_job_owner(plan_register, values, nulls);
    if (!next_due) {
        PG_RETURN_NULL();
    }
    PG_RETURN_DATUM(*next_due);
}

// crm_core.unschedule_job(name): removes a job of the calling role (crm_core._job_unregister).
CRM_CORE_FUNCTION(crm_core_unschedule_job) {
    static crm_core::pg::CachedPlan plan_unregister("SELECT crm_core._job_unregister($1, $2)",
                                                    {REGROLEOID, TEXTOID});
    Datum values[2] = {ObjectIdGetDatum(GetUserId()), PG_GETARG_DATUM(0)};
    crm_core::pg::SpiConnection spi;
    std::optional<Datum> removed = call_as_job_owner(plan_unregister, values, nullptr);
    PG_RETURN_BOOL(removed && DatumGetBool(*removed));
}

// crm_core._job_call(job, run_as, timeout_ms): runs the job function (no arguments) once as
// run_as, returns the rows it returned. The caller (crm_core.run_job) has checked that run_as
// may run it and catches its errors in a subtransaction, whose abort undoes what this sets.
CRM_CORE_FUNCTION(crm_core_job_call) {
    const Oid function = PG_GETARG_OID(0);
    const Oid role = PG_GETARG_OID(1);
    const int64 timeout_ms = PG_GETARG_INT64(2);
    last_job_timed_out = false;
    std::string call = crm_core::pg::pg_call([&] {
        char* schema = get_namespace_name(get_func_namespace(function));
        char* name = get_func_name(function);
        if (schema == nullptr || name == nullptr) {
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                            errmsg("function with OID %u does not exist", function)));
        }
        return psprintf("SELECT pg_catalog.count(*) FROM %s()",
                        quote_qualified_identifier(schema, name));
    });
    crm_core::pg::SpiConnection spi;
    // Whatever the job sets (even with SET, not SET LOCAL) is reverted afterwards. Its
    // search_path is crm_core.run_job's: pg_catalog, pg_temp.
    crm_core::pg::ActingAs as_role(role, crm_core::pg::ActingAs::Mode::restricted,
                                   {{"search_path", "pg_catalog, pg_temp"}});
    int64 rows = 0;
    {
        JobTimeout timeout(timeout_ms);
        crm_core::pg::execute_once(call.c_str(), false, 1);
        rows = DatumGetInt64(*crm_core::pg::result_value(0, 1));
    }
    PG_RETURN_INT64(rows);
}

// crm_core._job_timed_out(): whether the last crm_core._job_call() in this backend ended because
// its own statement_timeout expired (not the statement's, nor a cancel request).
CRM_CORE_FUNCTION(crm_core_job_timed_out) {
    PG_RETURN_BOOL(last_job_timed_out);
}

// crm_core._job_next_run_delay_ms(interval_ms, consecutive_failures, backoff_initial_ms,
// backoff_max_ms, jitter, random01): when a job is due again after a run (job_schedule.hpp).
CRM_CORE_FUNCTION(crm_core_job_next_run_delay_ms) {
    crm_core::RetryPolicy policy{PG_GETARG_INT64(2), PG_GETARG_INT64(3), PG_GETARG_FLOAT8(4)};
    PG_RETURN_INT64(crm_core::next_run_delay_ms(PG_GETARG_INT64(0), PG_GETARG_INT32(1), policy,
                                                PG_GETARG_FLOAT8(5)));
}
