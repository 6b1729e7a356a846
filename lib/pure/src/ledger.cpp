#include "crm_core/ledger.hpp"

namespace crm_core::ledger {

std::optional<OverdraftRule> parse_overdraft_rule(std::string_view name) noexcept {
    if (name == "none") {
        return OverdraftRule::none;
    }
    if (name == "debits_must_not_exceed_credits") {
        return OverdraftRule::debits_must_not_exceed_credits;
    }
    if (name == "credits_must_not_exceed_debits") {
        return OverdraftRule::credits_must_not_exceed_debits;
    }
    return std::nullopt;
}

bool breaks_overdraft_rule(OverdraftRule rule, int debits_vs_credits) noexcept {
    switch (rule) {
        case OverdraftRule::debits_must_not_exceed_credits:
            return debits_vs_credits > 0;
        case OverdraftRule::credits_must_not_exceed_debits:
            return debits_vs_credits < 0;
        case OverdraftRule::none:
            break;
    }
    return false;
}

void ClosedRanges::add(int32_t first_day, int32_t last_day) {
    ranges_.emplace_back(first_day, last_day);
}

std::optional<std::pair<int32_t, int32_t>> ClosedRanges::find(int32_t day) const noexcept {
    for (const auto& range : ranges_) {
        if (range.first <= day && day <= range.second) {
            return range;
        }
    }
    return std::nullopt;
}

int32_t balance_slot(int32_t backend_number) noexcept {
    return backend_number < 0 ? 0 : backend_number;
}

}  // namespace crm_core::ledger
