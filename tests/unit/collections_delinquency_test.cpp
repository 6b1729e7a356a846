#include <boost/test/unit_test.hpp>

#include "collections/delinquency.hpp"

using namespace crm_core::collections;

namespace {

// current, 1-30, 31-60, 61-90, 90+ (ids 1..5)
std::vector<Bucket> default_buckets() {
    return {{1, 0, 0}, {2, 1, 30}, {3, 31, 60}, {4, 61, 90}, {5, 91, std::nullopt}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(collections_delinquency)

BOOST_AUTO_TEST_CASE(days_past_due_start_after_the_due_date_and_the_grace_days) {
    BOOST_TEST(days_past_due(std::nullopt, 100, 0) == 0);
    BOOST_TEST(days_past_due(100, 100, 0) == 0);
    BOOST_TEST(days_past_due(100, 101, 0) == 1);
    BOOST_TEST(days_past_due(100, 103, 5) == 0);
    BOOST_TEST(days_past_due(100, 106, 5) == 1);
    BOOST_TEST(days_past_due(100, 50, 0) == 0);
}

BOOST_AUTO_TEST_CASE(a_bucket_holds_its_range_and_says_when_it_changes) {
    auto buckets = default_buckets();
    BucketState current = bucket_state(buckets, 100, 90, 0);  // due in 10 days
    BOOST_TEST(*current.bucket_id == 1);
    BOOST_TEST(*current.changes_on == 101);
    BucketState late = bucket_state(buckets, 100, 130, 0);  // 30 days
    BOOST_TEST(late.days_past_due == 30);
    BOOST_TEST(*late.bucket_id == 2);
    BOOST_TEST(*late.changes_on == 131);
    BucketState later = bucket_state(buckets, 100, 131, 0);
    BOOST_TEST(*later.bucket_id == 3);
    BOOST_TEST(*later.changes_on == 161);
    BucketState graced = bucket_state(buckets, 100, 130, 5);  // 25 days
    BOOST_TEST(*graced.bucket_id == 2);
    BOOST_TEST(*graced.changes_on == 136);
}

BOOST_AUTO_TEST_CASE(the_last_bucket_and_paid_debts_never_change_by_themselves) {
    auto buckets = default_buckets();
    BucketState worst = bucket_state(buckets, 100, 400, 0);
    BOOST_TEST(*worst.bucket_id == 5);
    BOOST_TEST(!worst.changes_on.has_value());
    BucketState paid = bucket_state(buckets, std::nullopt, 400, 0);
    BOOST_TEST(*paid.bucket_id == 1);
    BOOST_TEST(paid.days_past_due == 0);
    BOOST_TEST(!paid.changes_on.has_value());
}

BOOST_AUTO_TEST_CASE(gaps_between_buckets_end_where_the_next_bucket_starts) {
    std::vector<Bucket> gappy = {{1, 0, 0}, {3, 31, std::nullopt}};
    BucketState gap = bucket_state(gappy, 100, 110, 0);
    BOOST_TEST(!gap.bucket_id.has_value());
    BOOST_TEST(*gap.changes_on == 131);
    BOOST_TEST(!bucket_state({}, 100, 110, 0).changes_on.has_value());
}

BOOST_AUTO_TEST_SUITE_END()
