#include <boost/test/unit_test.hpp>

#include <vector>

#include "crm_core/matview_plan.hpp"

using crm_core::matview::BucketGrid;
using crm_core::matview::Dependency;
using crm_core::matview::TimeRange;
using crm_core::matview::ViewId;
namespace mv = crm_core::matview;

namespace {
constexpr std::int64_t kHour = 3'600'000'000;
constexpr std::int64_t kDay = 24 * kHour;
}  // namespace

BOOST_AUTO_TEST_SUITE(matview_plan)

BOOST_AUTO_TEST_CASE(dependencies_refresh_first) {
    // 30 reads 20 reads 10; 40 reads 10 and 30.
    std::vector<ViewId> views{40, 30, 20, 10};
    std::vector<Dependency> edges{{30, 20}, {20, 10}, {40, 10}, {40, 30}};
    auto result = mv::order_for_refresh(views, edges);
    BOOST_TEST(result.order == (std::vector<ViewId>{10, 20, 30, 40}));
    BOOST_TEST(result.blocked.empty());
}

BOOST_AUTO_TEST_CASE(independent_views_keep_the_callers_order) {
    std::vector<ViewId> views{5, 3, 9, 1};
    auto result = mv::order_for_refresh(views, {{9, 1}});
    BOOST_TEST(result.order == (std::vector<ViewId>{5, 3, 1, 9}));
}

BOOST_AUTO_TEST_CASE(unknown_self_and_duplicate_edges_are_ignored) {
    std::vector<ViewId> views{1, 2};
    auto result = mv::order_for_refresh(views, {{1, 99}, {2, 2}, {2, 1}, {2, 1}});
    BOOST_TEST(result.order == (std::vector<ViewId>{1, 2}));
    BOOST_TEST(mv::find_cycle(views, {{2, 2}}).empty());
}

BOOST_AUTO_TEST_CASE(cycles_block_their_members_and_dependents_only) {
    // 1 <-> 2 is a cycle, 3 reads 2, 4 stands alone, 5 is read by 1.
    std::vector<ViewId> views{1, 2, 3, 4, 5};
    std::vector<Dependency> edges{{1, 2}, {2, 1}, {3, 2}, {1, 5}};
    auto result = mv::order_for_refresh(views, edges);
    BOOST_TEST(result.order == (std::vector<ViewId>{4, 5}));
    BOOST_TEST(result.blocked == (std::vector<ViewId>{1, 2, 3}));
    BOOST_TEST(mv::find_cycle(views, edges) == (std::vector<ViewId>{1, 2, 1}));
}

BOOST_AUTO_TEST_CASE(finds_a_long_cycle_as_a_path) {
    std::vector<ViewId> views{7, 8, 9, 10};
    std::vector<Dependency> edges{{7, 8}, {8, 9}, {9, 10}, {10, 8}};
    BOOST_TEST(mv::find_cycle(views, edges) == (std::vector<ViewId>{8, 9, 10, 8}));
    BOOST_TEST(mv::find_cycle(views, {{7, 8}, {8, 9}}).empty());
}

BOOST_AUTO_TEST_CASE(finds_the_cycle_through_a_given_view_only) {
    // 1 <-> 2 is a cycle; 3 reads 4 reads 5 reads 3; 6 reads 1 but is on no cycle.
    std::vector<ViewId> views{1, 2, 3, 4, 5, 6};
    std::vector<Dependency> edges{{1, 2}, {2, 1}, {3, 4}, {4, 5}, {5, 3}, {6, 1}};
    BOOST_TEST(mv::find_cycle_through(4, views, edges) == (std::vector<ViewId>{4, 5, 3, 4}));
    BOOST_TEST(mv::find_cycle_through(2, views, edges) == (std::vector<ViewId>{2, 1, 2}));
    BOOST_TEST(mv::find_cycle_through(6, views, edges).empty());
    BOOST_TEST(mv::find_cycle_through(99, views, edges).empty());
}

BOOST_AUTO_TEST_CASE(cascade_lists_the_root_then_its_dependents_in_order) {
    std::vector<ViewId> views{4, 3, 2, 1, 6};
    std::vector<Dependency> edges{{2, 1}, {3, 2}, {4, 1}, {6, 5}};
    BOOST_TEST(mv::with_dependents(1, views, edges) == (std::vector<ViewId>{1, 4, 2, 3}));
    BOOST_TEST(mv::with_dependents(3, views, edges) == (std::vector<ViewId>{3}));
    BOOST_TEST(mv::with_dependents(77, views, edges).empty());
    // A root on a cycle cannot be ordered.
    BOOST_TEST(mv::with_dependents(1, {1, 2}, {{1, 2}, {2, 1}}).empty());
}

