// C functions that a released install script still names but the current SQL no longer uses.
// CREATE EXTENSION crm_core VERSION '<old>' needs each symbol to exist, and a database still on
// the old SQL calls it until ALTER EXTENSION crm_core UPDATE; each refuses with that hint.
#include <string>

#include "function.hpp"

namespace {

// The error of a function whose SQL object belongs to an older crm_core.
crm_core::pg::Error retired(const char* function, const char* version) {
    return crm_core::pg::Error(
        ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        std::string(function) + " belongs to crm_core " + version +
            "; this library needs the SQL objects of crm_core " EXTENSION_VERSION,
        "", "Run ALTER EXTENSION crm_core UPDATE in this database.");
}

}  // namespace

// 0.1.0: BEFORE UPDATE OR DELETE ON journal_line (posted lines never change); since 0.2.0 the
// ledger guard crm_core_guard_posted alone enforces it.
CRM_CORE_FUNCTION(crm_core_ledger_line_before_change) {
    throw retired("crm_core.ledger_line_before_change()", "0.1.0");
}
