// The crm_erp shared library: module magic and its version.
#include "datum.hpp"
#include "function.hpp"

extern "C" {
PG_MODULE_MAGIC;
}

// erp.version(): the version of the loaded library, to compare with the installed SQL.
CRM_CORE_FUNCTION(crm_erp_version) {
    return crm_core::pg::string_to_text(EXTENSION_VERSION);
}
