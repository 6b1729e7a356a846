#include <boost/test/unit_test.hpp>

#include "collections/message_template.hpp"
#include "collections/workload.hpp"
#include "crm_core/job_schedule.hpp"

using namespace crm_core::collections;

namespace {

std::string render(const std::string& text, const std::vector<std::optional<std::string>>& values) {
    ParsedTemplate parsed;
    std::string problem;
    BOOST_REQUIRE_MESSAGE(parse_template(text, parsed, problem), problem);
    return render_template(parsed, values);
}

std::string problem_of(const std::string& text) {
    ParsedTemplate parsed;
    std::string problem;
    BOOST_TEST(!parse_template(text, parsed, problem));
    return problem;
}

std::int64_t sum(const std::vector<std::int64_t>& values) {
    std::int64_t total = 0;
    for (std::int64_t value : values) {
        total += value;
    }
    return total;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(collections_workflow)

BOOST_AUTO_TEST_CASE(placeholders_are_filled_in_order_and_braces_alone_are_text) {
    std::vector<std::optional<std::string>> values = {"Jeanne Martin", "LOAN-1", "1250.00",
                                                      "250.00",        "12",     "2024-03-01",
                                                      "125.00",        "EUR",    "1-30"};
    BOOST_TEST(render("Dear {{customer_name}}, {{ amount_overdue }} {{currency}} is "
                      "{{days_past_due}} days late.",
                      values) == "Dear Jeanne Martin, 250.00 EUR is 12 days late.");
    BOOST_TEST(render("{{external_ref}}{{bucket}}", values) == "LOAN-11-30");
    BOOST_TEST(render("no fields {here} }}", values) == "no fields {here} }}");
    BOOST_TEST(render("", values).empty());
}

BOOST_AUTO_TEST_CASE(a_missing_value_renders_empty) {
    BOOST_TEST(render("next: {{next_due_date}}.", {"A", "B", "1", "2", "3", std::nullopt}) ==
               "next: .");
}

BOOST_AUTO_TEST_CASE(unknown_empty_and_unclosed_placeholders_are_refused_saying_where) {
    BOOST_TEST(problem_of("Hi {{name}}")
                   .rfind("unknown placeholder {{name}} at character 4; known: {{customer_name}}",
                          0) == 0);
    BOOST_TEST(problem_of("{{ }} x").rfind("empty placeholder {{}} at character 1", 0) == 0);
    BOOST_TEST(problem_of("pay {{amount_due") ==
               "placeholder at character 5 is not closed with }}");
    BOOST_TEST(template_placeholders().size() == 9u);
}

BOOST_AUTO_TEST_CASE(quotas_fill_the_least_loaded_agents_first) {
    auto quotas = balanced_quotas({5, 0, 2}, {std::nullopt, std::nullopt, std::nullopt}, 6);
    // levels: 0 -> 2 takes 2 for agent 1; then 2 -> 4: agents 1 and 2 take 2 each; total 6
    BOOST_TEST(quotas == (std::vector<std::int64_t>{0, 4, 2}), boost::test_tools::per_element());
    auto even = balanced_quotas({0, 0, 0}, {std::nullopt, std::nullopt, std::nullopt}, 7);
    BOOST_TEST(even == (std::vector<std::int64_t>{3, 2, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(quotas_respect_capacities_and_never_exceed_n) {
    auto capped = balanced_quotas({0, 0}, {std::int64_t{1}, std::nullopt}, 5);
    BOOST_TEST(capped == (std::vector<std::int64_t>{1, 4}), boost::test_tools::per_element());
    auto short_of_room = balanced_quotas({3, 1}, {std::int64_t{4}, std::int64_t{2}}, 10);
    BOOST_TEST(short_of_room == (std::vector<std::int64_t>{1, 1}),
               boost::test_tools::per_element());
    BOOST_TEST(balanced_quotas({}, {}, 3).empty());
    BOOST_TEST(sum(balanced_quotas({1, 2}, {std::nullopt, std::nullopt}, 0)) == 0);
}

BOOST_AUTO_TEST_CASE(quotas_add_up_and_leave_loads_within_one_of_each_other) {
    std::vector<std::int64_t> loads = {17, 3, 9, 0, 40, 3};
    std::vector<std::optional<std::int64_t>> unlimited(loads.size());
    for (std::int64_t n : {1, 5, 13, 50, 500}) {
        auto quotas = balanced_quotas(loads, unlimited, n);
        BOOST_TEST(sum(quotas) == n);
        std::int64_t lowest = 1 << 30, highest_touched = 0;
        for (size_t i = 0; i < loads.size(); ++i) {
            lowest = std::min(lowest, loads[i] + quotas[i]);
            if (quotas[i] > 0) {
                highest_touched = std::max(highest_touched, loads[i] + quotas[i]);
            }
        }
        // Nobody who got work ends more than one above the least loaded agent.
        BOOST_TEST(highest_touched <= lowest + 1);
    }
}

BOOST_AUTO_TEST_CASE(outbox_retries_back_off_from_crm_core_jobs_rule) {
    // The outbox uses crm_core's backoff (one rule): 1 minute doubling to 6 hours, no jitter.
    crm_core::RetryPolicy policy{60'000, 6 * 3'600'000, 0.0};
    BOOST_TEST(crm_core::backoff_delay_ms(policy, 1, 0.5) == 60'000);
    BOOST_TEST(crm_core::backoff_delay_ms(policy, 2, 0.5) == 120'000);
    BOOST_TEST(crm_core::backoff_delay_ms(policy, 5, 0.5) == 960'000);
    BOOST_TEST(crm_core::backoff_delay_ms(policy, 30, 0.5) == 6 * 3'600'000);
}

BOOST_AUTO_TEST_SUITE_END()
