// Scheduling on a fake clock: intervals with jitter, no overlapping runs, backoff.
#include <boost/test/unit_test.hpp>

#include <deque>

#include "schedule.hpp"

using namespace crm_core::service;
using namespace std::chrono_literals;

namespace {

// A random source that replays fixed numbers (0.5 when it runs out: no jitter).
struct FixedRandom {
    std::shared_ptr<std::deque<double>> values = std::make_shared<std::deque<double>>();
    double operator()() const {
        if (values->empty()) {
            return 0.5;
        }
        double value = values->front();
        values->pop_front();
        return value;
    }
};

Config config_with(Duration refresh, double jitter) {
    Config config;
    config.interval[static_cast<std::size_t>(Job::refresh)] = refresh;
    config.jitter = jitter;
    config.backoff_initial = 1s;
    config.backoff_max = 8s;
    return config;
}

const SteadyTime t0 = SteadyTime() + 1000h;  // the fake clock's start

}  // namespace

BOOST_AUTO_TEST_SUITE(schedule)

BOOST_AUTO_TEST_CASE(first_run_is_due_at_once_then_every_interval) {
    Scheduler scheduler{FixedRandom{}};
    scheduler.configure(config_with(60s, 0.1));
    BOOST_TEST(scheduler.is_due(Job::refresh, t0));
    scheduler.started(Job::refresh);
    scheduler.finished(Job::refresh, t0 + 2s, Outcome::success);
    BOOST_TEST(!scheduler.is_due(Job::refresh, t0 + 61s));
    BOOST_TEST(scheduler.is_due(Job::refresh, t0 + 62s));  // random 0.5: exactly the interval
}

BOOST_AUTO_TEST_CASE(jitter_spreads_within_bounds) {
    FixedRandom random;
    *random.values = {0.0, 0.999999};
    Scheduler scheduler{random};
    scheduler.configure(config_with(100s, 0.2));
    scheduler.started(Job::refresh);
    scheduler.finished(Job::refresh, t0, Outcome::success);
    BOOST_TEST((scheduler.next_due(Job::refresh) == t0 + 80s));  // -20%
    scheduler.started(Job::refresh);
    scheduler.finished(Job::refresh, t0, Outcome::success);
    auto late = std::chrono::duration_cast<Duration>(scheduler.next_due(Job::refresh) - t0);
    BOOST_TEST(late.count() > 119000);
    BOOST_TEST(late.count() <= 120000);  // +20% at most
}

BOOST_AUTO_TEST_CASE(a_running_job_is_never_due) {
    Scheduler scheduler{FixedRandom{}};
    scheduler.configure(config_with(10s, 0));
    scheduler.started(Job::refresh);
    BOOST_TEST(scheduler.running(Job::refresh));
    BOOST_TEST(!scheduler.is_due(Job::refresh, t0 + 1h));  // overran by far: still not twice
    scheduler.finished(Job::refresh, t0 + 1h, Outcome::success);
    BOOST_TEST(!scheduler.is_due(Job::refresh, t0 + 1h));
    BOOST_TEST(scheduler.is_due(Job::refresh, t0 + 1h + 10s));
    BOOST_TEST(scheduler.is_due(Job::seal, t0));  // jobs are independent
}

BOOST_AUTO_TEST_CASE(failures_back_off_exponentially_then_reset) {
    Scheduler scheduler{FixedRandom{}};
    Config config = config_with(1h, 0);
    scheduler.configure(config);
    SteadyTime now = t0;
    std::vector<long long> delays;
    for (int i = 0; i < 6; ++i) {
        scheduler.started(Job::refresh);
        scheduler.finished(Job::refresh, now, Outcome::failure);
        delays.push_back(
            std::chrono::duration_cast<std::chrono::seconds>(scheduler.next_due(Job::refresh) - now)
                .count());
        now = scheduler.next_due(Job::refresh);
    }
    BOOST_TEST(delays == (std::vector<long long>{1, 2, 4, 8, 8, 8}),
               boost::test_tools::per_element());
    BOOST_TEST(scheduler.consecutive_failures(Job::refresh) == 6);
    scheduler.started(Job::refresh);
    scheduler.finished(Job::refresh, now, Outcome::success);
    BOOST_TEST(scheduler.consecutive_failures(Job::refresh) == 0);
    BOOST_TEST((scheduler.next_due(Job::refresh) == now + 1h));
}

BOOST_AUTO_TEST_CASE(backoff_never_exceeds_the_interval) {
    Scheduler scheduler{FixedRandom{}};
    scheduler.configure(config_with(3s, 0));
    for (int i = 0; i < 5; ++i) {
        scheduler.started(Job::refresh);
        scheduler.finished(Job::refresh, t0, Outcome::failure);
    }
    BOOST_TEST((scheduler.next_due(Job::refresh) == t0 + 3s));
}

BOOST_AUTO_TEST_CASE(skipped_jobs_wait_a_full_interval) {
    Scheduler scheduler{FixedRandom{}};
    scheduler.configure(config_with(30s, 0));
    scheduler.started(Job::refresh);
    scheduler.finished(Job::refresh, t0, Outcome::skipped);
    BOOST_TEST(scheduler.consecutive_failures(Job::refresh) == 0);
    BOOST_TEST((scheduler.next_due(Job::refresh) == t0 + 30s));
    scheduler.make_due(Job::refresh, t0 + 1s);
    BOOST_TEST(scheduler.is_due(Job::refresh, t0 + 1s));
}

BOOST_AUTO_TEST_CASE(backoff_jitter_shortens_and_caps) {
    Backoff backoff{Duration(1000), Duration(60000), 0.5};
    BOOST_TEST(backoff.delay(1, 0.0).count() == 1000);
    BOOST_TEST(backoff.delay(3, 0.0).count() == 4000);
    BOOST_TEST(backoff.delay(3, 0.999).count() > 2000);
    BOOST_TEST(backoff.delay(3, 0.999).count() < 2010);
    BOOST_TEST(backoff.delay(1000, 0.0).count() == 60000);  // no overflow at huge attempts
}

BOOST_AUTO_TEST_SUITE_END()