BOOST_AUTO_TEST_CASE(intervals_use_postgresql_conventions) {
    BOOST_TEST(mv::interval_microseconds(0, 0, 1500) == 1500);
    BOOST_TEST(mv::interval_microseconds(0, 1, 0) == kDay);
    BOOST_TEST(mv::interval_microseconds(1, 0, 0) == 30 * kDay);
    BOOST_TEST(mv::interval_microseconds(0, 1, -kHour) == 23 * kHour);
    BOOST_TEST(mv::interval_microseconds(INT32_MAX, INT32_MAX, INT64_MAX) == mv::kPlusInfinity);
}

BOOST_AUTO_TEST_CASE(due_one_interval_after_success_or_at_once) {
    BOOST_TEST(mv::next_due(std::nullopt, kHour, 1000) == 1000);
    BOOST_TEST(mv::next_due(5 * kHour, kHour, 1000) == 6 * kHour);
    BOOST_TEST(mv::next_due(mv::kPlusInfinity - 1, kHour, 0) == mv::kPlusInfinity);
}

BOOST_AUTO_TEST_CASE(bucket_start_floors_on_both_sides_of_the_origin) {
    BucketGrid daily{kDay, 0};
    BOOST_TEST(mv::bucket_start(daily, 0) == 0);
    BOOST_TEST(mv::bucket_start(daily, kDay - 1) == 0);
    BOOST_TEST(mv::bucket_start(daily, kDay) == kDay);
    BOOST_TEST(mv::bucket_start(daily, -1) == -kDay);
    BOOST_TEST(mv::bucket_start(daily, -kDay) == -kDay);
    BucketGrid shifted{kDay, 6 * kHour};
    BOOST_TEST(mv::bucket_start(shifted, 5 * kHour) == 6 * kHour - kDay);
    BOOST_TEST(mv::bucket_start(shifted, 7 * kHour) == 6 * kHour);
    BOOST_TEST(mv::bucket_start(daily, mv::kMinusInfinity) == mv::kMinusInfinity);
    BOOST_TEST(mv::bucket_start(daily, mv::kPlusInfinity) == mv::kPlusInfinity);
    BOOST_TEST(mv::bucket_start(daily, mv::kMinusInfinity + 1) == mv::kMinusInfinity);
}

BOOST_AUTO_TEST_CASE(changed_times_become_merged_bucket_ranges) {
    BucketGrid daily{kDay, 0};
    auto ranges = mv::changed_bucket_ranges(
        daily, {5 * kDay + 3, kHour, 2 * kDay - 1, kDay + 5, 5 * kDay + kHour, -kHour});
    // Days -1, 0 and 1 touch and merge; day 5 stands alone.
    BOOST_TEST((ranges == std::vector<TimeRange>{{-kDay, 2 * kDay}, {5 * kDay, 6 * kDay}}));
    BOOST_TEST(mv::changed_bucket_ranges(daily, {}).empty());
    auto everything = mv::changed_bucket_ranges(daily, {kHour, mv::kPlusInfinity});
    BOOST_TEST((everything == std::vector<TimeRange>{{mv::kMinusInfinity, mv::kPlusInfinity}}));
}

BOOST_AUTO_TEST_CASE(a_span_covers_whole_buckets_from_first_to_last) {
    BucketGrid daily{kDay, 0};
    BOOST_TEST((mv::bucket_span(daily, kHour, 3 * kDay + kHour) == TimeRange{0, 4 * kDay}));
    BOOST_TEST((mv::bucket_span(daily, kHour, kHour) == TimeRange{0, kDay}));
    BOOST_TEST((mv::bucket_span(daily, mv::kMinusInfinity, kHour) ==
                TimeRange{mv::kMinusInfinity, mv::kPlusInfinity}));
}

BOOST_AUTO_TEST_CASE(ranges_merge_when_they_overlap_or_touch) {
    auto merged = mv::merge_ranges({{10, 20}, {0, 5}, {20, 30}, {25, 26}, {40, 50}, {4, 6}});
    BOOST_TEST((merged == std::vector<TimeRange>{{0, 6}, {10, 30}, {40, 50}}));
}

BOOST_AUTO_TEST_SUITE_END()
