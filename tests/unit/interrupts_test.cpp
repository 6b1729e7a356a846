// Cancellation points in pure code: every loop over user-sized input calls check_interrupts(),
// so a hook that counts calls measures the work done, and one that throws stops it. Quadratic
// algorithms show up as call counts that grow with the square of the input.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "crm_core/interrupts.hpp"
#include "crm_core/matview_plan.hpp"
#include "crm_core/partition_plan.hpp"

namespace mv = crm_core::matview;
namespace part = crm_core::partition;

namespace {

std::uint64_t calls = 0;
std::uint64_t stop_after = 0;  // 0: never stop

void counting_hook() {
    ++calls;
    if (stop_after != 0 && calls >= stop_after) {
        throw std::runtime_error("cancelled");
    }
}

// Installs the counting hook for one test and removes it afterwards.
struct CountingHook {
    explicit CountingHook(std::uint64_t stop = 0) {
        calls = 0;
        stop_after = stop;
        previous = crm_core::set_interrupt_hook(&counting_hook);
    }
    ~CountingHook() { crm_core::set_interrupt_hook(previous); }
    crm_core::InterruptHook previous;
};

// n views in a chain handed over in the worst order: view i reads view i + 1, so the last one
// listed must refresh first.
struct Chain {
    std::vector<mv::ViewId> views;
    std::vector<mv::Dependency> edges;
    explicit Chain(std::uint32_t n) {
        for (std::uint32_t i = 0; i < n; ++i) {
            views.push_back(i + 1);
            if (i + 1 < n) {
                edges.push_back({i + 1, i + 2});
            }
        }
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(interrupts)

BOOST_AUTO_TEST_CASE(without_a_hook_nothing_happens) {
    crm_core::InterruptHook previous = crm_core::set_interrupt_hook(nullptr);
    BOOST_CHECK_NO_THROW(crm_core::check_interrupts());
    crm_core::set_interrupt_hook(previous);
}

BOOST_AUTO_TEST_CASE(refresh_order_work_grows_linearly) {
    constexpr std::uint32_t kViews = 20'000;
    Chain chain(kViews);
    CountingHook hook;
    mv::RefreshOrder order = mv::order_for_refresh(chain.views, chain.edges);
    BOOST_TEST(order.order.size() == kViews);
    BOOST_TEST(order.order.front() == kViews);
    // A few calls per view and per edge; a quadratic scan would make ~2e8.
    BOOST_TEST(calls <= 8u * (kViews + chain.edges.size()));
}

BOOST_AUTO_TEST_CASE(cycle_searches_and_cascades_grow_linearly) {
    constexpr std::uint32_t kViews = 20'000;
    Chain chain(kViews);
    chain.edges.push_back({kViews, 1});  // closes one long cycle
    CountingHook hook;
    BOOST_TEST(mv::find_cycle(chain.views, chain.edges).size() == kViews + 1);
    BOOST_TEST(mv::find_cycle_through(1, chain.views, chain.edges).size() == kViews + 1);
    chain.edges.pop_back();
    BOOST_TEST(mv::with_dependents(kViews, chain.views, chain.edges).size() == kViews);
    BOOST_TEST(calls <= 40u * (kViews + chain.edges.size()));
}

BOOST_AUTO_TEST_CASE(many_duplicate_edges_are_kept_once_in_linear_work) {
    constexpr std::uint32_t kEdges = 50'000;
    std::vector<mv::ViewId> views{1, 2, 3};
    std::vector<mv::Dependency> edges(kEdges, mv::Dependency{3, 1});
    edges.push_back({2, 3});
    CountingHook hook;
    BOOST_TEST(mv::order_for_refresh(views, edges).order == (std::vector<mv::ViewId>{1, 3, 2}));
    BOOST_TEST(calls <= 4u * kEdges);
}

BOOST_AUTO_TEST_CASE(a_cancelled_plan_stops_by_exception) {
    Chain chain(20'000);
    CountingHook hook(1000);
    BOOST_CHECK_THROW(mv::order_for_refresh(chain.views, chain.edges), std::runtime_error);
    BOOST_TEST(calls == 1000u);
}

BOOST_AUTO_TEST_CASE(partition_plans_grow_linearly_with_existing_partitions) {
    // 5,000 existing daily partitions with a hole every tenth day, and 10,000 slots to check.
    constexpr part::Micros kDay = part::kMicrosPerDay;
    const part::Micros now = part::from_civil(2026, 1, 1);
    std::vector<part::Partition> existing;
    for (int day = 1; day <= 5000; ++day) {
        if (day % 10 != 0) {
            part::Micros lower = now - day * kDay;
            existing.push_back({"t_old", {lower, lower + kDay}});
        }
    }
    CountingHook hook;
    part::Plan plan = part::plan("t", {part::Unit::day, 2, std::nullopt}, now, existing);
    BOOST_TEST(plan.create.size() == 499u + 3u);  // the holes after the oldest, today, two ahead
    BOOST_TEST(calls <= 6u * (existing.size() + 5003u));
}

BOOST_AUTO_TEST_SUITE_END()
