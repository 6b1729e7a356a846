#include <boost/test/unit_test.hpp>

#include "collections/allocation.hpp"
#include "collections/schedule.hpp"

using namespace crm_core::collections;

namespace {

// principal, interest, fee, penalty
OpenItem item(std::int64_t id, std::int32_t due, Minor principal, Minor interest, Minor fee,
              Minor penalty) {
    return OpenItem{id, due, Components{principal, interest, fee, penalty}};
}

Minor paid(const Allocation& allocation, std::int64_t installment, Component component) {
    Minor sum = 0;
    for (const auto& amount : allocation.amounts) {
        if (amount.installment_id == installment && amount.component == component) {
            sum += amount.amount;
        }
    }
    return sum;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(collections_allocation)

BOOST_AUTO_TEST_CASE(the_oldest_installment_is_paid_first_in_component_order) {
    std::vector<OpenItem> items = {item(1, 10, 100, 20, 5, 3), item(2, 40, 100, 20, 5, 0)};
    Allocation a =
        allocate(items, default_allocation_order(), AllocationStrategy::installment_first, 140);
    // penalty 3, fee 5, interest 20, principal 100 of #1, then penalty 0, fee 5, interest 7 of #2
    BOOST_TEST(paid(a, 1, Component::penalty) == 3);
    BOOST_TEST(paid(a, 1, Component::fee) == 5);
    BOOST_TEST(paid(a, 1, Component::interest) == 20);
    BOOST_TEST(paid(a, 1, Component::principal) == 100);
    BOOST_TEST(paid(a, 2, Component::fee) == 5);
    BOOST_TEST(paid(a, 2, Component::interest) == 7);
    BOOST_TEST(paid(a, 2, Component::principal) == 0);
    BOOST_TEST(a.overpayment == 0);
    BOOST_TEST(total(a.by_component) == 140);
    BOOST_TEST(a.amounts.size() == 6u);  // no zero slices
    BOOST_TEST(*unpaid_since(after_allocation(items, a)) == 40);
}

BOOST_AUTO_TEST_CASE(component_first_pays_a_component_across_installments) {
    std::vector<OpenItem> items = {item(1, 10, 100, 20, 0, 0), item(2, 40, 100, 20, 0, 0)};
    AllocationOrder interest_first = {Component::interest, Component::principal, Component::fee,
                                      Component::penalty};
    Allocation a = allocate(items, interest_first, AllocationStrategy::component_first, 50);
    BOOST_TEST(paid(a, 1, Component::interest) == 20);
    BOOST_TEST(paid(a, 2, Component::interest) == 20);
    BOOST_TEST(paid(a, 1, Component::principal) == 10);
    BOOST_TEST(*unpaid_since(after_allocation(items, a)) == 10);
}

BOOST_AUTO_TEST_CASE(more_than_owed_is_an_overpayment_and_nothing_goes_negative) {
    std::vector<OpenItem> items = {item(1, 10, 100, 0, 0, 0), item(0, 20, 30, 0, 5, 0)};
    Allocation a =
        allocate(items, default_allocation_order(), AllocationStrategy::installment_first, 200);
    BOOST_TEST(a.overpayment == 65);
    BOOST_TEST(a.by_component[static_cast<int>(Component::principal)] == 130);
    BOOST_TEST(a.by_component[static_cast<int>(Component::fee)] == 5);
    for (const auto& left : after_allocation(items, a)) {
        BOOST_TEST(total(left.remaining) == 0);
    }
    BOOST_TEST(!unpaid_since(after_allocation(items, a)).has_value());
}

BOOST_AUTO_TEST_CASE(nothing_owed_makes_everything_an_overpayment) {
    Allocation a =
        allocate({}, default_allocation_order(), AllocationStrategy::installment_first, 10);
    BOOST_TEST(a.amounts.empty());
    BOOST_TEST(a.overpayment == 10);
}

BOOST_AUTO_TEST_CASE(undated_items_never_make_a_debt_past_due) {
    OpenItem undated{0, std::nullopt, Components{100, 0, 0, 0}};
    BOOST_TEST(!unpaid_since({undated}).has_value());
    BOOST_TEST(*unpaid_since({undated, item(7, 15, 1, 0, 0, 0)}) == 15);
}

BOOST_AUTO_TEST_CASE(allocation_orders_name_each_component_once) {
    std::string problem;
    auto order = parse_allocation_order({"principal", "interest", "fee", "penalty"}, problem);
    BOOST_TEST(order.has_value());
    BOOST_TEST(((*order)[0] == Component::principal));
    BOOST_TEST(!parse_allocation_order({"principal", "interest", "fee"}, problem));
    BOOST_TEST(!parse_allocation_order({"principal", "interest", "fee", "fee"}, problem));
    BOOST_TEST(problem == "component \"fee\" appears twice in the allocation order");
    BOOST_TEST(!parse_allocation_order({"principal", "interest", "fee", "tax"}, problem));
    BOOST_TEST(problem.find("unknown component \"tax\"") == 0u);
    BOOST_TEST((default_allocation_order()[0] == Component::penalty));
    BOOST_TEST(
        (*parse_allocation_strategy("component_first") == AllocationStrategy::component_first));
    BOOST_TEST(!parse_allocation_strategy("newest_first"));
}

BOOST_AUTO_TEST_CASE(schedules_have_equal_totals_and_keep_every_component) {
    std::string problem;
    Components outstanding{1000, 45, 10, 5};  // 1060
    auto plan = split_schedule(outstanding, default_allocation_order(), 3, problem);
    BOOST_TEST(plan.has_value());
    BOOST_TEST(plan->size() == 3u);
    BOOST_TEST(total((*plan)[0]) == 353);
    BOOST_TEST(total((*plan)[1]) == 353);
    BOOST_TEST(total((*plan)[2]) == 354);
    // What is paid first falls due first: penalty, fee and interest in the first installment.
    BOOST_TEST((*plan)[0][static_cast<int>(Component::penalty)] == 5);
    BOOST_TEST((*plan)[0][static_cast<int>(Component::fee)] == 10);
    BOOST_TEST((*plan)[0][static_cast<int>(Component::interest)] == 45);
    BOOST_TEST((*plan)[0][static_cast<int>(Component::principal)] == 293);
    Components sum{};
    for (const auto& installment : *plan) {
        for (int c = 0; c < kComponents; ++c) {
            sum[c] += installment[c];
        }
    }
    BOOST_TEST((sum == outstanding));
}

BOOST_AUTO_TEST_CASE(schedules_refuse_what_cannot_be_split) {
    std::string problem;
    BOOST_TEST(!split_schedule({0, 0, 0, 0}, default_allocation_order(), 3, problem));
    BOOST_TEST(problem == "the debt owes nothing to schedule");
    BOOST_TEST(!split_schedule({2, 0, 0, 0}, default_allocation_order(), 3, problem));
    BOOST_TEST(!split_schedule({100, 0, 0, 0}, default_allocation_order(), 0, problem));
    BOOST_TEST(!split_schedule({100, 0, 0, 0}, default_allocation_order(), 601, problem));
    BOOST_TEST(split_schedule({100, 0, 0, 0}, default_allocation_order(), 1, problem).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
