#include "collections/workload.hpp"

#include <algorithm>
#include <limits>

namespace crm_core::collections {

std::vector<std::int64_t> balanced_quotas(
    const std::vector<std::int64_t>& loads,
    const std::vector<std::optional<std::int64_t>>& capacities, std::int64_t n) {
    const size_t agents = loads.size();
    std::vector<std::int64_t> quotas(agents, 0);
    if (agents == 0 || n <= 0) {
        return quotas;
    }
    constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max() / 4;
    std::vector<std::int64_t> load(agents), room(agents);
    std::int64_t total_room = 0;
    for (size_t i = 0; i < agents; ++i) {
        load[i] = std::max<std::int64_t>(loads[i], 0);
        std::optional<std::int64_t> capacity = i < capacities.size() ? capacities[i] : std::nullopt;
        room[i] = capacity ? std::max<std::int64_t>(*capacity - load[i], 0) : kUnlimited;
        total_room = std::min(kUnlimited, total_room + room[i]);
    }
    if (total_room <= n) {
        return room;  // everyone takes all the room there is
    }
    // Items that fit below level w (every agent filled up to w, within its room).
    auto filled_below = [&](std::int64_t w) {
        std::int64_t sum = 0;
        for (size_t i = 0; i < agents; ++i) {
            sum += std::min(room[i], std::max<std::int64_t>(w - load[i], 0));
            if (sum >= n) {
                return sum;
            }
        }
        return sum;
    };
    // The lowest level w that holds n items: filled_below(w) >= n > filled_below(w - 1).
    std::int64_t low = *std::min_element(load.begin(), load.end());
    std::int64_t high = *std::max_element(load.begin(), load.end()) + n;
    while (low < high) {
        std::int64_t middle = low + (high - low) / 2;
        if (filled_below(middle) >= n) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    std::int64_t level = low;
    std::int64_t given = 0;
    for (size_t i = 0; i < agents; ++i) {
        quotas[i] = std::min(room[i], std::max<std::int64_t>(level - 1 - load[i], 0));
        given += quotas[i];
    }
    // The rest fills level - 1 -> level, lower index first.
    for (size_t i = 0; i < agents && given < n; ++i) {
        if (load[i] + quotas[i] == level - 1 && quotas[i] < room[i]) {
            ++quotas[i];
            ++given;
        }
    }
    return quotas;
}

}  // namespace crm_core::collections
