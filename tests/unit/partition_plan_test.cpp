#include <boost/test/unit_test.hpp>

#include <set>

#include "crm_core/partition_plan.hpp"

namespace part = crm_core::partition;
using part::Interval;
using part::Micros;
using part::Unit;

namespace {

// Midnight UTC of a date, plus an optional time of day.
Micros at(std::int64_t year, int month, int day, int hour = 0, int minute = 0) {
    return part::from_civil(year, month, day) + (hour * 3600LL + minute * 60LL) * 1'000'000LL;
}

part::Partition existing(std::string name, Micros lower, Micros upper) {
    return {std::move(name), {lower, upper}};
}

// Names of the partitions a plan creates, in order.
std::vector<std::string> created_names(const part::Plan& plan) {
    std::vector<std::string> names;
    for (const auto& partition : plan.create) {
        names.push_back(partition.name);
    }
    return names;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(partition_plan)

BOOST_AUTO_TEST_CASE(intervals_map_to_units) {
    BOOST_TEST((part::unit_of({0, 1, 0}) == Unit::day));
    BOOST_TEST((part::unit_of({0, 0, part::kMicrosPerDay}) == Unit::day));
    BOOST_TEST((part::unit_of({0, 7, 0}) == Unit::week));
    BOOST_TEST((part::unit_of({1, 0, 0}) == Unit::month));
    BOOST_TEST((part::unit_of({3, 0, 0}) == Unit::quarter));
    BOOST_TEST((part::unit_of({12, 0, 0}) == Unit::year));
    BOOST_TEST(!part::unit_of({2, 0, 0}).has_value());
    BOOST_TEST(!part::unit_of({0, 2, 0}).has_value());
    BOOST_TEST(!part::unit_of({1, 1, 0}).has_value());
    BOOST_TEST(!part::unit_of({0, 0, 3'600'000'000}).has_value());
}

BOOST_AUTO_TEST_CASE(positive_intervals) {
    BOOST_TEST(part::is_positive({0, 1, 0}));
    BOOST_TEST(part::is_positive({84, 0, 0}));
    BOOST_TEST(!part::is_positive({0, 0, 0}));
    BOOST_TEST(!part::is_positive({-1, 0, 0}));
    BOOST_TEST(!part::is_positive({1, -1, 0}));
    BOOST_TEST(!part::is_positive({0, 0, -1}));
}

BOOST_AUTO_TEST_CASE(civil_round_trip) {
    BOOST_TEST(part::from_civil(1970, 1, 1) == 0);
    BOOST_TEST(part::from_civil(2000, 3, 1) == 951'868'800LL * 1'000'000);
    const auto time = part::civil_time(at(2024, 2, 29, 13, 45));
    BOOST_TEST(time.year == 2024);
    BOOST_TEST(time.month == 2);
    BOOST_TEST(time.day == 29);
    BOOST_TEST(time.hour == 13);
    BOOST_TEST(time.minute == 45);
    const auto before_epoch = part::civil_time(at(1969, 12, 31, 23, 0));
    BOOST_TEST(before_epoch.year == 1969);
    BOOST_TEST(before_epoch.day == 31);
    BOOST_TEST(before_epoch.hour == 23);
}

BOOST_AUTO_TEST_CASE(slot_starts) {
    const Micros t = at(2026, 8, 19, 17, 3);  // a Wednesday
    BOOST_TEST(part::slot_start(Unit::day, t) == at(2026, 8, 19));
    BOOST_TEST(part::slot_start(Unit::week, t) == at(2026, 8, 17));
    BOOST_TEST(part::slot_start(Unit::week, at(2026, 8, 17)) == at(2026, 8, 17));
    BOOST_TEST(part::slot_start(Unit::week, at(2026, 8, 16, 23, 59)) == at(2026, 8, 10));
    BOOST_TEST(part::slot_start(Unit::month, t) == at(2026, 8, 1));
    BOOST_TEST(part::slot_start(Unit::quarter, t) == at(2026, 7, 1));
    BOOST_TEST(part::slot_start(Unit::quarter, at(2026, 3, 31, 23, 59)) == at(2026, 1, 1));
    BOOST_TEST(part::slot_start(Unit::quarter, at(2026, 12, 31)) == at(2026, 10, 1));
    BOOST_TEST(part::slot_start(Unit::year, t) == at(2026, 1, 1));
    BOOST_TEST(part::slot_start(Unit::day, at(1969, 12, 31, 5)) == at(1969, 12, 31));
    BOOST_TEST(part::slot_start(Unit::week, at(1970, 1, 1)) == at(1969, 12, 29));
}

BOOST_AUTO_TEST_CASE(month_ends_and_leap_years) {
    BOOST_TEST(part::next_slot(Unit::month, at(2024, 1, 1)) == at(2024, 2, 1));
    BOOST_TEST(part::next_slot(Unit::month, at(2024, 2, 1)) == at(2024, 3, 1));
    BOOST_TEST(part::next_slot(Unit::day, at(2024, 2, 28)) == at(2024, 2, 29));
    BOOST_TEST(part::next_slot(Unit::day, at(2024, 2, 29)) == at(2024, 3, 1));
    BOOST_TEST(part::next_slot(Unit::day, at(2023, 2, 28)) == at(2023, 3, 1));
    BOOST_TEST(part::next_slot(Unit::day, at(2100, 2, 28)) == at(2100, 3, 1));
    BOOST_TEST(part::next_slot(Unit::day, at(2000, 2, 28)) == at(2000, 2, 29));
    // PostgreSQL clamps to the month's end: Jan 31 + 1 month = Feb 29 (leap) / Feb 28.
    BOOST_TEST(part::add(at(2024, 1, 31), {1, 0, 0}) == at(2024, 2, 29));
    BOOST_TEST(part::add(at(2023, 1, 31), {1, 0, 0}) == at(2023, 2, 28));
    BOOST_TEST(part::add(at(2024, 2, 29), {-12, 0, 0}) == at(2023, 2, 28));
    BOOST_TEST(part::add(at(2024, 3, 31, 6), {-1, 0, 0}) == at(2024, 2, 29, 6));
    BOOST_TEST(part::add(at(2024, 3, 1), {0, -1, 0}) == at(2024, 2, 29));
}

BOOST_AUTO_TEST_CASE(quarters_and_year_boundaries) {
    BOOST_TEST(part::next_slot(Unit::quarter, at(2026, 10, 1)) == at(2027, 1, 1));
    BOOST_TEST(part::next_slot(Unit::year, at(2026, 1, 1)) == at(2027, 1, 1));
    BOOST_TEST(part::next_slot(Unit::week, at(2026, 12, 28)) == at(2027, 1, 4));
    BOOST_TEST(part::next_slot(Unit::month, at(2026, 12, 1)) == at(2027, 1, 1));
    part::Plan plan = part::plan("t", {Unit::quarter, 2, std::nullopt}, at(2026, 11, 15), {});
    BOOST_TEST(
        (created_names(plan) == std::vector<std::string>{"t_p2026q4", "t_p2027q1", "t_p2027q2"}));
    BOOST_TEST(plan.create.back().range.upper == at(2027, 7, 1));
}

BOOST_AUTO_TEST_CASE(names) {
    BOOST_TEST(part::partition_name("payment", Unit::day, at(2026, 1, 5)) == "payment_p20260105");
    BOOST_TEST(part::partition_name("payment", Unit::week, at(2026, 1, 5)) == "payment_p20260105");
    BOOST_TEST(part::partition_name("payment", Unit::month, at(2026, 1, 1)) == "payment_p202601");
    BOOST_TEST(part::partition_name("payment", Unit::quarter, at(2026, 7, 1)) == "payment_p2026q3");
    BOOST_TEST(part::partition_name("payment", Unit::year, at(2026, 1, 1)) == "payment_p2026");
    BOOST_TEST(part::fit_identifier("payment", "_default") == "payment_default");
}

BOOST_AUTO_TEST_CASE(long_names_fit_and_never_collide) {
    const std::string common(60, 'x');
    const std::string a = common + "_payments_a";
    const std::string b = common + "_payments_b";
    const std::string name_a = part::partition_name(a, Unit::day, at(2026, 1, 5));
    const std::string name_b = part::partition_name(b, Unit::day, at(2026, 1, 5));
    BOOST_TEST(name_a.size() <= part::kMaxIdentifierBytes);
    BOOST_TEST(name_b.size() <= part::kMaxIdentifierBytes);
    BOOST_TEST(name_a != name_b);
    BOOST_TEST(name_a.substr(name_a.size() - 10) == "_p20260105");
    // Deterministic: the same input gives the same name.
    BOOST_TEST(name_a == part::partition_name(a, Unit::day, at(2026, 1, 5)));
    // Exactly 63 bytes is kept as is.
    const std::string exact(63 - 8, 'y');
    BOOST_TEST(part::partition_name(exact, Unit::year, at(2026, 1, 1)) == exact + "_p2026");
    // A multi-byte character is never split.
    std::string accented = "a";
    for (int i = 0; i < 40; ++i) {
        accented += "\xC3\xA9";  // é
    }
    const std::string cut = part::partition_name(accented, Unit::month, at(2026, 1, 1));
    BOOST_TEST(cut.size() <= part::kMaxIdentifierBytes);
    BOOST_TEST(cut.find("_") == 45u);  // 46 bytes of room would split the 23rd character
}

BOOST_AUTO_TEST_CASE(premake_follows_the_clock) {
    // Existing partitions far ahead of the newest row do not matter: the clock does.
    part::Plan plan = part::plan("t", {Unit::month, 3, std::nullopt}, at(2026, 1, 31, 23, 59), {});
    BOOST_TEST((created_names(plan) ==
                std::vector<std::string>{"t_p202601", "t_p202602", "t_p202603", "t_p202604"}));
    BOOST_TEST(plan.retire.empty());
}

BOOST_AUTO_TEST_CASE(nothing_to_do_is_empty_and_idempotent) {
    std::vector<part::Partition> have;
    part::Config config{Unit::day, 2, Interval{0, 3, 0}};
    part::Plan first = part::plan("t", config, at(2024, 2, 28, 12), have);
    for (const auto& partition : first.create) {
        have.push_back(partition);
    }
    part::Plan second = part::plan("t", config, at(2024, 2, 28, 12), have);
    BOOST_TEST(second.create.empty());
    BOOST_TEST(second.retire.empty());
    BOOST_TEST((created_names(first) ==
                std::vector<std::string>{"t_p20240228", "t_p20240229", "t_p20240301"}));
}

BOOST_AUTO_TEST_CASE(ten_year_gap_is_filled) {
    std::vector<part::Partition> have{existing("t_p201601", at(2016, 1, 1), at(2016, 2, 1))};
    part::Plan plan = part::plan("t", {Unit::month, 1, std::nullopt}, at(2026, 1, 10), have);
    // Feb 2016 .. Feb 2026: 10 years and one month of slots, then premake 1.
    BOOST_TEST(plan.create.size() == 121u);
    BOOST_TEST(plan.create.front().name == "t_p201602");
    BOOST_TEST(plan.create.back().name == "t_p202602");
    for (std::size_t i = 1; i < plan.create.size(); ++i) {
        BOOST_TEST(plan.create[i].range.lower == plan.create[i - 1].range.upper);
    }
    const std::vector<std::string> names = created_names(plan);
    std::set<std::string> unique(names.begin(), names.end());
    BOOST_TEST(unique.size() == plan.create.size());
}

BOOST_AUTO_TEST_CASE(gap_older_than_retention_is_not_created) {
    std::vector<part::Partition> have{existing("t_p2016", at(2016, 1, 1), at(2017, 1, 1))};
    part::Plan plan =
        part::plan("t", {Unit::year, 0, Interval{12 * 7, 0, 0}}, at(2026, 6, 1), have);
    BOOST_TEST(plan.create.front().name == "t_p2019");  // cutoff 2019-06-01 lies in 2019
    BOOST_TEST(plan.create.back().name == "t_p2026");
    BOOST_TEST(plan.retire.size() == 1u);
    BOOST_TEST(plan.retire.front().name == "t_p2016");
}

BOOST_AUTO_TEST_CASE(retention_exactly_at_a_boundary) {
    std::vector<part::Partition> have{existing("t_p201812", at(2018, 12, 1), at(2019, 1, 1)),
                                      existing("t_p201901", at(2019, 1, 1), at(2019, 2, 1))};
    part::Config config{Unit::month, 0, Interval{12 * 7, 0, 0}};
    // now - 7 years is exactly 2019-01-01: December 2018 ends there and retires, January stays.
    part::Plan plan = part::plan("t", config, at(2026, 1, 1), have);
    BOOST_TEST(plan.retire.size() == 1u);
    BOOST_TEST(plan.retire.front().name == "t_p201812");
    // One microsecond earlier nothing is old enough yet.
    part::Plan earlier = part::plan("t", config, at(2026, 1, 1) - 1, have);
    BOOST_TEST(earlier.retire.empty());
}

BOOST_AUTO_TEST_CASE(unbounded_and_foreign_partitions) {
    std::vector<part::Partition> have{
        existing("t_old", part::kMinusInfinity, at(2020, 1, 1)),
        existing("t_odd", at(2026, 1, 10), at(2026, 1, 20)),
    };
    part::Plan plan = part::plan("t", {Unit::month, 1, Interval{12, 0, 0}}, at(2026, 1, 15), have);
    BOOST_TEST(plan.retire.size() == 1u);
    BOOST_TEST(plan.retire.front().name == "t_old");
    // January overlaps the hand-made partition, so only February is created; the months
    // between 2020 and the cutoff are not.
    BOOST_TEST(
        (created_names(plan) ==
         std::vector<std::string>{"t_p202501", "t_p202502", "t_p202503", "t_p202504", "t_p202505",
                                  "t_p202506", "t_p202507", "t_p202508", "t_p202509", "t_p202510",
                                  "t_p202511", "t_p202512", "t_p202602"}));
}

BOOST_AUTO_TEST_CASE(huge_backlog_is_bounded) {
    std::vector<part::Partition> have{existing("t_p1990", at(1990, 1, 1), at(1990, 1, 2))};
    part::Plan plan = part::plan("t", {Unit::day, 0, std::nullopt}, at(2026, 1, 1), have);
    BOOST_TEST(plan.create.size() == part::kMaxCreatedPerPlan);
    BOOST_TEST(plan.create.back().name == "t_p20260101");
}

BOOST_AUTO_TEST_SUITE_END()
