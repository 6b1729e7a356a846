// The crm_core shared library: module magic and the functions every version has.
#include "crm_core/version.hpp"
#include "datum.hpp"
#include "function.hpp"

extern "C" {
PG_MODULE_MAGIC;
}

// crm_core.version(): the version of the loaded library, to compare with the installed SQL.
CRM_CORE_FUNCTION_ANY_VERSION(crm_core_version) {
    return crm_core::pg::string_to_text(crm_core::kVersion);
}
