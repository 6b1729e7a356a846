// Days past due and buckets for SQL: the pure rules (lib/pure collections/delinquency.hpp) for
// the debt_position view and run_dpd's set-based statement.
#include <optional>

#include "collections/delinquency.hpp"
#include "configuration.hpp"
#include "function.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/date.h"
}

using namespace crm_core::collections;
using crm_core::pg::Error;
using crm_core::pg::pg_call;

// collections.days_past_due(unpaid_since, as_of, grace_days)
CRM_CORE_FUNCTION(crm_collections_days_past_due) {
    if (PG_ARGISNULL(1)) {
        PG_RETURN_NULL();
    }
    std::optional<int32_t> unpaid_since;
    if (!PG_ARGISNULL(0)) {
        unpaid_since = PG_GETARG_DATEADT(0);
    }
    int32_t grace_days = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
    return Int32GetDatum(days_past_due(unpaid_since, PG_GETARG_DATEADT(1), grace_days));
}

// collections._bucket_state(business_id, unpaid_since, as_of, grace_days,
//                           OUT days_past_due, OUT bucket_id, OUT changes_on)
CRM_CORE_FUNCTION(crm_collections_bucket_state) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(2)) {
        throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "business_id and as_of are required");
    }
    int64_t business_id = PG_GETARG_INT64(0);
    std::optional<int32_t> unpaid_since;
    if (!PG_ARGISNULL(1)) {
        unpaid_since = PG_GETARG_DATEADT(1);
    }
    int32_t as_of = PG_GETARG_DATEADT(2);
    int32_t grace_days = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);
    // Cached per backend: run_dpd calls this once per debt.
    const std::vector<Bucket>* buckets = glue::cached_buckets(business_id);
    if (buckets == nullptr) {
        glue::as_owner([&] { glue::buckets(business_id); });
        buckets = glue::cached_buckets(business_id);
    }
    BucketState state = bucket_state(*buckets, unpaid_since, as_of, grace_days);
    Datum values[3] = {Int32GetDatum(state.days_past_due),
                       state.bucket_id ? Int64GetDatum(*state.bucket_id) : 0,
                       state.changes_on ? DateADTGetDatum(*state.changes_on) : 0};
    bool nulls[3] = {false, !state.bucket_id, !state.changes_on};
    return pg_call([&] {
        TupleDesc descriptor = nullptr;
        if (get_call_result_type(fcinfo, nullptr, &descriptor) != TYPEFUNC_COMPOSITE) {
            elog(ERROR, "collections._bucket_state must return a record");
        }
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(descriptor), values, nulls));
    });
}
