// A new debt account posts its opening entry (principal receivable against cash, or against
// the opening-balance account for a migrated debt given an opening_balance) and starts its
// position (unpaid since its due date, its first bucket).
#include <optional>
#include <string>

#include "debt_state.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "trigger_row.hpp"

extern "C" {
#include "utils/date.h"
#include "utils/rel.h"
}

namespace {

using namespace crm_core::collections;
using namespace crm_core::collections::glue;

std::optional<Datum> text_datum(const std::string& text) {
    return crm_core::pg::string_to_text(text);
}

std::optional<Datum> date_datum(const std::optional<int32_t>& day) {
    return day ? std::optional<Datum>(DateADTGetDatum(*day)) : std::nullopt;
}

std::optional<Datum> int64_datum(const std::optional<int64_t>& value) {
    return value ? std::optional<Datum>(Int64GetDatum(*value)) : std::nullopt;
}

}  // namespace

// Trigger BEFORE INSERT ON debt_account.
CRM_CORE_FUNCTION(crm_collections_debt_opened) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "collections._debt_opened()");
    crm_core::pg::TriggerRow row(data->tg_trigtuple, data->tg_relation->rd_att);
    Debt debt;
    debt.business_id = row.get_int64("business_id").value_or(0);
    debt.id = row.get_int64("id").value_or(0);
    debt.external_ref = row.get_text("external_ref").value_or("");
    std::optional<int64_t> product_id = row.get_int64("product_id");
    std::optional<std::string> currency = row.get_text("currency");
    std::string status = row.get_text("status").value_or("active");
    Datum principal = *row.get("principal");
    std::optional<Datum> opening_balance = row.get("opening_balance");
    int32_t opened_on = DatumGetDateADT(*row.get("opened_on"));
    std::optional<Datum> due_on = row.get("due_on");
    if (due_on) {
        debt.due_on = DatumGetDateADT(*due_on);
    }
    if (status != "active") {
        throw table_error(ERRCODE_INVALID_PARAMETER_VALUE, "debt_account",
                          "a new debt account is active, not " + status,
                          "Insert it active; close it afterwards if it must be closed.");
    }
    Position position;
    std::optional<int64_t> entry_id;
    Minor owed = 0;
    as_owner([&] {
        if (!product_id) {
            product_id = product_by_code(debt.business_id, "standard");
            if (!product_id) {
                business_settings(debt.business_id);  // refuses a business not set up
                throw table_error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "debt_account",
                                  "business " + std::to_string(debt.business_id) +
                                      " has no product \"standard\" for debts without product_id",
                                  "Give product_id, or run collections.setup_business().");
            }
        }
        debt.product = product(debt.business_id, *product_id);
        if (currency && *currency != debt.product.currency) {
            throw table_error(ERRCODE_INVALID_PARAMETER_VALUE, "debt_account",
                              "debt currency " + *currency + " differs from product " +
                                  debt.product.code + "'s currency " + debt.product.currency,
                              "Use a product in " + *currency + ", or omit currency.");
        }
        debt.currency = debt.product.currency;
        int digits = debt.product.digits;
        Minor principal_minor = checked_amount(principal, digits, "debt_account", "principal",
                                               "debt_account_principal_positive");
        bool migrated = opening_balance.has_value();
        owed = migrated
                   ? checked_amount(*opening_balance, digits, "debt_account", "opening_balance",
                                    "debt_account_opening_balance_not_negative", true)
                   : principal_minor;
        const ProductAccounts& accounts = debt.product.accounts;
        if (owed > 0) {
            std::vector<PostingLine> lines = {
                {accounts.receivable[static_cast<int>(Component::principal)], true, owed},
                {migrated ? accounts.opening_balance : accounts.cash, false, owed}};
            entry_id =
                post_entry(debt, migrated ? today() : opened_on,
                           (migrated ? "Debt migrated: " : "Debt opened: ") + debt.external_ref,
                           "collections.debt_account:" + std::to_string(debt.id), lines);
        }
        std::vector<OpenItem> items;
        if (owed > 0) {
            items.push_back(OpenItem{0, debt.due_on, Components{owed, 0, 0, 0}});
        }
        position = position_after(debt, items);
        record_bucket_change(debt, position, "opened");
    });
    row.set("product_id", int64_datum(product_id));
    row.set("currency", text_datum(debt.currency));
    row.set("status", text_datum(owed > 0 ? "active" : "paid_off"));
    row.set("opening_entry_id", int64_datum(entry_id));
    row.set("active_plan_id", std::nullopt);
    row.set("unpaid_since", date_datum(position.unpaid_since));
    row.set("bucket_id", int64_datum(position.bucket.bucket_id));
    row.set("bucket_as_of", DateADTGetDatum(position.as_of));
    row.set("revision", Int64GetDatum(0));
    return PointerGetDatum(row.result());
}
