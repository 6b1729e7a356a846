// Load balancing of collection work: how many new debts each agent takes so that the agents'
// loads end as level as their capacities allow (water filling).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace crm_core::collections {

// Quotas for n new items over agents with current `loads` and capacities (`capacities[i]`:
// the most items agent i may hold in all; none: no limit). The least loaded agents fill
// first, one level at a time; ties go to the lower index. When the capacities leave less
// room than n, every agent takes all its room (the quotas add up to less than n). loads and
// capacities have one entry per agent; negative loads count as 0.
std::vector<std::int64_t> balanced_quotas(
    const std::vector<std::int64_t>& loads,
    const std::vector<std::optional<std::int64_t>>& capacities, std::int64_t n);

}  // namespace crm_core::collections
