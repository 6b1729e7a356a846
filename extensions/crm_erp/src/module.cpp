// The crm_erp shared library: module magic and its version.
#include "datum.hpp"
#include "function.hpp"

extern "C" {
PG_MODULE_MAGIC;
}

// erp.version(): the version of the loaded library, to compare with the installed SQL (it
// answers whatever SQL version is installed, to diagnose a mismatch).
CRM_CORE_FUNCTION_ANY_VERSION(crm_erp_version) {
    return crm_core::pg::string_to_text(EXTENSION_VERSION);
}
