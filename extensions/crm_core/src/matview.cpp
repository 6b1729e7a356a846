// SQL-callable refresh planning for registered materialized views: thin wrappers that turn
// OID arrays into crm_core::matview calls (dependency order, cycles, cascades, due times).
#include <cstdint>
#include <optional>
#include <vector>

#include "crm_core/matview_plan.hpp"
#include "datum.hpp"
#include "interrupts.hpp"
#include "function.hpp"
#include "pg_call.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/timestamp.h"
}

namespace {

using crm_core::pg::pg_call;
namespace mv = crm_core::matview;

// Argument n (oid[], NULL meaning empty) as view ids; NULL elements are skipped.
std::vector<mv::ViewId> oid_array_argument(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) {
        return {};
    }
    std::vector<mv::ViewId> ids;
    for (const std::optional<Datum>& element :
         crm_core::pg::array_elements(PG_GETARG_DATUM(n), OIDOID)) {
        crm_core::pg::check_for_interrupts();
        if (element) {
            ids.push_back(DatumGetObjectId(*element));
        }
    }
    return ids;
}

// Arguments n and n+1: parallel arrays of dependents and the views they read.
std::vector<mv::Dependency> dependency_arguments(FunctionCallInfo fcinfo, int n) {
    std::vector<mv::ViewId> dependents = oid_array_argument(fcinfo, n);
    std::vector<mv::ViewId> dependencies = oid_array_argument(fcinfo, n + 1);
    if (dependents.size() != dependencies.size()) {
        throw crm_core::pg::Error(ERRCODE_ARRAY_SUBSCRIPT_ERROR,
                                  "dependents and dependencies must have the same length");
    }
    std::vector<mv::Dependency> edges;
    edges.reserve(dependents.size());
    for (std::size_t i = 0; i < dependents.size(); ++i) {
        crm_core::pg::check_for_interrupts();
        edges.push_back({dependents[i], dependencies[i]});
    }
    return edges;
}

// The ids as a new oid[] Datum.
Datum oid_array_result(const std::vector<mv::ViewId>& ids) {
    int count = static_cast<int>(ids.size());
    const mv::ViewId* data = ids.data();
    ArrayType* array = pg_call([&] {
        Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * (count > 0 ? count : 1)));
        for (int i = 0; i < count; ++i) {
            CHECK_FOR_INTERRUPTS();
            elements[i] = ObjectIdGetDatum(data[i]);
        }
        return construct_array(elements, count, OIDOID, sizeof(Oid), true, TYPALIGN_INT);
    });
    PG_RETURN_ARRAYTYPE_P(array);
}

}  // namespace

// _matview_refresh_order(views oid[], dependents oid[], dependencies oid[]): the views that can
// refresh, dependencies first; views on or behind a dependency cycle are left out.
CRM_CORE_FUNCTION(crm_core_matview_refresh_order) {
    std::vector<mv::ViewId> views = oid_array_argument(fcinfo, 0);
    return oid_array_result(mv::order_for_refresh(views, dependency_arguments(fcinfo, 1)).order);
}

// _matview_cycle(views oid[], dependents oid[], dependencies oid[], through oid): one cycle as
// a path {a, b, ..., a} (the shortest through `through` when it is not NULL), or an empty array.
CRM_CORE_FUNCTION(crm_core_matview_cycle) {
    std::vector<mv::ViewId> views = oid_array_argument(fcinfo, 0);
    std::vector<mv::Dependency> edges = dependency_arguments(fcinfo, 1);
    if (PG_ARGISNULL(3)) {
        return oid_array_result(mv::find_cycle(views, edges));
    }
    return oid_array_result(mv::find_cycle_through(PG_GETARG_OID(3), views, edges));
}

// _matview_with_dependents(root oid, views oid[], dependents oid[], dependencies oid[]): root
// and the views that read it, directly or not, in refresh order (empty if a cycle blocks root).
CRM_CORE_FUNCTION(crm_core_matview_with_dependents) {
    mv::ViewId root = PG_GETARG_OID(0);
    std::vector<mv::ViewId> views = oid_array_argument(fcinfo, 1);
    return oid_array_result(mv::with_dependents(root, views, dependency_arguments(fcinfo, 2)));
}

// _matview_next_due(last_success_at, refresh_every, registered_at): when the view falls due.
CRM_CORE_FUNCTION(crm_core_matview_next_due) {
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2)) {
        PG_RETURN_NULL();
    }
    std::optional<std::int64_t> last_success;
    if (!PG_ARGISNULL(0)) {
        last_success = PG_GETARG_TIMESTAMPTZ(0);
    }
    const Interval* every = PG_GETARG_INTERVAL_P(1);
    std::int64_t every_us = mv::interval_microseconds(every->month, every->day, every->time);
    PG_RETURN_TIMESTAMPTZ(mv::next_due(last_success, every_us, PG_GETARG_TIMESTAMPTZ(2)));
}
