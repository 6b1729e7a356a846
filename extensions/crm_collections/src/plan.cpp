// Repayment plans: BEFORE INSERT checks the debt and supersedes the plan it replaces; AFTER
// INSERT generates the installments from what the debt owes now and moves its position.
#include <optional>
#include <string>
#include <vector>

#include "collections/schedule.hpp"
#include "datum.hpp"
#include "debt_state.hpp"
#include "function.hpp"
#include "spi.hpp"
#include "trigger_row.hpp"

extern "C" {
#include "utils/date.h"
#include "utils/rel.h"
}

namespace {

using namespace crm_core::collections;
using namespace crm_core::collections::glue;

using crm_core::pg::result_value;

// The debt's active plan must be the one a new plan supersedes (none for a first plan);
// returns the new plan's version.
int32_t check_and_supersede(const Debt& debt, std::optional<int64_t> supersedes) {
    if (debt.active_plan_id && !supersedes) {
        throw table_error(ERRCODE_UNIQUE_VIOLATION, "repayment_plan",
                          "debt account " + std::to_string(debt.id) +
                              " already has an active plan (" +
                              std::to_string(*debt.active_plan_id) + ")",
                          "Use collections.restructure_plan() to replace it by a new version.",
                          "repayment_plan_one_active");
    }
    if (supersedes && supersedes != debt.active_plan_id) {
        throw table_error(
            ERRCODE_INVALID_PARAMETER_VALUE, "repayment_plan",
            "plan " + std::to_string(*supersedes) + " is not the active plan of debt account " +
                std::to_string(debt.id),
            debt.active_plan_id
                ? "Its active plan is " + std::to_string(*debt.active_plan_id) + "."
                : "It has no active plan: create one with collections.create_plan().");
    }
    static crm_core::pg::CachedPlan version(
        "SELECT coalesce(max(version), 0) + 1 FROM collections.repayment_plan "
        "WHERE business_id = $1 AND debt_account_id = $2",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(debt.business_id), Int64GetDatum(debt.id)};
    version.execute(arguments, nullptr, false, 1);
    int32_t next = DatumGetInt32(*result_value(0, 1));
    if (supersedes) {
        static crm_core::pg::CachedPlan supersede(
            "UPDATE collections.repayment_plan SET status = 'superseded', superseded_at = now() "
            "WHERE business_id = $1 AND id = $2",
            {INT8OID, INT8OID});
        Datum plan_arguments[2] = {Int64GetDatum(debt.business_id), Int64GetDatum(*supersedes)};
        supersede.execute(plan_arguments, nullptr, false);
    }
    return next;
}

// Inserts the installments of a new plan over what the debt owes now.
void schedule(const Debt& debt, int64_t plan_id, Datum first_due, Datum every, int32_t count) {
    Components outstanding = ledger_outstanding(debt);
    std::string problem;
    std::optional<std::vector<Components>> installments =
        split_schedule(outstanding, debt.product.order, count, problem);
    if (!installments) {
        throw table_error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "repayment_plan",
                          "no plan for debt account " + std::to_string(debt.id) + ": " + problem);
    }
    std::array<Datum, kComponents> columns = component_arrays(*installments, debt.product.digits);
    static crm_core::pg::CachedPlan insert(
        "INSERT INTO collections.installment (business_id, plan_id, debt_account_id, seq, due_on, "
        "principal_due, interest_due, fee_due, penalty_due) "
        "SELECT $1, $2, $3, s.seq, ($4::date + (s.seq - 1) * $5::interval)::date, s.p, s.i, s.f, "
        "s.n "
        "FROM unnest($6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[]) "
        "WITH ORDINALITY AS s(p, i, f, n, seq)",
        {INT8OID, INT8OID, INT8OID, DATEOID, INTERVALOID, NUMERICARRAYOID, NUMERICARRAYOID,
         NUMERICARRAYOID, NUMERICARRAYOID});
    Datum arguments[9] = {Int64GetDatum(debt.business_id),
                          Int64GetDatum(plan_id),
                          Int64GetDatum(debt.id),
                          first_due,
                          every,
                          columns[0],
                          columns[1],
                          columns[2],
                          columns[3]};
    insert.execute(arguments, nullptr, false);
    static crm_core::pg::CachedPlan activate(
        "UPDATE collections.debt_account SET active_plan_id = $3 WHERE business_id = $1 AND id = "
        "$2",
        {INT8OID, INT8OID, INT8OID});
    Datum debt_arguments[3] = {Int64GetDatum(debt.business_id), Int64GetDatum(debt.id),
                               Int64GetDatum(plan_id)};
    activate.execute(debt_arguments, nullptr, false);
}

}  // namespace

// Trigger BEFORE INSERT and AFTER INSERT ON repayment_plan.
CRM_CORE_FUNCTION(crm_collections_plan_inserted) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "collections._plan_inserted()");
    bool before = TRIGGER_FIRED_BEFORE(data->tg_event);
    crm_core::pg::TriggerRow row(data->tg_trigtuple, data->tg_relation->rd_att);
    int64_t business_id = row.get_int64("business_id").value_or(0);
    int64_t plan_id = row.get_int64("id").value_or(0);
    int64_t debt_id = row.get_int64("debt_account_id").value_or(0);
    std::optional<int64_t> supersedes = row.get_int64("supersedes_plan_id");
    Datum first_due = *row.get("first_due");
    Datum every = *row.get("every");
    int32_t count = DatumGetInt32(*row.get("installments"));
    int32_t version = 1;
    as_owner([&] {
        Debt debt = lock_debt(business_id, debt_id, "repayment_plan");
        if (!before) {
            debt.active_plan_id = plan_id;
            schedule(debt, plan_id, first_due, every, count);
            settle_position(debt, open_items(debt), debt.status, "plan");
            return;
        }
        require_open(debt, "repayment_plan", "a repayment plan");
        if (debt.status == "paid_off") {
            throw table_error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "repayment_plan",
                              "debt account " + std::to_string(debt_id) +
                                  " is paid off: there is nothing to schedule");
        }
        version = check_and_supersede(debt, supersedes);
    });
    if (!before) {
        return PointerGetDatum(nullptr);
    }
    row.set("version", Int32GetDatum(version));
    row.set("status", crm_core::pg::string_to_text("active"));
    row.set("superseded_at", std::nullopt);
    return PointerGetDatum(row.result());
}
