#include "crm_core/partition_plan.hpp"

#include <algorithm>
#include <cstdio>

#include "crm_core/interrupts.hpp"

namespace crm_core::partition {

namespace {

// Floor division (C++ truncates toward zero; times before 1970 need the floor).
std::int64_t floor_div(std::int64_t value, std::int64_t divisor) noexcept {
    std::int64_t quotient = value / divisor;
    if ((value % divisor != 0) && ((value < 0) != (divisor < 0))) {
        --quotient;
    }
    return quotient;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t year, int month, int day) noexcept {
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = floor_div(year, 400);
    const std::int64_t year_of_era = year - era * 400;
    const std::int64_t shifted_month = month > 2 ? month - 3 : month + 9;
    const std::int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    const std::int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

struct CivilDate {
    std::int64_t year;
    int month;
    int day;
};

// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's civil_from_days).
CivilDate civil_from_days(std::int64_t days) noexcept {
    days += 719468;
    const std::int64_t era = floor_div(days, 146097);
    const std::int64_t day_of_era = days - era * 146097;
    const std::int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const std::int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const std::int64_t shifted_month = (5 * day_of_year + 2) / 153;
    const int day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
    const int month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
    return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

bool is_leap_year(std::int64_t year) noexcept {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(std::int64_t year, int month) noexcept {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

// Saturating addition, so infinite bounds stay infinite and nothing overflows.
Micros saturating_add(Micros a, std::int64_t b) noexcept {
    if (b > 0 && a > kPlusInfinity - b) {
        return kPlusInfinity;
    }
    if (b < 0 && a < kMinusInfinity - b) {
        return kMinusInfinity;
    }
    return a + b;
}

bool is_finite(Micros at) noexcept {
    return at != kMinusInfinity && at != kPlusInfinity;
}

// 32-bit FNV-1a: a stable, documented hash for name shortening.
std::uint32_t fnv1a(std::string_view text) noexcept {
    std::uint32_t hash = 2166136261u;
    for (unsigned char byte : text) {
        hash ^= byte;
        hash *= 16777619u;
    }
    return hash;
}

}  // namespace

bool is_positive(const Interval& interval) noexcept {
    if (interval.months < 0 || interval.days < 0 || interval.micros < 0) {
        return false;
    }
    return interval.months > 0 || interval.days > 0 || interval.micros > 0;
}

std::optional<Unit> unit_of(const Interval& interval) noexcept {
    const std::int64_t total_days_micros =
        static_cast<std::int64_t>(interval.days) * kMicrosPerDay + interval.micros;
    if (interval.months == 0) {
        if (total_days_micros == kMicrosPerDay) {
            return Unit::day;
        }
        if (total_days_micros == 7 * kMicrosPerDay) {
            return Unit::week;
        }
        return std::nullopt;
    }
    if (interval.days != 0 || interval.micros != 0) {
        return std::nullopt;
    }
    switch (interval.months) {
        case 1:
            return Unit::month;
        case 3:
            return Unit::quarter;
        case 12:
            return Unit::year;
        default:
            return std::nullopt;
    }
}

std::string_view unit_name(Unit unit) noexcept {
    switch (unit) {
        case Unit::day:
            return "day";
        case Unit::week:
            return "week";
        case Unit::month:
            return "month";
        case Unit::quarter:
            return "quarter";
        case Unit::year:
            return "year";
    }
    return "unknown";
}

CivilTime civil_time(Micros at) noexcept {
    const std::int64_t days = floor_div(at, kMicrosPerDay);
    const std::int64_t seconds_of_day = (at - days * kMicrosPerDay) / 1'000'000;
    const CivilDate date = civil_from_days(days);
    return {date.year,
            date.month,
            date.day,
            static_cast<int>(seconds_of_day / 3600),
            static_cast<int>(seconds_of_day / 60 % 60),
            static_cast<int>(seconds_of_day % 60)};
}

Micros from_civil(std::int64_t year, int month, int day) noexcept {
    return days_from_civil(year, month, day) * kMicrosPerDay;
}

Micros add(Micros at, const Interval& interval) noexcept {
    if (!is_finite(at)) {
        return at;
    }
    if (interval.months != 0) {
        const std::int64_t days = floor_div(at, kMicrosPerDay);
        const Micros time_of_day = at - days * kMicrosPerDay;
        const CivilDate date = civil_from_days(days);
        const std::int64_t month_index = date.year * 12 + (date.month - 1) + interval.months;
        const std::int64_t year = floor_div(month_index, 12);
        const int month = static_cast<int>(month_index - year * 12) + 1;
        const int day = std::min(date.day, days_in_month(year, month));
        at = from_civil(year, month, day) + time_of_day;
    }
    at = saturating_add(at, static_cast<std::int64_t>(interval.days) * kMicrosPerDay);
    return saturating_add(at, interval.micros);
}

Micros slot_start(Unit unit, Micros at) noexcept {
    if (!is_finite(at)) {
        return at;
    }
    const std::int64_t days = floor_div(at, kMicrosPerDay);
    const CivilDate date = civil_from_days(days);
    switch (unit) {
        case Unit::day:
            return days * kMicrosPerDay;
        case Unit::week: {
            // 1970-01-01 was a Thursday: (days + 3) mod 7 counts days since Monday.
            const std::int64_t since_monday = days + 3 - floor_div(days + 3, 7) * 7;
            return (days - since_monday) * kMicrosPerDay;
        }
        case Unit::month:
            return from_civil(date.year, date.month, 1);
        case Unit::quarter:
            return from_civil(date.year, (date.month - 1) / 3 * 3 + 1, 1);
        case Unit::year:
            return from_civil(date.year, 1, 1);
    }
    return at;
}

Micros next_slot(Unit unit, Micros start) noexcept {
    switch (unit) {
        case Unit::day:
            return add(start, Interval{0, 1, 0});
        case Unit::week:
            return add(start, Interval{0, 7, 0});
        case Unit::month:
            return add(start, Interval{1, 0, 0});
        case Unit::quarter:
            return add(start, Interval{3, 0, 0});
        case Unit::year:
            return add(start, Interval{12, 0, 0});
    }
    return start;
}

std::string fit_identifier(std::string_view parent, std::string_view suffix) {
    if (parent.size() + suffix.size() <= kMaxIdentifierBytes) {
        return std::string(parent) + std::string(suffix);
    }
    char hash[10];
    std::snprintf(hash, sizeof hash, "_%08x", static_cast<unsigned>(fnv1a(parent)));
    const std::size_t room = kMaxIdentifierBytes - suffix.size() - (sizeof hash - 1);
    std::size_t cut = std::min(room, parent.size());
    // Never split a multi-byte UTF-8 character: back up over continuation bytes.
    while (cut > 0 && cut < parent.size() &&
           (static_cast<unsigned char>(parent[cut]) & 0xC0) == 0x80) {
        --cut;
    }
    return std::string(parent.substr(0, cut)) + hash + std::string(suffix);
}

std::string partition_name(std::string_view parent, Unit unit, Micros lower) {
    const CivilTime time = civil_time(lower);
    char suffix[48];
    const long long year = static_cast<long long>(time.year);
    switch (unit) {
        case Unit::day:
        case Unit::week:
            std::snprintf(suffix, sizeof suffix, "_p%04lld%02d%02d", year, time.month, time.day);
            break;
        case Unit::month:
            std::snprintf(suffix, sizeof suffix, "_p%04lld%02d", year, time.month);
            break;
        case Unit::quarter:
            std::snprintf(suffix, sizeof suffix, "_p%04lldq%d", year, (time.month - 1) / 3 + 1);
            break;
        case Unit::year:
            std::snprintf(suffix, sizeof suffix, "_p%04lld", year);
            break;
    }
    return fit_identifier(parent, suffix);
}

Plan plan(std::string_view parent, const Config& config, Micros now,
          const std::vector<Partition>& existing) {
    Plan result;
    const Micros cutoff =
        config.retention ? add(now, Interval{-config.retention->months, -config.retention->days,
                                             -config.retention->micros})
                         : kMinusInfinity;

    for (const Partition& partition : existing) {
        check_interrupts();
        if (partition.range.upper != kPlusInfinity && partition.range.upper <= cutoff) {
            result.retire.push_back(partition);
        }
    }

    const Micros current = slot_start(config.unit, now);
    Micros end = current;
    for (int ahead = 0; ahead <= config.premake; ++ahead) {
        end = next_slot(config.unit, end);
    }

    // The oldest slot worth keeping: the oldest existing partition's, never one retention
    // would retire at once, never later than the current slot.
    Micros oldest = current;
    for (const Partition& partition : existing) {
        check_interrupts();
        const Micros known =
            is_finite(partition.range.lower) ? partition.range.lower : partition.range.upper;
        if (is_finite(known)) {
            oldest = std::min(oldest, slot_start(config.unit, known));
        }
    }
    if (is_finite(cutoff)) {
        oldest = std::max(oldest, std::min(current, slot_start(config.unit, cutoff)));
    }

    // The newest kMaxCreatedPerPlan slots from the oldest kept one on (a far older backlog is
    // walked, not stored).
    std::vector<Range> slots;
    for (Micros lower = oldest; lower < end; lower = next_slot(config.unit, lower)) {
        check_interrupts();
        if (slots.size() == 2 * kMaxCreatedPerPlan) {
            slots.erase(slots.begin(), slots.begin() + kMaxCreatedPerPlan);
        }
        slots.push_back({lower, next_slot(config.unit, lower)});
    }
    if (slots.size() > kMaxCreatedPerPlan) {
        slots.erase(slots.begin(), slots.end() - static_cast<std::ptrdiff_t>(kMaxCreatedPerPlan));
    }
    // One sweep over the slots and the existing ranges sorted by lower bound: a slot is taken
    // when a range starting before its end reaches past its start.
    std::vector<Range> taken;
    taken.reserve(existing.size());
    for (const Partition& partition : existing) {
        check_interrupts();
        taken.push_back(partition.range);
    }
    std::sort(taken.begin(), taken.end(),
              [](const Range& a, const Range& b) { return a.lower < b.lower; });
    std::size_t next_taken = 0;
    Micros reach = kMinusInfinity;  // the highest upper bound of the ranges passed so far
    for (const Range& slot : slots) {
        check_interrupts();
        for (; next_taken < taken.size() && taken[next_taken].lower < slot.upper; ++next_taken) {
            reach = std::max(reach, taken[next_taken].upper);
        }
        if (!(reach > slot.lower)) {
            result.create.push_back({partition_name(parent, config.unit, slot.lower), slot});
        }
    }
    return result;
}

}  // namespace crm_core::partition
