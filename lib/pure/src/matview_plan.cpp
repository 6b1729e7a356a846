#include "crm_core/matview_plan.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <queue>
#include <unordered_map>
#include <utility>

#include "crm_core/interrupts.hpp"

namespace crm_core::matview {

namespace {

constexpr std::int64_t kMicrosecondsPerDay = 86'400'000'000;
constexpr std::int64_t kDaysPerMonth = 30;

// Positions of the views in the caller's list (the first one wins for a duplicate view).
std::unordered_map<ViewId, std::size_t> positions(const std::vector<ViewId>& views) {
    std::unordered_map<ViewId, std::size_t> position;
    position.reserve(views.size());
    for (std::size_t i = 0; i < views.size(); ++i) {
        check_interrupts();
        position.emplace(views[i], i);
    }
    return position;
}

// The graph over positions in the caller's view list: for each view, whom it reads and who
// reads it. Edges to unknown views and self-edges are dropped; duplicates are kept once.
// Built in O((V + E) log E): edges are sorted, not searched.
struct Graph {
    std::vector<std::vector<std::size_t>> reads;
    std::vector<std::vector<std::size_t>> read_by;

    Graph(const std::vector<ViewId>& views, const std::vector<Dependency>& dependencies)
        : reads(views.size()), read_by(views.size()) {
        std::unordered_map<ViewId, std::size_t> position = positions(views);
        std::vector<std::pair<std::size_t, std::size_t>> edges;
        edges.reserve(dependencies.size());
        for (const Dependency& edge : dependencies) {
            check_interrupts();
            auto from = position.find(edge.dependent);
            auto to = position.find(edge.dependency);
            if (from != position.end() && to != position.end() && from->second != to->second) {
                edges.emplace_back(from->second, to->second);
            }
        }
        std::sort(edges.begin(), edges.end());
        edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
        for (const auto& [from, to] : edges) {
            check_interrupts();
            reads[from].push_back(to);
            read_by[to].push_back(from);
        }
    }
};

// Where view sits in views, if it does.
std::optional<std::size_t> position_of(const std::vector<ViewId>& views, ViewId view) {
    auto found = std::find(views.begin(), views.end(), view);
    if (found == views.end()) {
        return std::nullopt;
    }
    return static_cast<std::size_t>(found - views.begin());
}

// a + b clamped to the int64 range.
std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
    std::int64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) {
        return b > 0 ? kPlusInfinity : kMinusInfinity;
    }
    return sum;
}

// a * b clamped to the int64 range.
std::int64_t saturating_multiply(std::int64_t a, std::int64_t b) {
    std::int64_t product = 0;
    if (__builtin_mul_overflow(a, b, &product)) {
        return (a < 0) != (b < 0) ? kMinusInfinity : kPlusInfinity;
    }
    return product;
}

// The end of the bucket starting at start (saturating; infinity stays infinity).
std::int64_t bucket_end(const BucketGrid& grid, std::int64_t start) {
    if (start == kMinusInfinity || start == kPlusInfinity) {
        return start;
    }
    return saturating_add(start, grid.width);
}

}  // namespace

RefreshOrder order_for_refresh(const std::vector<ViewId>& views,
                               const std::vector<Dependency>& dependencies) {
    Graph graph(views, dependencies);
    std::vector<std::size_t> waiting_on(views.size());
    // Kahn's algorithm with the ready views in a min-heap of positions: the lowest ready
    // position goes first, so the caller's order is kept (stable), in O((V + E) log V).
    std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<std::size_t>> ready;
    for (std::size_t i = 0; i < views.size(); ++i) {
        check_interrupts();
        waiting_on[i] = graph.reads[i].size();
        if (waiting_on[i] == 0) {
            ready.push(i);
        }
    }
    std::vector<bool> done(views.size(), false);
    RefreshOrder result;
    while (!ready.empty()) {
        std::size_t next = ready.top();
        ready.pop();
        done[next] = true;
        result.order.push_back(views[next]);
        for (std::size_t reader : graph.read_by[next]) {
            check_interrupts();
            if (--waiting_on[reader] == 0) {
                ready.push(reader);
            }
        }
    }
    for (std::size_t i = 0; i < views.size(); ++i) {
        check_interrupts();
        if (!done[i]) {
            result.blocked.push_back(views[i]);
        }
    }
    return result;
}

std::vector<ViewId> find_cycle(const std::vector<ViewId>& views,
                               const std::vector<Dependency>& dependencies) {
    Graph graph(views, dependencies);
    enum class Mark { unvisited, on_path, finished };
    std::vector<Mark> mark(views.size(), Mark::unvisited);
    // Iterative depth-first search; `path` is the current chain of reads.
    for (std::size_t start = 0; start < views.size(); ++start) {
        if (mark[start] != Mark::unvisited) {
            continue;
        }
        std::vector<std::size_t> path{start};
        std::vector<std::size_t> next_edge{0};
        mark[start] = Mark::on_path;
        while (!path.empty()) {
            check_interrupts();
            std::size_t node = path.back();
            if (next_edge.back() == graph.reads[node].size()) {
                mark[node] = Mark::finished;
                path.pop_back();
                next_edge.pop_back();
                continue;
            }
            std::size_t target = graph.reads[node][next_edge.back()++];
            if (mark[target] == Mark::on_path) {
                std::vector<ViewId> cycle;
                auto from = std::find(path.begin(), path.end(), target);
                for (auto it = from; it != path.end(); ++it) {
                    check_interrupts();
                    cycle.push_back(views[*it]);
                }
                cycle.push_back(views[target]);
                return cycle;
            }
            if (mark[target] == Mark::unvisited) {
                mark[target] = Mark::on_path;
                path.push_back(target);
                next_edge.push_back(0);
            }
        }
    }
    return {};
}

