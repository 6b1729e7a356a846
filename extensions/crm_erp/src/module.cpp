// The crm_erp shared library: module magic, its version, phone numbers and national ids.
#include "crm_core/national_id.hpp"
#include "crm_core/phone.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "phone/phone_sql.hpp"

extern "C" {
PG_MODULE_MAGIC;
}

// erp.version(): the version of the loaded library, to compare with the installed SQL (it
// answers whatever SQL version is installed, to diagnose a mismatch).
CRM_CORE_FUNCTION_ANY_VERSION(crm_erp_version) {
    return crm_core::pg::string_to_text(EXTENSION_VERSION);
}

// erp.normalize_phone(phone, region): the code crm_collections uses too (lib/pg/phone).
CRM_CORE_FUNCTION(crm_erp_normalize_phone) {
    return crm_core::pg::normalize_phone_call(fcinfo);
}

// erp.is_phone_region(region)
CRM_CORE_FUNCTION(crm_erp_is_phone_region) {
    PG_RETURN_BOOL(crm_core::is_known_phone_region(crm_core::pg::text_argument(fcinfo, 0)));
}

// erp.normalize_national_id(national_id): crm_core/national_id.hpp; NULL when nothing is left.
CRM_CORE_FUNCTION(crm_erp_normalize_national_id) {
    std::string normalized =
        crm_core::normalize_national_id(crm_core::pg::text_argument(fcinfo, 0));
    if (normalized.empty()) {
        PG_RETURN_NULL();
    }
    return crm_core::pg::string_to_text(normalized);
}
