// When each job runs next: intervals with jitter, exponential backoff after failures, and
// never two runs of one job at once. Pure logic on an injected clock and random source.
#pragma once

#include <array>
#include <chrono>
#include <functional>

#include "config.hpp"

namespace crm_core::service {

using SteadyTime = std::chrono::steady_clock::time_point;

// Exponential backoff: initial, 2x initial, 4x ... capped at max, then shortened by up to
// `jitter` of itself at random so that many retrying instances spread out.
struct Backoff {
    Duration initial;
    Duration max;
    double jitter;

    // The delay before retry number `attempt` (1 = after the first failure); random01 in [0,1).
    Duration delay(int attempt, double random01) const;
};

enum class Outcome { success, failure, skipped };

class Scheduler {
  public:
    // random01 returns numbers in [0, 1); tests pass a fixed sequence.
    explicit Scheduler(std::function<double()> random01);

    // Sets intervals, jitter and backoff; keeps each job's next due time.
    void configure(const Config& config);
    // Whether the job should start now: its time has come and it is not running.
    bool is_due(Job job, SteadyTime now) const;
    // Records that the job started; it is not due again until it finishes.
    void started(Job job);
    // Records the result and picks the next due time: an interval with jitter after success
    // or skip, an exponential backoff after consecutive failures.
    void finished(Job job, SteadyTime now, Outcome outcome);
    // Makes the job due at once (e.g. a new leader catches up).
    void make_due(Job job, SteadyTime now);

    bool running(Job job) const { return state(job).running; }
    int consecutive_failures(Job job) const { return state(job).consecutive_failures; }
    SteadyTime next_due(Job job) const { return state(job).next_due; }

  private:
    struct JobState {
        Duration interval{};
        SteadyTime next_due{};  // epoch: due at once
        bool running = false;
        int consecutive_failures = 0;
    };
    const JobState& state(Job job) const { return jobs_[static_cast<std::size_t>(job)]; }
    JobState& state(Job job) { return jobs_[static_cast<std::size_t>(job)]; }

    std::function<double()> random01_;
    double jitter_ = 0;
    Backoff backoff_{};
    std::array<JobState, kAllJobs.size()> jobs_{};
};

}  // namespace crm_core::service
