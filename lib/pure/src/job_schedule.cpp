#include "crm_core/job_schedule.hpp"

#include <algorithm>

namespace crm_core {

std::int64_t backoff_delay_ms(const RetryPolicy& policy, int attempt, double random01) {
    // Double until the cap; stop doubling early so the multiplication cannot overflow.
    std::int64_t base = policy.backoff_initial_ms;
    for (int i = 1; i < attempt && base < policy.backoff_max_ms; ++i) {
        base *= 2;
    }
    base = std::min(base, policy.backoff_max_ms);
    auto shortened =
        static_cast<std::int64_t>(static_cast<double>(base) * (1.0 - policy.jitter * random01));
    return std::max<std::int64_t>(shortened, 1);
}

std::int64_t next_run_delay_ms(std::int64_t interval_ms, int consecutive_failures,
                               const RetryPolicy& policy, double random01) {
    if (consecutive_failures > 0) {
        return std::min(backoff_delay_ms(policy, consecutive_failures, random01), interval_ms);
    }
    double factor = 1.0 + policy.jitter * (2.0 * random01 - 1.0);
    return static_cast<std::int64_t>(static_cast<double>(interval_ms) * factor);
}

}  // namespace crm_core
