// The allocation waterfall (Fineract's repayment strategies): a payment pays the open items of
// a debt (installments oldest first, then any unscheduled balance) component by component in the
// product's order; what is left over is an overpayment for the customer's credit balance.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collections/money.hpp"

namespace crm_core::collections {

// What a debt is made of; each component has its own receivable account.
enum class Component : int { principal = 0, interest = 1, fee = 2, penalty = 3 };
constexpr int kComponents = 4;

// An amount per component, indexed by static_cast<int>(Component).
using Components = std::array<Minor, kComponents>;

// "principal", "interest", "fee", "penalty".
std::string_view component_name(Component component) noexcept;
std::optional<Component> parse_component(std::string_view name) noexcept;

// The order in which a payment pays the components: each of the four exactly once.
using AllocationOrder = std::array<Component, kComponents>;

// penalty, fee, interest, principal (Fineract's "mifos-standard-strategy").
AllocationOrder default_allocation_order() noexcept;

// Reads a product's allocation order; on failure says why in problem.
std::optional<AllocationOrder> parse_allocation_order(const std::vector<std::string>& names,
                                                      std::string& problem);

// How the waterfall walks the open items:
// installment_first: the oldest item entirely (components in order), then the next one;
// component_first: the first component over all items (oldest first), then the next component.
enum class AllocationStrategy { installment_first, component_first };
std::optional<AllocationStrategy> parse_allocation_strategy(std::string_view name) noexcept;

// Something a debt owes: an installment of its active plan (oldest first), or, with
// installment_id 0, the balance no installment schedules (a debt without a plan).
struct OpenItem {
    std::int64_t installment_id = 0;
    // Days since any fixed epoch (the glue uses PostgreSQL's); none for a debt without a due date.
    std::optional<std::int32_t> due_day;
    Components remaining{};
};

// One slice of a payment: this much of this component of this item.
struct AllocatedAmount {
    std::int64_t installment_id;
    Component component;
    Minor amount;
};

// A payment split over the open items.
struct Allocation {
    std::vector<AllocatedAmount> amounts;  // in waterfall order, no zero amounts
    Components by_component{};             // the same, summed per component
    Minor overpayment = 0;                 // more than everything owed
};

// Splits amount (> 0) over items (in the order given: oldest first). Never pays more than an
// item's remaining amount; never negative.
Allocation allocate(const std::vector<OpenItem>& items, const AllocationOrder& order,
                    AllocationStrategy strategy, Minor amount);

// The items after an allocation: each one's remaining minus what the allocation paid.
std::vector<OpenItem> after_allocation(std::vector<OpenItem> items, const Allocation& allocation);

// The due day of the oldest dated item that still owes something (what days past due count
// from), or std::nullopt when everything dated is paid.
std::optional<std::int32_t> unpaid_since(const std::vector<OpenItem>& items) noexcept;

// The sum of the components.
Minor total(const Components& amounts) noexcept;

}  // namespace crm_core::collections
