// The crm_collections library: module magic, cache invalidation, and small SQL-callable
// functions over the pure logic (currency decimals, allocation orders, phone countries, keys).
#include <string>
#include <vector>

#include "collections/allocation.hpp"
#include "crm_core/phone.hpp"
#include "configuration.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "trigger_row.hpp"

extern "C" {
#include "port.h"
#include "utils/array.h"
#include "utils/inval.h"
#include "utils/rel.h"

PG_MODULE_MAGIC;

void _PG_init(void);
void _PG_init(void) {
    crm_core::collections::glue::register_configuration_invalidation();
}
}

using crm_core::pg::Error;
using crm_core::pg::pg_call;

// collections.version(): the version of the loaded library.
CRM_CORE_FUNCTION(crm_collections_version) {
    return crm_core::pg::string_to_text(EXTENSION_VERSION);
}

// Statement trigger on the configuration tables: every backend drops its caches at commit
// (and this one at the next command).
CRM_CORE_FUNCTION(crm_collections_configuration_changed) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "collections._configuration_changed()");
    Oid relation = data->tg_relation->rd_id;
    pg_call([&] { CacheInvalidateRelcacheByRelid(relation); });
    return PointerGetDatum(nullptr);
}

// collections.currency_decimals(currency)
CRM_CORE_FUNCTION(crm_collections_currency_decimals) {
    return Int32GetDatum(
        crm_core::collections::glue::currency_digits(crm_core::pg::text_argument(fcinfo, 0)));
}

// collections._check_allocation_order(text[]): true, or 22023 saying what is wrong.
CRM_CORE_FUNCTION(crm_collections_check_allocation_order) {
    if (PG_ARGISNULL(0)) {
        throw Error(ERRCODE_NOT_NULL_VIOLATION, "allocation_order must not be NULL");
    }
    std::vector<std::string> names;
    for (const std::optional<Datum>& element :
         crm_core::pg::array_elements(PG_GETARG_DATUM(0), TEXTOID)) {
        names.push_back(element ? crm_core::pg::text_to_string(*element) : std::string("NULL"));
    }
    std::string problem;
    if (!crm_core::collections::parse_allocation_order(names, problem)) {
        Error error(ERRCODE_INVALID_PARAMETER_VALUE, problem, "",
                    "For example '{penalty,fee,interest,principal}' (the default).");
        error.schema_name = "collections";
        error.table_name = "product";
        error.column_name = "allocation_order";
        throw error;
    }
    return BoolGetDatum(true);
}

// collections._is_phone_country(country)
CRM_CORE_FUNCTION(crm_collections_is_phone_country) {
    return BoolGetDatum(crm_core::is_known_phone_region(crm_core::pg::text_argument(fcinfo, 0)));
}

// collections._new_fingerprint_key(): 32 bytes from the server's strong random source.
CRM_CORE_FUNCTION(crm_collections_new_fingerprint_key) {
    constexpr int kBytes = 32;
    unsigned char key[kBytes];
    if (!pg_strong_random(key, kBytes)) {
        throw Error(ERRCODE_INTERNAL_ERROR, "could not generate a random fingerprint key");
    }
    return pg_call([&] {
        bytea* result = static_cast<bytea*>(palloc(VARHDRSZ + kBytes));
        SET_VARSIZE(result, VARHDRSZ + kBytes);
        memcpy(VARDATA(result), key, kBytes);
        return PointerGetDatum(result);
    });
}
