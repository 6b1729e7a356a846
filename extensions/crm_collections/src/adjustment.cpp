// Adjustments: a charge (interest, fee, penalty) posts receivable against income and joins the
// first unpaid installment of the active plan; a write-off posts the expense against the
// receivables, taking the amount off what is owed in allocation order.
#include <optional>
#include <string>
#include <vector>

#include "datum.hpp"
#include "debt_state.hpp"
#include "function.hpp"
#include "trigger_row.hpp"

extern "C" {
#include "utils/date.h"
#include "utils/rel.h"
}

namespace {

using namespace crm_core::collections;
using namespace crm_core::collections::glue;

}  // namespace

// Trigger BEFORE INSERT ON adjustment.
CRM_CORE_FUNCTION(crm_collections_adjustment_made) {
    MoneyEvent event = money_event(fcinfo, "collections._adjustment_made()");
    crm_core::pg::TriggerRow& row = event.row;
    std::string kind = row.get_text("kind").value_or("");
    std::string reason = row.get_text("reason").value_or("");
    int32_t effective_on = DatumGetDateADT(*row.get("effective_on"));
    int64_t entry_id = 0;
    std::optional<int64_t> installment;
    Components split{};
    int digits = 2;
    as_owner([&] {
        Debt debt = lock_debt(event.business_id, event.debt_id, "adjustment");
        digits = debt.product.digits;
        bool writing_off = kind == "write_off";
        require_open(debt, "adjustment", writing_off ? "a write-off" : "a charge");
        Minor amount =
            checked_amount(event.amount, digits, "adjustment", writing_off ? "write-off" : "charge",
                           "adjustment_amount_positive");
        const ProductAccounts& accounts = debt.product.accounts;
        std::string source = "collections.adjustment:" + std::to_string(event.id);
        if (!writing_off) {
            std::optional<Component> component = parse_component(kind);
            if (!component || *component == Component::principal) {
                throw table_error(ERRCODE_CHECK_VIOLATION, "adjustment",
                                  "adjustment kind " + kind + " is not a charge",
                                  "Charges are interest, fee or penalty.", "adjustment_kind_known");
            }
            int c = static_cast<int>(*component);
            split[c] = amount;
            entry_id = post_entry(
                debt, effective_on, "Charge (" + kind + ") on " + debt.external_ref + ": " + reason,
                source,
                {{accounts.receivable[c], true, amount}, {accounts.income[c], false, amount}});
            installment = charge_target(debt);
            if (installment) {
                add_to_installments(debt, {AllocatedAmount{*installment, *component, amount}},
                                    InstallmentColumn::due, 1);
            }
            std::vector<OpenItem> after = open_items(debt);
            settle_position(debt, after, owed_by(after) > 0 ? "active" : "paid_off", "charge");
            return;
        }
        std::vector<OpenItem> items = open_items(debt);
        Minor owed = owed_by(items);
        if (amount > owed) {
            throw table_error(ERRCODE_INVALID_PARAMETER_VALUE, "adjustment",
                              "write-off of " + from_minor(amount, digits) +
                                  " exceeds what debt account " + std::to_string(event.debt_id) +
                                  " owes (" + from_minor(owed, digits) + " " + debt.currency + ")",
                              "Write off at most what is owed (collections.debt_position).");
        }
        Allocation allocation = allocate(items, debt.product.order, debt.product.strategy, amount);
        split = allocation.by_component;
        std::vector<PostingLine> lines = {{accounts.write_off, true, amount}};
        for (int c = 0; c < kComponents; ++c) {
            lines.push_back({accounts.receivable[c], false, split[c]});
        }
        entry_id = post_entry(debt, effective_on,
                              "Write-off on " + debt.external_ref + ": " + reason, source, lines);
        add_to_installments(debt, allocation.amounts, InstallmentColumn::written_off, 1);
        std::vector<OpenItem> after = after_allocation(std::move(items), allocation);
        settle_position(debt, after, owed_by(after) > 0 ? debt.status : "written_off", "write_off");
    });
    row.set("installment_id",
            installment ? std::optional<Datum>(Int64GetDatum(*installment)) : std::nullopt);
    row.set("principal", to_numeric(split[static_cast<int>(Component::principal)], digits));
    row.set("interest", to_numeric(split[static_cast<int>(Component::interest)], digits));
    row.set("fee", to_numeric(split[static_cast<int>(Component::fee)], digits));
    row.set("penalty", to_numeric(split[static_cast<int>(Component::penalty)], digits));
    row.set("entry_id", Int64GetDatum(entry_id));
    return PointerGetDatum(row.result());
}
