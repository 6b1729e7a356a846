// The crm_core shared library: module magic, its settings, and the functions every version has.
#include "crm_core/version.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "ledger_state.hpp"
#include "tenant.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);

// Loading the library defines its settings (a value SET before it loaded is checked now) and
// starts following SET CONSTRAINTS for the ledger's commit check.
void _PG_init(void) {
    crm_core::pg::tenant::define_business_setting();
    crm_core::pg::ledger::watch_set_constraints();
}
}

// crm_core.version(): the version of the loaded library, to compare with the installed SQL.
CRM_CORE_FUNCTION_ANY_VERSION(crm_core_version) {
    return crm_core::pg::string_to_text(crm_core::kVersion);
}
