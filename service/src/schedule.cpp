// Scheduling arithmetic for crm-core-service (see schedule.hpp).
#include "schedule.hpp"

#include <algorithm>

namespace crm_core::service {

Duration Backoff::delay(int attempt, double random01) const {
    // Double until the cap; stop doubling early so the multiplication cannot overflow.
    Duration base = initial;
    for (int i = 1; i < attempt && base < max; ++i) {
        base *= 2;
    }
    base = std::min(base, max);
    auto shortened =
        static_cast<Duration::rep>(static_cast<double>(base.count()) * (1.0 - jitter * random01));
    return Duration(std::max<Duration::rep>(shortened, 1));
}

Scheduler::Scheduler(std::function<double()> random01) : random01_(std::move(random01)) {}

void Scheduler::configure(const Config& config) {
    jitter_ = config.jitter;
    backoff_ = Backoff{config.backoff_initial, config.backoff_max, config.jitter};
    for (Job job : kAllJobs) {
        state(job).interval = config.interval_of(job);
    }
}

bool Scheduler::is_due(Job job, SteadyTime now) const {
    const JobState& job_state = state(job);
    return !job_state.running && now >= job_state.next_due;
}

void Scheduler::started(Job job) {
    state(job).running = true;
}

void Scheduler::finished(Job job, SteadyTime now, Outcome outcome) {
    JobState& job_state = state(job);
    job_state.running = false;
    if (outcome == Outcome::failure) {
        ++job_state.consecutive_failures;
        Duration retry = backoff_.delay(job_state.consecutive_failures, random01_());
        // A backoff longer than the interval would make failures run less often than successes.
        job_state.next_due = now + std::min(retry, job_state.interval);
        return;
    }
    job_state.consecutive_failures = 0;
    // Spread by +/- jitter around the interval.
    double factor = 1.0 + jitter_ * (2.0 * random01_() - 1.0);
    job_state.next_due = now + Duration(static_cast<Duration::rep>(
                                   static_cast<double>(job_state.interval.count()) * factor));
}

void Scheduler::make_due(Job job, SteadyTime now) {
    state(job).next_due = now;
}

}  // namespace crm_core::service
