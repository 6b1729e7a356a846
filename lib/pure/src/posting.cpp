#include "crm_core/posting.hpp"

#include <algorithm>

#include "crm_core/canonical.hpp"

namespace crm_core::posting {

std::optional<Side> parse_side(std::string_view name) noexcept {
    if (name == "debit") {
        return Side::debit;
    }
    if (name == "credit") {
        return Side::credit;
    }
    return std::nullopt;
}

std::optional<ItemAccount> parse_item_account(std::string_view name) noexcept {
    if (name == "stock") {
        return ItemAccount::stock;
    }
    if (name == "movement") {
        return ItemAccount::movement;
    }
    return std::nullopt;
}

std::vector<std::string> columns_read(const std::vector<RuleLine>& lines) {
    std::vector<std::string> columns;
    auto add = [&](const std::string& column) {
        if (!column.empty() && std::find(columns.begin(), columns.end(), column) == columns.end()) {
            columns.push_back(column);
        }
    };
    for (const RuleLine& line : lines) {
        add(line.when_column);
        add(line.account_column);
        add(line.item_column);
        add(line.amount_column);
        add(line.subledger_column);
        add(line.memo_column);
    }
    return columns;
}

bool condition_holds(const RuleLine& line, const std::optional<std::string>& value) {
    return line.when_column.empty() || (value && *value == line.when_value);
}

Outcome outcome_for(Amount amount) noexcept {
    switch (amount) {
        case Amount::null:
        case Amount::zero:
            return Outcome::skip;
        case Amount::positive:
            return Outcome::post;
        case Amount::negative:
        case Amount::not_finite:
            break;
    }
    return Outcome::refuse;
}

std::string source_ref(std::string_view qualified_table, int64_t event_id) {
    return std::string(qualified_table) + ":" + std::to_string(event_id);
}

std::string entry_metadata(std::string_view transaction_type, int32_t rule_version) {
    return json_object({{"transaction_type", std::string(transaction_type)},
                        {"rule_version", std::to_string(rule_version)}});
}

}  // namespace crm_core::posting
