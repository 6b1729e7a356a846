// The collection workflow's SQL-callable functions over the pure logic: reminder templates
// (lib/pure collections/message_template.hpp), the load-balancing quotas of bulk reassignment
// (workload.hpp) and the outbox's retry backoff (crm_core's job_schedule.hpp).
#include <optional>
#include <string>
#include <vector>

#include "collections/message_template.hpp"
#include "collections/workload.hpp"
#include "crm_core/job_schedule.hpp"
#include "datum.hpp"
#include "function.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

using crm_core::pg::Error;
using crm_core::pg::pg_call;
using namespace crm_core::collections;

namespace {

std::vector<std::optional<std::int64_t>> bigint_array(Datum array) {
    std::vector<std::optional<std::int64_t>> values;
    for (const std::optional<Datum>& element : crm_core::pg::array_elements(array, INT8OID)) {
        values.push_back(element ? std::optional<std::int64_t>(DatumGetInt64(*element))
                                 : std::nullopt);
    }
    return values;
}

ParsedTemplate parsed_or_refused(const std::string& text, const std::string& what) {
    ParsedTemplate parsed;
    std::string problem;
    if (!parse_template(text, parsed, problem)) {
        Error error(ERRCODE_INVALID_PARAMETER_VALUE, "template " + what + ": " + problem, "",
                    "Write placeholders as {{name}} with a name from "
                    "SELECT collections.template_placeholders();");
        error.schema_name = "collections";
        error.table_name = "dunning_template";
        error.column_name = what;
        throw error;
    }
    return parsed;
}

}  // namespace

// collections._check_template(text, what): refuses (22023) a template that does not parse.
CRM_CORE_FUNCTION(crm_collections_check_template) {
    if (PG_ARGISNULL(0)) {
        PG_RETURN_VOID();
    }
    std::string what = PG_ARGISNULL(1) ? "text" : crm_core::pg::text_argument(fcinfo, 1);
    parsed_or_refused(crm_core::pg::text_argument(fcinfo, 0), what);
    PG_RETURN_VOID();
}

// collections._render_template(text, vals text[]) (STRICT)
CRM_CORE_FUNCTION(crm_collections_render_template) {
    ParsedTemplate parsed = parsed_or_refused(crm_core::pg::text_argument(fcinfo, 0), "text");
    std::vector<std::optional<std::string>> values;
    for (const std::optional<Datum>& element :
         crm_core::pg::array_elements(PG_GETARG_DATUM(1), TEXTOID)) {
        values.push_back(element
                             ? std::optional<std::string>(crm_core::pg::text_to_string(*element))
                             : std::nullopt);
    }
    return crm_core::pg::string_to_text(render_template(parsed, values));
}

// collections.template_placeholders(): text[]
CRM_CORE_FUNCTION(crm_collections_template_placeholders) {
    const std::vector<std::string>& names = template_placeholders();
    std::vector<Datum> texts;
    for (const std::string& name : names) {
        texts.push_back(crm_core::pg::string_to_text(name));
    }
    return pg_call([&] {
        return PointerGetDatum(construct_array(texts.data(), static_cast<int>(texts.size()),
                                               TEXTOID, -1, false, TYPALIGN_INT));
    });
}

// collections._balance_quotas(loads bigint[], capacities bigint[], n bigint): bigint[]
CRM_CORE_FUNCTION(crm_collections_balance_quotas) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2)) {
        throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "loads, capacities and n are required");
    }
    std::vector<std::int64_t> loads;
    for (const std::optional<std::int64_t>& load : bigint_array(PG_GETARG_DATUM(0))) {
        loads.push_back(load.value_or(0));
    }
    std::vector<std::optional<std::int64_t>> capacities = bigint_array(PG_GETARG_DATUM(1));
    if (capacities.size() != loads.size()) {
        throw Error(ERRCODE_ARRAY_SUBSCRIPT_ERROR,
                    "loads and capacities must have one entry per agent");
    }
    std::vector<std::int64_t> quotas = balanced_quotas(loads, capacities, PG_GETARG_INT64(2));
    std::vector<Datum> datums;
    for (std::int64_t quota : quotas) {
        datums.push_back(Int64GetDatum(quota));
    }
    return pg_call([&] {
        return PointerGetDatum(construct_array(datums.data(), static_cast<int>(datums.size()),
                                               INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    });
}

// collections._retry_delay_ms(attempt, initial_ms, max_ms, jitter, random01) (STRICT)
CRM_CORE_FUNCTION(crm_collections_retry_delay_ms) {
    int attempt = PG_GETARG_INT32(0);
    std::int64_t initial_ms = PG_GETARG_INT64(1);
    std::int64_t max_ms = PG_GETARG_INT64(2);
    double jitter = PG_GETARG_FLOAT8(3);
    double random01 = PG_GETARG_FLOAT8(4);
    if (attempt < 1 || initial_ms < 1 || max_ms < initial_ms || !(jitter >= 0 && jitter <= 0.5) ||
        !(random01 >= 0 && random01 < 1)) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                    "retry delay needs attempt >= 1, 1 <= initial_ms <= max_ms, jitter from 0 to "
                    "0.5 and random01 in [0, 1)");
    }
    return Int64GetDatum(crm_core::backoff_delay_ms(
        crm_core::RetryPolicy{initial_ms, max_ms, jitter}, attempt, random01));
}
