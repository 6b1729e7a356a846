// Partition planning for time-range partitioned tables: slot boundaries in UTC, deterministic
// names within PostgreSQL's 63-byte limit, and what maintenance must create and retire.
// Pure C++ (no postgres.h): times are microseconds since 1970-01-01 00:00 UTC.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crm_core::partition {

// Microseconds since 1970-01-01 00:00:00 UTC; the extremes stand for -infinity/+infinity
// (MINVALUE/MAXVALUE bounds).
using Micros = std::int64_t;
constexpr Micros kMinusInfinity = std::numeric_limits<Micros>::min();
constexpr Micros kPlusInfinity = std::numeric_limits<Micros>::max();
constexpr Micros kMicrosPerDay = 86'400'000'000;

// The widths a partition may cover. Weeks start on Monday (ISO, like date_trunc('week')).
enum class Unit { day, week, month, quarter, year };

// A PostgreSQL interval: months, days and microseconds kept apart, as the server keeps them.
struct Interval {
    std::int32_t months = 0;
    std::int32_t days = 0;
    std::int64_t micros = 0;
};

// True when no field is negative and at least one is positive.
bool is_positive(const Interval& interval) noexcept;

// The unit an interval names ('1 day', '1 week', '1 month', '3 months', '1 year'), or nullopt.
std::optional<Unit> unit_of(const Interval& interval) noexcept;

// Lower-case name of a unit: "day", "week", "month", "quarter", "year".
std::string_view unit_name(Unit unit) noexcept;

// at + interval the way PostgreSQL adds an interval to a timestamp in UTC: months first
// (the day clamped to the month's end), then days, then microseconds.
Micros add(Micros at, const Interval& interval) noexcept;

// Start of the slot of `unit` that holds `at` (UTC).
Micros slot_start(Unit unit, Micros at) noexcept;

// The boundary one unit after the slot start `start`.
Micros next_slot(Unit unit, Micros start) noexcept;

// Civil date and time of a UTC instant.
struct CivilTime {
    std::int64_t year;
    int month;  // 1..12
    int day;    // 1..31
    int hour;
    int minute;
    int second;
};
CivilTime civil_time(Micros at) noexcept;

// The UTC instant of a civil date at midnight.
Micros from_civil(std::int64_t year, int month, int day) noexcept;

// PostgreSQL's limit on identifier length in bytes (NAMEDATALEN - 1).
constexpr std::size_t kMaxIdentifierBytes = 63;

// Deterministic partition name: parent + "_p" + day "20260115" | week (its Monday) "20260112" |
// month "202601" | quarter "2026q1" | year "2026". Too long a parent is cut at a UTF-8
// character boundary and followed by "_" + 8 hex digits of a hash of the whole parent name, so
// different long parents never share names and the result fits in 63 bytes.
std::string partition_name(std::string_view parent, Unit unit, Micros lower);

// parent + suffix within 63 bytes, shortened as partition_name() does.
std::string fit_identifier(std::string_view parent, std::string_view suffix);

// A half-open range [lower, upper) of a partition.
struct Range {
    Micros lower;
    Micros upper;
};

// A partition that exists (its name) or that the plan wants created.
struct Partition {
    std::string name;
    Range range;
};

// A registration as the planner needs it.
struct Config {
    Unit unit;
    int premake;                        // slots ahead of the current one, >= 0
    std::optional<Interval> retention;  // partitions wholly older than now - retention retire
};

// What maintenance must do; create is in ascending order of lower bound.
struct Plan {
    std::vector<Partition> create;
    std::vector<Partition> retire;
};

// Most slots one plan creates; an older backlog is left for the next run (newest first kept).
constexpr std::size_t kMaxCreatedPerPlan = 10'000;

// Plans maintenance at `now`: every slot from the oldest kept one (the oldest existing
// partition, or the current slot, never one that retention would retire) through the current
// slot plus `premake` that no existing partition overlaps is created (gaps included); every
// existing partition whose upper bound is at or before now - retention retires.
Plan plan(std::string_view parent, const Config& config, Micros now,
          const std::vector<Partition>& existing);

}  // namespace crm_core::partition
