#include <boost/test/unit_test.hpp>

#include "crm_core/ledger.hpp"

using namespace crm_core::ledger;

BOOST_AUTO_TEST_SUITE(ledger)

BOOST_AUTO_TEST_CASE(overdraft_rules_parse_by_their_column_names) {
    BOOST_TEST((parse_overdraft_rule("none") == OverdraftRule::none));
    BOOST_TEST((parse_overdraft_rule("debits_must_not_exceed_credits") ==
                OverdraftRule::debits_must_not_exceed_credits));
    BOOST_TEST((parse_overdraft_rule("credits_must_not_exceed_debits") ==
                OverdraftRule::credits_must_not_exceed_debits));
    BOOST_TEST(!parse_overdraft_rule("").has_value());
    BOOST_TEST(!parse_overdraft_rule("NONE").has_value());
}

BOOST_AUTO_TEST_CASE(overdraft_rules_refuse_only_their_side) {
    BOOST_TEST(!breaks_overdraft_rule(OverdraftRule::none, 1));
    BOOST_TEST(!breaks_overdraft_rule(OverdraftRule::none, -1));
    BOOST_TEST(breaks_overdraft_rule(OverdraftRule::debits_must_not_exceed_credits, 1));
    BOOST_TEST(!breaks_overdraft_rule(OverdraftRule::debits_must_not_exceed_credits, 0));
    BOOST_TEST(!breaks_overdraft_rule(OverdraftRule::debits_must_not_exceed_credits, -1));
    BOOST_TEST(breaks_overdraft_rule(OverdraftRule::credits_must_not_exceed_debits, -1));
    BOOST_TEST(!breaks_overdraft_rule(OverdraftRule::credits_must_not_exceed_debits, 0));
    BOOST_TEST(!breaks_overdraft_rule(OverdraftRule::credits_must_not_exceed_debits, 1));
}

BOOST_AUTO_TEST_CASE(closed_ranges_include_both_ends) {
    ClosedRanges ranges;
    BOOST_TEST(!ranges.find(10).has_value());
    ranges.add(10, 20);
    ranges.add(40, 40);
    BOOST_TEST(!ranges.find(9).has_value());
    BOOST_TEST(ranges.find(10)->first == 10);
    BOOST_TEST(ranges.find(20)->second == 20);
    BOOST_TEST(!ranges.find(21).has_value());
    BOOST_TEST(ranges.find(40)->first == 40);
    BOOST_TEST(!ranges.find(41).has_value());
}

BOOST_AUTO_TEST_CASE(balance_slots_follow_backend_numbers) {
    BOOST_TEST(balance_slot(1) == 1);
    BOOST_TEST(balance_slot(57) == 57);
    BOOST_TEST(balance_slot(-1) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
