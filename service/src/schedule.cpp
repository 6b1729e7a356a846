// Scheduling arithmetic for crm-core-service (see schedule.hpp).
#include "schedule.hpp"

#include "crm_core/job_schedule.hpp"

namespace crm_core::service {

Duration Backoff::delay(int attempt, double random01) const {
    return Duration(
        backoff_delay_ms(RetryPolicy{initial.count(), max.count(), jitter}, attempt, random01));
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
    job_state.consecutive_failures =
        outcome == Outcome::failure ? job_state.consecutive_failures + 1 : 0;
    RetryPolicy policy{backoff_.initial.count(), backoff_.max.count(), jitter_};
    job_state.next_due =
        now + Duration(next_run_delay_ms(job_state.interval.count(), job_state.consecutive_failures,
                                         policy, random01_()));
}

void Scheduler::make_due(Job job, SteadyTime now) {
    state(job).next_due = now;
}

}  // namespace crm_core::service