std::vector<ViewId> find_cycle_through(ViewId view, const std::vector<ViewId>& views,
                                       const std::vector<Dependency>& dependencies) {
    std::optional<std::size_t> found = position_of(views, view);
    if (!found) {
        return {};
    }
    Graph graph(views, dependencies);
    const std::size_t start = *found;
    // Breadth-first along reads: the first edge back to the start closes the shortest cycle.
    std::vector<std::size_t> parent(views.size(), start);
    std::vector<bool> seen(views.size(), false);
    std::vector<std::size_t> queue{start};
    seen[start] = true;
    for (std::size_t next = 0; next < queue.size(); ++next) {
        std::size_t node = queue[next];
        for (std::size_t target : graph.reads[node]) {
            check_interrupts();
            if (target == start) {
                // Walk back from the last view to the start, then turn the path around.
                std::vector<ViewId> cycle{views[start]};
                for (std::size_t at = node; at != start; at = parent[at]) {
                    check_interrupts();
                    cycle.push_back(views[at]);
                }
                cycle.push_back(views[start]);
                std::reverse(cycle.begin(), cycle.end());
                return cycle;
            }
            if (!seen[target]) {
                seen[target] = true;
                parent[target] = node;
                queue.push_back(target);
            }
        }
    }
    return {};
}

std::vector<ViewId> with_dependents(ViewId root, const std::vector<ViewId>& views,
                                    const std::vector<Dependency>& dependencies) {
    std::unordered_map<ViewId, std::size_t> position = positions(views);
    auto root_position = position.find(root);
    if (root_position == position.end()) {
        return {};
    }
    Graph graph(views, dependencies);
    std::vector<bool> wanted(views.size(), false);
    std::vector<std::size_t> stack{root_position->second};
    wanted[stack.back()] = true;
    while (!stack.empty()) {
        std::size_t node = stack.back();
        stack.pop_back();
        for (std::size_t reader : graph.read_by[node]) {
            check_interrupts();
            if (!wanted[reader]) {
                wanted[reader] = true;
                stack.push_back(reader);
            }
        }
    }
    std::vector<ViewId> result;
    for (ViewId view : order_for_refresh(views, dependencies).order) {
        check_interrupts();
        if (wanted[position.at(view)]) {
            result.push_back(view);
        }
    }
    return result;
}

std::int64_t interval_microseconds(std::int32_t months, std::int32_t days,
                                   std::int64_t microseconds) {
    std::int64_t all_days = static_cast<std::int64_t>(months) * kDaysPerMonth + days;
    return saturating_add(saturating_multiply(all_days, kMicrosecondsPerDay), microseconds);
}

std::int64_t next_due(std::optional<std::int64_t> last_success, std::int64_t refresh_every,
                      std::int64_t registered_at) {
    if (!last_success) {
        return registered_at;
    }
    return saturating_add(*last_success, refresh_every);
}

std::int64_t bucket_start(const BucketGrid& grid, std::int64_t t) {
    if (t == kMinusInfinity || t == kPlusInfinity) {
        return t;
    }
    // Floor division in 128 bits: t - origin may overflow int64 near the limits.
    __int128 offset = static_cast<__int128>(t) - grid.origin;
    __int128 buckets = offset / grid.width;
    if (offset % grid.width < 0) {
        --buckets;
    }
    __int128 start = static_cast<__int128>(grid.origin) + buckets * grid.width;
    if (start <= kMinusInfinity) {
        return kMinusInfinity;
    }
    return static_cast<std::int64_t>(start);
}

std::vector<TimeRange> changed_bucket_ranges(const BucketGrid& grid,
                                             std::vector<std::int64_t> times) {
    // Bucket starts, with runs of equal ones collapsed first: rows usually arrive in time
    // order, so a large statement shrinks to a few starts before the sort.
    std::vector<std::int64_t> starts;
    for (std::int64_t t : times) {
        check_interrupts();
        std::int64_t start = bucket_start(grid, t);
        if (start == kMinusInfinity || start == kPlusInfinity) {
            return {{kMinusInfinity, kPlusInfinity}};
        }
        if (starts.empty() || starts.back() != start) {
            starts.push_back(start);
        }
    }
    std::sort(starts.begin(), starts.end());
    starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
    std::vector<TimeRange> ranges;
    for (std::int64_t start : starts) {
        check_interrupts();
        if (!ranges.empty() && ranges.back().upper == start) {
            ranges.back().upper = bucket_end(grid, start);
        } else {
            ranges.push_back({start, bucket_end(grid, start)});
        }
    }
    return ranges;
}

TimeRange bucket_span(const BucketGrid& grid, std::int64_t earliest, std::int64_t latest) {
    std::vector<TimeRange> ends = changed_bucket_ranges(grid, {earliest, latest});
    return {ends.front().lower, ends.back().upper};
}

std::vector<TimeRange> merge_ranges(std::vector<TimeRange> ranges) {
    std::sort(ranges.begin(), ranges.end(), [](const TimeRange& a, const TimeRange& b) {
        return a.lower < b.lower || (a.lower == b.lower && a.upper < b.upper);
    });
    std::vector<TimeRange> merged;
    for (const TimeRange& range : ranges) {
        check_interrupts();
        if (!merged.empty() && range.lower <= merged.back().upper) {
            merged.back().upper = std::max(merged.back().upper, range.upper);
        } else {
            merged.push_back(range);
        }
    }
    return merged;
}

}  // namespace crm_core::matview
