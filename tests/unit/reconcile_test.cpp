#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>

#include "crm_core/reconcile.hpp"

using namespace crm_core::reconcile;

namespace {

std::vector<std::tuple<int64_t, int64_t, Method>> pairs(const std::vector<Match>& matches) {
    std::vector<std::tuple<int64_t, int64_t, Method>> out;
    for (const Match& match : matches) {
        out.emplace_back(match.statement_id, match.ledger_id, match.method);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reconcile)

BOOST_AUTO_TEST_CASE(references_compare_without_case_or_spaces) {
    BOOST_TEST(reference_key("  qft3xk9l2p ") == "QFT3XK9L2P");
    BOOST_TEST(reference_key("") == "");
}

BOOST_AUTO_TEST_CASE(a_reference_matches_whatever_the_date) {
    auto matches =
        match_lines({{1, 100, "300", "QFT3XK9L2P"}}, {{10, 150, "300", "qft3xk9l2p"}}, 3);
    BOOST_TEST(matches.size() == 1u);
    BOOST_TEST(matches[0].ledger_id == 10);
    BOOST_TEST((matches[0].method == Method::reference));
}

BOOST_AUTO_TEST_CASE(a_reference_with_another_amount_does_not_match) {
    auto matches = match_lines({{1, 100, "300", "R1"}}, {{10, 100, "301", "R1"}}, 3);
    BOOST_TEST(matches.empty());
}

BOOST_AUTO_TEST_CASE(amounts_match_within_the_window_nearest_first) {
    std::vector<Candidate> statement{{1, 100, "50", ""}, {2, 103, "50", ""}};
    std::vector<Candidate> ledger{{10, 106, "50", ""}, {11, 101, "50", ""}, {12, 98, "50", ""}};
    auto matches = match_lines(statement, ledger, 3);
    // Gap 1: statement 1 takes ledger 11 (day 101). Gap 2: statement 1 is done; statement 2 has
    // 101 (taken) ... gap 3: statement 2 takes ledger 10 (106). Ledger 12 stays unmatched.
    BOOST_TEST(matches.size() == 2u);
    BOOST_TEST((pairs(matches) == std::vector<std::tuple<int64_t, int64_t, Method>>{
                                      {1, 11, Method::amount_date}, {2, 10, Method::amount_date}}));
}

BOOST_AUTO_TEST_CASE(nothing_outside_the_window) {
    BOOST_TEST(match_lines({{1, 100, "50", ""}}, {{10, 104, "50", ""}}, 3).empty());
    BOOST_TEST(match_lines({{1, 100, "50", ""}}, {{10, 104, "50", ""}}, 4).size() == 1u);
    BOOST_TEST(match_lines({{1, 100, "50", ""}}, {{10, 100, "50", ""}}, 0).size() == 1u);
}

BOOST_AUTO_TEST_CASE(contradicting_references_never_match_by_amount) {
    BOOST_TEST(match_lines({{1, 100, "50", "A"}}, {{10, 100, "50", "B"}}, 3).empty());
    BOOST_TEST(match_lines({{1, 100, "50", "A"}}, {{10, 100, "50", ""}}, 3).size() == 1u);
    BOOST_TEST(match_lines({{1, 100, "50", ""}}, {{10, 100, "50", "B"}}, 3).size() == 1u);
}

BOOST_AUTO_TEST_CASE(each_line_matches_at_most_once) {
    std::vector<Candidate> statement{{1, 100, "50", "R"}, {2, 100, "50", "R"}, {3, 100, "50", ""}};
    std::vector<Candidate> ledger{{10, 100, "50", "R"}};
    auto matches = match_lines(statement, ledger, 3);
    BOOST_TEST(matches.size() == 1u);
    BOOST_TEST(matches[0].statement_id == 1);
    BOOST_TEST((matches[0].method == Method::reference));
}

BOOST_AUTO_TEST_CASE(reference_pass_comes_before_amount_pass) {
    // Ledger 10 has no reference and the same day; ledger 11 carries the receipt, days later.
    std::vector<Candidate> statement{{1, 100, "75", "QX1"}, {2, 100, "75", ""}};
    std::vector<Candidate> ledger{{10, 100, "75", ""}, {11, 102, "75", "QX1"}};
    auto matches = match_lines(statement, ledger, 3);
    BOOST_TEST((pairs(matches) == std::vector<std::tuple<int64_t, int64_t, Method>>{
                                      {1, 11, Method::reference}, {2, 10, Method::amount_date}}));
}

BOOST_AUTO_TEST_CASE(the_result_does_not_depend_on_input_order) {
    std::vector<Candidate> statement;
    std::vector<Candidate> ledger;
    std::mt19937 random(42);
    for (int i = 0; i < 300; ++i) {
        std::string amount = std::to_string(10 + static_cast<int>(random() % 5));
        statement.push_back({i + 1, static_cast<int32_t>(random() % 20), amount,
                             random() % 3 == 0 ? "R" + std::to_string(i) : ""});
        ledger.push_back({1000 + i, static_cast<int32_t>(random() % 20), amount,
                          random() % 3 == 0 ? "R" + std::to_string(random() % 300) : ""});
    }
    auto expected = pairs(match_lines(statement, ledger, 2));
    std::shuffle(statement.begin(), statement.end(), random);
    std::shuffle(ledger.begin(), ledger.end(), random);
    BOOST_TEST((pairs(match_lines(statement, ledger, 2)) == expected));
    std::vector<int64_t> used;
    for (const auto& match : expected) {
        used.push_back(std::get<1>(match));
    }
    std::sort(used.begin(), used.end());
    BOOST_TEST((std::adjacent_find(used.begin(), used.end()) == used.end()));
}

BOOST_AUTO_TEST_SUITE_END()
