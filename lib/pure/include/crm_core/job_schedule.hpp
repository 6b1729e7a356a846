// When a periodic job runs next: its interval spread by +/- jitter after a success, an
// exponential backoff after failures. One rule for crm-core-service's built-in jobs and for the
// jobs registered with crm_core.schedule_job() (computed in the database, so that every runner
// agrees). Pure logic; the random number is passed in so that tests can fix it.
#pragma once

#include <cstdint>

namespace crm_core {

struct RetryPolicy {
    std::int64_t backoff_initial_ms;
    std::int64_t backoff_max_ms;
    double jitter;  // fraction of an interval (and of a backoff) chosen at random, 0 to 0.5
};

// The delay before retry number `attempt` (1 = after the first failure): initial, 2x, 4x ...
// capped at max, then shortened by up to `jitter` of itself so that many retrying runners spread
// out; at least 1 ms. random01 in [0, 1).
std::int64_t backoff_delay_ms(const RetryPolicy& policy, int attempt, double random01);

// How long after a run finished the job is due again: after a success (consecutive_failures 0)
// its interval times 1 +/- jitter; after failures the backoff, never later than the interval
// (failures must not make a job run less often than successes do).
std::int64_t next_run_delay_ms(std::int64_t interval_ms, int consecutive_failures,
                               const RetryPolicy& policy, double random01);

}  // namespace crm_core
