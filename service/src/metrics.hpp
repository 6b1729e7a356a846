// Prometheus text exposition (format 0.0.4) of the service's state. Pure logic.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "health.hpp"

namespace crm_core::service {

// A cumulative histogram of durations in seconds with fixed buckets.
class Histogram {
  public:
    static constexpr std::array<double, 14> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                       1,     2.5,  5,     10,   30,  120,  600};
    void observe(double seconds);
    // Observations at or below bound i (cumulative, as Prometheus expects).
    std::uint64_t cumulative(std::size_t bound) const;
    std::uint64_t count() const { return count_; }
    double sum() const { return sum_; }

  private:
    std::array<std::uint64_t, kBounds.size()> buckets_{};  // per bucket, not cumulative
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

struct JobMetrics {
    JobRecord record;
    Histogram duration;
};

// Everything /metrics shows.
struct MetricsSnapshot {
    std::string version;
    double start_time_unix = 0;
    bool database_up = false;
    bool leader = false;
    Status health = Status::pass;
    std::map<std::string, JobMetrics> jobs;  // by job name, built-in and registered
    ProbeData probe;
};

// The exposition text.
std::string render_metrics(const MetricsSnapshot& snapshot);
// A sample value: integers without a fraction, +Inf/-Inf/NaN spelled as Prometheus does.
std::string prometheus_number(double value);
// Escapes a label value (backslash, double quote, newline).
std::string escape_label(const std::string& value);

}  // namespace crm_core::service
