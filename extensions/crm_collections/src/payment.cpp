// Payments: a plain INSERT allocates the amount over the debt's open items (the product's
// waterfall), posts one balanced entry tagged with the debt, records the allocation, pays the
// installments and moves the debt's position, in the inserting transaction. Reversals undo all
// of it for a bounced payment.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "datum.hpp"
#include "debt_state.hpp"
#include "function.hpp"
#include "spi.hpp"
#include "trigger_row.hpp"

extern "C" {
#include "utils/date.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

namespace {

using namespace crm_core::collections;
using namespace crm_core::collections::glue;

using crm_core::pg::result_value;

// The date of a timestamptz in the session's time zone.
int32_t date_of(Datum timestamp) {
    return pg_call(
        [&] { return DatumGetDateADT(DirectFunctionCall1(timestamptz_date, timestamp)); });
}

// Writes the allocation: one row per installment (the unscheduled balance and the overpayment
// on a row without installment), the amounts times sign.
void record_allocations(const Debt& debt, int64_t payment_id, Datum paid_at,
                        const std::vector<AllocatedAmount>& amounts, Minor credit, int sign) {
    std::map<int64_t, Components> rows = per_installment(amounts, sign);
    if (credit != 0) {
        rows[0];  // the unscheduled row carries the credit
    }
    std::vector<std::optional<int64_t>> installments;
    std::vector<Components> amounts_per_row;
    std::vector<std::optional<Datum>> credits;
    for (const auto& [installment, row] : rows) {
        installments.push_back(installment == 0 ? std::nullopt
                                                : std::optional<int64_t>(installment));
        amounts_per_row.push_back(row);
        credits.push_back(to_numeric(installment == 0 ? sign * credit : 0, debt.product.digits));
    }
    if (installments.empty()) {
        return;
    }
    std::array<Datum, kComponents> columns = component_arrays(amounts_per_row, debt.product.digits);
    static crm_core::pg::CachedPlan insert(
        "INSERT INTO collections.payment_allocation (business_id, payment_id, paid_at, "
        "debt_account_id, installment_id, principal, interest, fee, penalty, credit, reversal) "
        "SELECT $1, $2, $3, $4, a.installment_id, a.p, a.i, a.f, a.n, a.c, $11 "
        "FROM unnest($5::bigint[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], "
        "$10::numeric[]) AS a(installment_id, p, i, f, n, c)",
        {INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID, INT8ARRAYOID, NUMERICARRAYOID, NUMERICARRAYOID,
         NUMERICARRAYOID, NUMERICARRAYOID, NUMERICARRAYOID, BOOLOID});
    Datum arguments[11] = {Int64GetDatum(debt.business_id),
                           Int64GetDatum(payment_id),
                           paid_at,
                           Int64GetDatum(debt.id),
                           crm_core::pg::int8_array(installments),
                           columns[0],
                           columns[1],
                           columns[2],
                           columns[3],
                           crm_core::pg::datum_array(credits, NUMERICOID),
                           BoolGetDatum(sign < 0)};
    insert.execute(arguments, nullptr, false);
}

// The status a debt has once it owes `owed` (closed and written-off debts take no payments).
std::string status_owing(const Debt& debt, Minor owed) {
    return owed == 0 ? "paid_off" : debt.status == "paid_off" ? "active" : debt.status;
}

}  // namespace

// Trigger BEFORE INSERT ON payment.
CRM_CORE_FUNCTION(crm_collections_payment_received) {
    MoneyEvent event = money_event(fcinfo, "collections._payment_received()");
    crm_core::pg::TriggerRow& row = event.row;
    std::string reference = row.get_text("reference").value_or("");
    std::optional<std::string> currency = row.get_text("currency");
    Datum paid_at = *row.get("paid_at");
    int32_t paid_on = date_of(paid_at);
    int64_t entry_id = 0;
    std::string debt_currency;
    as_owner([&] {
        Debt debt = lock_debt(event.business_id, event.debt_id, "payment");
        require_open(debt, "payment", "a payment");
        debt_currency = debt.currency;
        if (currency && *currency != debt.currency) {
            throw table_error(ERRCODE_INVALID_PARAMETER_VALUE, "payment",
                              "payment currency " + *currency + " differs from debt account " +
                                  std::to_string(event.debt_id) + "'s currency " + debt.currency,
                              "Convert the amount to " + debt.currency + ", or omit currency.");
        }
        Minor amount = checked_amount(event.amount, debt.product.digits, "payment",
                                      "payment amount", "payment_amount_positive");
        // Claim the reference first: a duplicate fails before anything is posted.
        static crm_core::pg::CachedPlan claim(
            "INSERT INTO collections.payment_reference (business_id, reference, payment_id, "
            "paid_at, debt_account_id) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT ON CONSTRAINT payment_reference_unique DO NOTHING",
            {INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID, INT8OID});
        Datum claim_arguments[5] = {Int64GetDatum(event.business_id),
                                    crm_core::pg::string_to_text(reference),
                                    Int64GetDatum(event.id), paid_at, Int64GetDatum(event.debt_id)};
        if (claim.execute(claim_arguments, nullptr, false) == 0) {
            static crm_core::pg::CachedPlan holder(
                "SELECT payment_id FROM collections.payment_reference "
                "WHERE business_id = $1 AND reference = $2",
                {INT8OID, TEXTOID});
            std::string other = "another payment";
            if (holder.execute(claim_arguments, nullptr, false, 1) > 0) {
                other = "payment " + std::to_string(DatumGetInt64(*result_value(0, 1)));
            }
            throw table_error(ERRCODE_UNIQUE_VIOLATION, "payment",
                              "payment reference \"" + reference + "\" of business " +
                                  std::to_string(event.business_id) + " is already used by " +
                                  other,
                              "Use collections.record_payment() for retries: the same reference "
                              "and content returns the existing payment.",
                              "payment_reference_unique");
        }
        std::vector<OpenItem> items = open_items(debt);
        Allocation allocation = allocate(items, debt.product.order, debt.product.strategy, amount);
        const ProductAccounts& accounts = debt.product.accounts;
        std::vector<PostingLine> lines = {{accounts.cash, true, amount}};
        for (int c = 0; c < kComponents; ++c) {
            lines.push_back({accounts.receivable[c], false, allocation.by_component[c]});
        }
        lines.push_back({accounts.credit_balance, false, allocation.overpayment});
        entry_id = post_entry(debt, paid_on, "Payment " + reference + " on " + debt.external_ref,
                              "collections.payment:" + std::to_string(event.id), lines);
        record_allocations(debt, event.id, paid_at, allocation.amounts, allocation.overpayment, 1);
        add_to_installments(debt, allocation.amounts, InstallmentColumn::paid, 1);
        std::vector<OpenItem> after = after_allocation(std::move(items), allocation);
        settle_position(debt, after, status_owing(debt, owed_by(after)), "payment");
    });
    row.set("entry_id", Int64GetDatum(entry_id));
    row.set("currency", crm_core::pg::string_to_text(debt_currency));
    return PointerGetDatum(row.result());
}

// Trigger BEFORE INSERT ON payment_reversal.
CRM_CORE_FUNCTION(crm_collections_payment_reversed) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "collections._payment_reversed()");
    crm_core::pg::TriggerRow row(data->tg_trigtuple, data->tg_relation->rd_att);
    int64_t business_id = row.get_int64("business_id").value_or(0);
    int64_t payment_id = row.get_int64("payment_id").value_or(0);
    std::string reason = row.get_text("reason").value_or("");
    int64_t reversal_entry = 0;
    int64_t debt_id = 0;
    Datum paid_at = 0;
    as_owner([&] {
        // Every table filtered by the business itself: on a Citus cluster this runs on the
        // business's shard, where a query that may reach another shard is refused.
        static crm_core::pg::CachedPlan find(
            "SELECT r.debt_account_id, r.paid_at, p.entry_id, r.reference, "
            "(SELECT x.reversed_at::text || ': ' || x.reason FROM collections.payment_reversal x "
            " WHERE x.business_id = $1 AND x.payment_id = r.payment_id) "
            "FROM collections.payment_reference r JOIN collections.payment p "
            "ON p.business_id = r.business_id AND p.id = r.payment_id AND p.paid_at = r.paid_at "
            "WHERE r.business_id = $1 AND p.business_id = $1 AND r.payment_id = $2",
            {INT8OID, INT8OID});
        Datum arguments[2] = {Int64GetDatum(business_id), Int64GetDatum(payment_id)};
        if (find.execute(arguments, nullptr, false, 1) == 0) {
            throw table_error(ERRCODE_FOREIGN_KEY_VIOLATION, "payment_reversal",
                              "payment " + std::to_string(payment_id) +
                                  " does not exist in business " + std::to_string(business_id));
        }
        debt_id = DatumGetInt64(*result_value(0, 1));
        paid_at = *result_value(0, 2);
        int64_t payment_entry = DatumGetInt64(*result_value(0, 3));
        std::string reference = crm_core::pg::text_to_string(*result_value(0, 4));
        std::optional<Datum> earlier = result_value(0, 5);
        if (earlier) {
            throw table_error(ERRCODE_UNIQUE_VIOLATION, "payment_reversal",
                              "payment " + std::to_string(payment_id) + " is already reversed (" +
                                  crm_core::pg::text_to_string(*earlier) + ")",
                              "", "payment_reversal_once");
        }
        Debt debt = lock_debt(business_id, debt_id, "payment_reversal");
        require_open(debt, "payment_reversal", "a payment reversal");
        // What the payment allocated, per installment and component.
        static crm_core::pg::CachedPlan allocated(
            "SELECT installment_id, sum(principal), sum(interest), sum(fee), sum(penalty), "
            "sum(credit) FROM collections.payment_allocation "
            "WHERE business_id = $1 AND payment_id = $2 AND NOT reversal GROUP BY installment_id",
            {INT8OID, INT8OID});
        uint64 rows = allocated.execute(arguments, nullptr, false);
        std::vector<AllocatedAmount> amounts;
        Minor credit = 0;
        for (uint64 i = 0; i < rows; ++i) {
            std::optional<Datum> installment = result_value(i, 1);
            for (int c = 0; c < kComponents; ++c) {
                Minor amount =
                    to_minor_units(*result_value(i, c + 2), debt.product.digits, "allocation");
                if (amount != 0) {
                    amounts.push_back(AllocatedAmount{installment ? DatumGetInt64(*installment) : 0,
                                                      static_cast<Component>(c), amount});
                }
            }
            credit += to_minor_units(*result_value(i, 6), debt.product.digits, "allocation");
        }
        // By business and entry: on a Citus cluster this runs on the business's shard.
        static crm_core::pg::CachedPlan reverse("SELECT crm_core._reverse_entry($1, $2, $3)",
                                                {INT8OID, INT8OID, TEXTOID});
        Datum reverse_arguments[3] = {
            Int64GetDatum(business_id), Int64GetDatum(payment_entry),
            crm_core::pg::string_to_text("Reversal of payment " + reference + ": " + reason)};
        reverse.execute(reverse_arguments, nullptr, false, 1);
        reversal_entry = DatumGetInt64(*result_value(0, 1));
        record_allocations(debt, payment_id, paid_at, amounts, credit, -1);
        // Installments of the active plan get their payments back; what the payment had paid
        // elsewhere (a superseded plan, or before any plan) is owed again on the active plan.
        std::vector<AllocatedAmount> elsewhere;
        static crm_core::pg::CachedPlan active_ones(
            "SELECT id FROM collections.installment WHERE business_id = $1 AND plan_id = $2",
            {INT8OID, INT8OID});
        std::vector<int64_t> active;
        if (debt.active_plan_id) {
            Datum plan_arguments[2] = {Int64GetDatum(business_id),
                                       Int64GetDatum(*debt.active_plan_id)};
            uint64 count = active_ones.execute(plan_arguments, nullptr, false);
            for (uint64 i = 0; i < count; ++i) {
                active.push_back(DatumGetInt64(*result_value(i, 1)));
            }
        }
        for (const AllocatedAmount& amount : amounts) {
            bool in_active = false;
            for (int64_t id : active) {
                in_active = in_active || id == amount.installment_id;
            }
            if (!in_active && debt.active_plan_id) {
                elsewhere.push_back(amount);
            }
        }
        add_to_installments(debt, amounts, InstallmentColumn::paid, -1);
        if (!elsewhere.empty()) {
            std::optional<int64_t> target = charge_target(debt);
            for (AllocatedAmount& amount : elsewhere) {
                amount.installment_id = target.value_or(0);
            }
            add_to_installments(debt, elsewhere, InstallmentColumn::due, 1);
        }
        std::vector<OpenItem> after = open_items(debt);
        settle_position(debt, after, status_owing(debt, owed_by(after)), "reversal");
    });
    row.set("debt_account_id", Int64GetDatum(debt_id));
    row.set("paid_at", paid_at);
    row.set("entry_id", Int64GetDatum(reversal_entry));
    return PointerGetDatum(row.result());
}
