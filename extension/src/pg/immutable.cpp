// Append-only guards: trigger functions that refuse UPDATE, DELETE and TRUNCATE, and the
// privilege test the DDL event triggers use to let only superusers remove a guard.
#include <string>

#include "function.hpp"
#include "immutable_trigger.hpp"

namespace {

// The error every refused change raises: the table, the operation, and what to do instead.
crm_core::pg::Error append_only_error(const std::string& table, const char* operation,
                                      const char* what) {
    return crm_core::pg::Error(
        ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        std::string(operation) + " on " + table + " is refused: " + what + " are append-only",
        "crm_core guards this table; history is never edited, removed or truncated.",
        "Record a correction as a new row (for the ledger: a reversing entry).");
}

}  // namespace

// Trigger: BEFORE UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement); refuses always.
CRM_CORE_FUNCTION(crm_core_append_only_guard) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "crm_core.append_only_guard()");
    throw append_only_error(crm_core::pg::qualified_name(data->tg_relation),
                            crm_core::pg::trigger_operation(data), "its rows");
}

// crm_core.invoked_by_superuser(): whether the role running the statement (SET ROLE
// included, SECURITY DEFINER excluded) is a superuser; event triggers run as definer.
CRM_CORE_FUNCTION(crm_core_invoked_by_superuser) {
    Oid outer_user = GetOuterUserId();
    return BoolGetDatum(crm_core::pg::guard([&] { return superuser_arg(outer_user); }));
}
