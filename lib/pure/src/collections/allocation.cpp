#include "collections/allocation.hpp"

#include <algorithm>

namespace crm_core::collections {

namespace {

constexpr std::array<std::string_view, kComponents> kComponentNames = {"principal", "interest",
                                                                       "fee", "penalty"};

int index(Component component) noexcept {
    return static_cast<int>(component);
}

// Takes up to `left` from item's remaining component; records it.
void take(const OpenItem& item, Components& remaining, Component component, Minor& left,
          Allocation& allocation) {
    Minor owed = remaining[index(component)];
    if (left <= 0 || owed <= 0) {
        return;
    }
    Minor paid = std::min(owed, left);
    remaining[index(component)] -= paid;
    left -= paid;
    allocation.by_component[index(component)] += paid;
    allocation.amounts.push_back(AllocatedAmount{item.installment_id, component, paid});
}

}  // namespace

std::string_view component_name(Component component) noexcept {
    return kComponentNames[index(component)];
}

std::optional<Component> parse_component(std::string_view name) noexcept {
    for (int i = 0; i < kComponents; ++i) {
        if (kComponentNames[i] == name) {
            return static_cast<Component>(i);
        }
    }
    return std::nullopt;
}

AllocationOrder default_allocation_order() noexcept {
    return {Component::penalty, Component::fee, Component::interest, Component::principal};
}

std::optional<AllocationOrder> parse_allocation_order(const std::vector<std::string>& names,
                                                      std::string& problem) {
    if (names.size() != kComponents) {
        problem = "the allocation order must name principal, interest, fee and penalty, each once";
        return std::nullopt;
    }
    AllocationOrder order{};
    std::array<bool, kComponents> seen{};
    for (std::size_t i = 0; i < names.size(); ++i) {
        std::optional<Component> component = parse_component(names[i]);
        if (!component) {
            problem = "unknown component \"" + names[i] +
                      "\" in the allocation order (principal, interest, fee, penalty)";
            return std::nullopt;
        }
        if (seen[index(*component)]) {
            problem = "component \"" + names[i] + "\" appears twice in the allocation order";
            return std::nullopt;
        }
        seen[index(*component)] = true;
        order[i] = *component;
    }
    return order;
}

std::optional<AllocationStrategy> parse_allocation_strategy(std::string_view name) noexcept {
    if (name == "installment_first") {
        return AllocationStrategy::installment_first;
    }
    if (name == "component_first") {
        return AllocationStrategy::component_first;
    }
    return std::nullopt;
}

Allocation allocate(const std::vector<OpenItem>& items, const AllocationOrder& order,
                    AllocationStrategy strategy, Minor amount) {
    Allocation allocation;
    Minor left = amount;
    std::vector<Components> remaining;
    remaining.reserve(items.size());
    for (const OpenItem& item : items) {
        remaining.push_back(item.remaining);
    }
    if (strategy == AllocationStrategy::installment_first) {
        for (std::size_t i = 0; i < items.size() && left > 0; ++i) {
            for (Component component : order) {
                take(items[i], remaining[i], component, left, allocation);
            }
        }
    } else {
        for (Component component : order) {
            for (std::size_t i = 0; i < items.size() && left > 0; ++i) {
                take(items[i], remaining[i], component, left, allocation);
            }
        }
    }
    allocation.overpayment = std::max<Minor>(left, 0);
    return allocation;
}

std::vector<OpenItem> after_allocation(std::vector<OpenItem> items, const Allocation& allocation) {
    for (const AllocatedAmount& paid : allocation.amounts) {
        for (OpenItem& item : items) {
            if (item.installment_id == paid.installment_id) {
                item.remaining[index(paid.component)] -= paid.amount;
                break;
            }
        }
    }
    return items;
}

std::optional<std::int32_t> unpaid_since(const std::vector<OpenItem>& items) noexcept {
    std::optional<std::int32_t> oldest;
    for (const OpenItem& item : items) {
        if (item.due_day && total(item.remaining) > 0 && (!oldest || *item.due_day < *oldest)) {
            oldest = item.due_day;
        }
    }
    return oldest;
}

Minor total(const Components& amounts) noexcept {
    Minor sum = 0;
    for (Minor amount : amounts) {
        sum += amount;
    }
    return sum;
}

}  // namespace crm_core::collections
