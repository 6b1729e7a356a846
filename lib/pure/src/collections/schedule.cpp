#include "collections/schedule.hpp"

#include <algorithm>

namespace crm_core::collections {

std::optional<std::vector<Components>> split_schedule(const Components& outstanding,
                                                      const AllocationOrder& order, int count,
                                                      std::string& problem) {
    if (count < 1 || count > kMaxInstallments) {
        problem = "a plan has 1 to " + std::to_string(kMaxInstallments) + " installments";
        return std::nullopt;
    }
    for (Minor amount : outstanding) {
        if (amount < 0) {
            problem = "a debt with a negative component cannot be scheduled";
            return std::nullopt;
        }
    }
    Minor sum = total(outstanding);
    if (sum <= 0) {
        problem = "the debt owes nothing to schedule";
        return std::nullopt;
    }
    Minor each = sum / count;
    if (each == 0) {
        problem = "the amount owed is too small for " + std::to_string(count) + " installments";
        return std::nullopt;
    }
    Components left = outstanding;
    std::vector<Components> installments(static_cast<std::size_t>(count), Components{});
    for (int i = 0; i < count; ++i) {
        Minor room = i + 1 < count ? each : sum - each * (count - 1);
        for (Component component : order) {
            Minor& available = left[static_cast<int>(component)];
            Minor part = std::min(available, room);
            installments[static_cast<std::size_t>(i)][static_cast<int>(component)] = part;
            available -= part;
            room -= part;
        }
    }
    return installments;
}

}  // namespace crm_core::collections
