// Pure ledger rules: overdraft rules, closed date ranges and balance-slot selection.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace crm_core::ledger {

// An account's overdraft rule (TigerBeetle's flags): which side may never exceed the other.
enum class OverdraftRule { none, debits_must_not_exceed_credits, credits_must_not_exceed_debits };

// The rule named by the account.overdraft column, or std::nullopt for an unknown name.
std::optional<OverdraftRule> parse_overdraft_rule(std::string_view name) noexcept;

// True when an account with this rule may not hold these totals; debits_vs_credits is the
// sign of (debits - credits): negative, zero or positive.
bool breaks_overdraft_rule(OverdraftRule rule, int debits_vs_credits) noexcept;

// Closed fiscal periods of one business as inclusive day ranges (days since any fixed epoch).
class ClosedRanges {
  public:
    // Adds the inclusive range [first_day, last_day].
    void add(int32_t first_day, int32_t last_day);

    // The closed range holding day, if any.
    std::optional<std::pair<int32_t, int32_t>> find(int32_t day) const noexcept;

  private:
    std::vector<std::pair<int32_t, int32_t>> ranges_;
};

// The balance slot a backend writes: its backend number, unique among running backends, so
// two concurrent transactions never update the same balance row (no waits, no deadlocks).
int32_t balance_slot(int32_t backend_number) noexcept;

}  // namespace crm_core::ledger
