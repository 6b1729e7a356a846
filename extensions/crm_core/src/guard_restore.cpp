// Restores that carry crm_core guards: pg_dump writes each partition's TRUNCATE guard as a
// CREATE TRIGGER, but the ddl_command_end event trigger already gave the partition that guard
// when the restore attached it (or enabled the parent's guards); without help the restore
// stops on "trigger already exists".
#include <string>

#include "datum.hpp"
#include "function.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "commands/event_trigger.h"
#include "nodes/parsenodes.h"
}

// Event trigger on ddl_command_start (CREATE TRIGGER): before a superuser creates a guard that
// its table already has with the same function, crm_core._replace_restored_guard drops the old
// copy so that the statement puts it back. Everyone else gets PostgreSQL's usual error.
CRM_CORE_FUNCTION(crm_core_guard_ddl_command_start) {
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo)) {
        throw crm_core::pg::Error(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED,
                                  "crm_core.guard_ddl_command_start() must be called as an "
                                  "event trigger");
    }
    const auto* event = reinterpret_cast<EventTriggerData*>(fcinfo->context);
    if (event->parsetree == nullptr || !IsA(event->parsetree, CreateTrigStmt)) {
        return PointerGetDatum(nullptr);
    }
    const auto* statement = reinterpret_cast<const CreateTrigStmt*>(event->parsetree);
    const std::string trigger_name = statement->trigname;
    if (statement->replace || trigger_name.rfind("crm_core_guard_", 0) != 0 ||
        !crm_core::pg::guard([] { return superuser(); })) {
        return PointerGetDatum(nullptr);
    }
    const Oid relation =
        crm_core::pg::guard([&] { return RangeVarGetRelid(statement->relation, NoLock, true); });
    if (relation == InvalidOid) {
        return PointerGetDatum(nullptr);
    }
    const std::string function_name =
        crm_core::pg::guard([&] { return NameListToString(statement->funcname); });

    crm_core::pg::SpiConnection spi;
    static crm_core::pg::CachedPlan replace_guard(
        "SELECT crm_core._replace_restored_guard($1, $2, $3)", {REGCLASSOID, TEXTOID, TEXTOID});
    Datum values[3] = {ObjectIdGetDatum(relation), crm_core::pg::string_to_text(trigger_name),
                       crm_core::pg::string_to_text(function_name)};
    replace_guard.execute(values, nullptr, false);
    return PointerGetDatum(nullptr);
}
