// When a periodic job runs next: interval with jitter after a success, capped exponential
// backoff after failures (the rule crm_core.run_job() and crm-core-service share).
#include <boost/test/unit_test.hpp>

#include "crm_core/job_schedule.hpp"

using crm_core::backoff_delay_ms;
using crm_core::next_run_delay_ms;
using crm_core::RetryPolicy;

BOOST_AUTO_TEST_SUITE(job_schedule)

BOOST_AUTO_TEST_CASE(success_spreads_the_interval_by_jitter) {
    RetryPolicy policy{5'000, 600'000, 0.1};
    BOOST_TEST(next_run_delay_ms(60'000, 0, policy, 0.5) == 60'000);
    BOOST_TEST(next_run_delay_ms(60'000, 0, policy, 0.0) == 54'000);
    BOOST_TEST(next_run_delay_ms(60'000, 0, policy, 0.999999) == 65'999);
    BOOST_TEST(next_run_delay_ms(86'400'000, 0, RetryPolicy{5'000, 600'000, 0}, 0.3) == 86'400'000);
}

BOOST_AUTO_TEST_CASE(failures_back_off_exponentially_up_to_the_cap) {
    RetryPolicy policy{5'000, 60'000, 0};
    BOOST_TEST(next_run_delay_ms(3'600'000, 1, policy, 0.7) == 5'000);
    BOOST_TEST(next_run_delay_ms(3'600'000, 2, policy, 0.7) == 10'000);
    BOOST_TEST(next_run_delay_ms(3'600'000, 4, policy, 0.7) == 40'000);
    BOOST_TEST(next_run_delay_ms(3'600'000, 5, policy, 0.7) == 60'000);
    BOOST_TEST(next_run_delay_ms(3'600'000, 1'000'000, policy, 0.7) == 60'000);  // no overflow
}

BOOST_AUTO_TEST_CASE(a_backoff_never_exceeds_the_interval) {
    RetryPolicy policy{5'000, 600'000, 0};
    BOOST_TEST(next_run_delay_ms(7'000, 2, policy, 0.5) == 7'000);
}

BOOST_AUTO_TEST_CASE(jitter_shortens_a_backoff_never_below_one_millisecond) {
    BOOST_TEST(backoff_delay_ms(RetryPolicy{10'000, 60'000, 0.5}, 1, 0.999999) == 5'000);
    BOOST_TEST(backoff_delay_ms(RetryPolicy{1, 1, 0.5}, 1, 0.999999) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
