// Append-only guards: trigger functions that refuse UPDATE, DELETE and TRUNCATE, and the
// privilege test the DDL event triggers use to let only superusers remove a guard.
#include "audit_retention.hpp"
#include "function.hpp"
#include "relation.hpp"
#include "role.hpp"
#include "trigger.hpp"
#include "spi.hpp"

// Trigger: BEFORE UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement); refuses always, but
// for crm_core's maintenance moving audit rows from the default partition into their month.
CRM_CORE_FUNCTION(crm_core_append_only_guard) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "crm_core.append_only_guard()");
    if (TRIGGER_FIRED_FOR_ROW(data->tg_event) && TRIGGER_FIRED_BY_DELETE(data->tg_event) &&
        crm_core::pg::audit_rows_moving_from(RelationGetRelid(data->tg_relation))) {
        return PointerGetDatum(data->tg_trigtuple);
    }
    throw crm_core::pg::append_only_error(crm_core::pg::qualified_name(data->tg_relation),
                                          crm_core::pg::trigger_operation(data), "its rows");
}

// crm_core.invoked_by_superuser(): whether the role running the statement (SET ROLE
// included, SECURITY DEFINER excluded) is a superuser; event triggers run as definer. The same
// in every version, and called by every version's event triggers: exempt from the library/SQL
// version check, so that DDL keeps working between a package upgrade and ALTER EXTENSION.
CRM_CORE_FUNCTION_ANY_VERSION(crm_core_invoked_by_superuser) {
    return BoolGetDatum(crm_core::pg::invoked_by_superuser());
}
