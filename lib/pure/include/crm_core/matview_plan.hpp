// Pure planning for materialized-view refreshes: dependency order (a topological sort that
// reports cycles), due times, and time-bucket invalidation ranges. No postgres.h.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace crm_core::matview {

// A registered view, identified by its relation OID.
using ViewId = std::uint32_t;

// `dependent` reads `dependency`: the dependency must refresh first.
struct Dependency {
    ViewId dependent;
    ViewId dependency;
};

// The views that can refresh, in order, and those that cannot because they sit on a cycle
// or depend (transitively) on one.
struct RefreshOrder {
    std::vector<ViewId> order;
    std::vector<ViewId> blocked;
};

// Orders views so that every dependency comes before its dependents; among views that are
// ready at the same time, the caller's order wins (stable). Dependencies naming a view not in
// `views` are ignored.
RefreshOrder order_for_refresh(const std::vector<ViewId>& views,
                               const std::vector<Dependency>& dependencies);

// One dependency cycle among `views` as a path [a, b, ..., a] (a reads b ... reads a), or an
// empty vector when there is none.
std::vector<ViewId> find_cycle(const std::vector<ViewId>& views,
                               const std::vector<Dependency>& dependencies);

// The shortest dependency cycle through `view` as a path [view, ..., view], or an empty vector
// when `view` is on none (it may still read, or be read by, a cycle elsewhere).
std::vector<ViewId> find_cycle_through(ViewId view, const std::vector<ViewId>& views,
                                       const std::vector<Dependency>& dependencies);

// `root` and every view that depends on it directly or transitively, in refresh order;
// views blocked by a cycle (the root too) are left out.
std::vector<ViewId> with_dependents(ViewId root, const std::vector<ViewId>& views,
                                    const std::vector<Dependency>& dependencies);

// PostgreSQL's own interval-to-microseconds convention (a month is 30 days, a day 24 hours),
// the one interval comparison uses; saturates instead of overflowing.
std::int64_t interval_microseconds(std::int32_t months, std::int32_t days,
                                   std::int64_t microseconds);

// When a view falls due: one interval after its last success, or at once if it never
// succeeded (a failed attempt leaves it due, so the next call retries it). Saturates.
std::int64_t next_due(std::optional<std::int64_t> last_success, std::int64_t refresh_every,
                      std::int64_t registered_at);

// Microsecond timestamps (PostgreSQL's int64 timestamp, infinities at the int64 limits).
constexpr std::int64_t kMinusInfinity = INT64_MIN;
constexpr std::int64_t kPlusInfinity = INT64_MAX;

// Fixed-width time buckets as date_bin(width, t, origin) draws them.
struct BucketGrid {
    std::int64_t width;   // microseconds, > 0
    std::int64_t origin;  // microseconds since 2000-01-01 00:00 (PostgreSQL's epoch)
};

// A half-open time range [lower, upper); kMinusInfinity/kPlusInfinity mark open ends.
struct TimeRange {
    std::int64_t lower;
    std::int64_t upper;
    bool operator==(const TimeRange& other) const {
        return lower == other.lower && upper == other.upper;
    }
};

// The start of the bucket holding t (floor, also before the origin); an infinite t maps to
// the matching infinity. Saturates at the int64 limits.
std::int64_t bucket_start(const BucketGrid& grid, std::int64_t t);

// The buckets holding the given times, as few sorted, disjoint, bucket-aligned ranges
// (adjacent buckets merge). An infinite time invalidates everything.
std::vector<TimeRange> changed_bucket_ranges(const BucketGrid& grid,
                                             std::vector<std::int64_t> times);

// The buckets from the one holding `earliest` to the one holding `latest`, as one range
// (everything if either is infinite).
TimeRange bucket_span(const BucketGrid& grid, std::int64_t earliest, std::int64_t latest);

// Overlapping or touching ranges merged into sorted disjoint ones.
std::vector<TimeRange> merge_ranges(std::vector<TimeRange> ranges);

}  // namespace crm_core::matview
