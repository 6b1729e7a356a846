// Prometheus text rendering (see metrics.hpp). Names follow Prometheus' advice: base units,
// _total counters, and a last-success timestamp per batch job.
#include "metrics.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace crm_core::service {
namespace {

// Writes the # HELP and # TYPE lines of a metric family.
void family(std::ostringstream& out, const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// Writes one sample line.
void sample(std::ostringstream& out, const std::string& name, const std::string& labels,
            double value) {
    out << name;
    if (!labels.empty()) {
        out << '{' << labels << '}';
    }
    out << ' ' << prometheus_number(value) << '\n';
}

// name="value" with the value escaped.
std::string label(const char* name, const std::string& value) {
    return std::string(name) + "=\"" + escape_label(value) + '"';
}

}  // namespace

void Histogram::observe(double seconds) {
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
        if (seconds <= kBounds[i]) {
            ++buckets_[i];
            break;
        }
    }
    ++count_;
    sum_ += seconds;
}

std::uint64_t Histogram::cumulative(std::size_t bound) const {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bound && i < buckets_.size(); ++i) {
        total += buckets_[i];
    }
    return total;
}

std::string prometheus_number(double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    char buffer[32];
    if (value == std::floor(value) && std::fabs(value) < 1e15) {
        std::snprintf(buffer, sizeof buffer, "%.0f", value);
    } else {
        // The shortest form that reads back as the same double (0.025, not 0.025000000000000001).
        for (int precision = 15; precision <= 17; ++precision) {
            std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
            if (std::strtod(buffer, nullptr) == value) {
                break;
            }
        }
    }
    return buffer;
}

std::string escape_label(const std::string& value) {
    std::string out;
    for (char ch : value) {
        if (ch == '\\') {
            out += "\\\\";
        } else if (ch == '"') {
            out += "\\\"";
        } else if (ch == '\n') {
            out += "\\n";
        } else {
            out += ch;
        }
    }
    return out;
}

std::string render_metrics(const MetricsSnapshot& s) {
    std::ostringstream out;
    family(out, "crm_core_service_info", "gauge", "Version of crm-core-service.");
    sample(out, "crm_core_service_info", label("version", s.version), 1);
    family(out, "crm_core_service_start_time_seconds", "gauge", "Start time, Unix seconds.");
    sample(out, "crm_core_service_start_time_seconds", "", s.start_time_unix);
    family(out, "crm_core_database_up", "gauge", "1 when the database answers.");
    sample(out, "crm_core_database_up", "", s.database_up ? 1 : 0);
    family(out, "crm_core_service_leader", "gauge", "1 when this instance holds the leader lock.");
    sample(out, "crm_core_service_leader", "", s.leader ? 1 : 0);
    family(out, "crm_core_health_status", "gauge", "Overall health: 0 pass, 1 warn, 2 fail.");
    sample(out, "crm_core_health_status", "", static_cast<int>(s.health));

    family(out, "crm_core_job_runs_total", "counter", "Job runs by result.");
    for (const auto& [job, metrics] : s.jobs) {
        const JobRecord& r = metrics.record;
        std::string name = label("job", job);
        sample(out, "crm_core_job_runs_total", name + ",result=\"success\"",
               static_cast<double>(r.successes));
        sample(out, "crm_core_job_runs_total", name + ",result=\"failure\"",
               static_cast<double>(r.failures));
        sample(out, "crm_core_job_runs_total", name + ",result=\"skipped\"",
               static_cast<double>(r.skips));
    }
    family(out, "crm_core_job_failures_total", "counter", "Failed job runs.");
    for (const auto& [job, metrics] : s.jobs) {
        sample(out, "crm_core_job_failures_total", label("job", job),
               static_cast<double>(metrics.record.failures));
    }
    family(out, "crm_core_job_consecutive_failures", "gauge",
           "Failures since the job last succeeded.");
    for (const auto& [job, metrics] : s.jobs) {
        sample(out, "crm_core_job_consecutive_failures", label("job", job),
               metrics.record.consecutive_failures);
    }
    family(out, "crm_core_job_last_success_timestamp_seconds", "gauge",
           "When the job last succeeded, Unix seconds (absent: never).");
    for (const auto& [job, metrics] : s.jobs) {
        if (metrics.record.last_success_unix) {
            sample(out, "crm_core_job_last_success_timestamp_seconds", label("job", job),
                   *metrics.record.last_success_unix);
        }
    }
    family(out, "crm_core_job_duration_seconds", "histogram", "Job run time.");
    for (const auto& [job, metrics] : s.jobs) {
        std::string name = label("job", job);
        for (std::size_t i = 0; i < Histogram::kBounds.size(); ++i) {
            sample(out, "crm_core_job_duration_seconds_bucket",
                   name + ",le=\"" + prometheus_number(Histogram::kBounds[i]) + '"',
                   static_cast<double>(metrics.duration.cumulative(i)));
        }
        sample(out, "crm_core_job_duration_seconds_bucket", name + ",le=\"+Inf\"",
               static_cast<double>(metrics.duration.count()));
        sample(out, "crm_core_job_duration_seconds_sum", name, metrics.duration.sum());
        sample(out, "crm_core_job_duration_seconds_count", name,
               static_cast<double>(metrics.duration.count()));
    }

    const ProbeData& p = s.probe;
    using PartitionState = Probed<std::vector<PartitionRow>>::State;
    if (p.partitions.state == PartitionState::ok) {
        family(out, "crm_core_partitions_ahead", "gauge",
               "Partitions premade ahead of now, per managed table.");
        for (const auto& row : p.partitions.value) {
            sample(out, "crm_core_partitions_ahead", label("parent", row.parent),
                   static_cast<double>(row.partitions_ahead));
        }
        family(out, "crm_core_partitions_premake", "gauge", "Partitions to keep ahead.");
        for (const auto& row : p.partitions.value) {
            sample(out, "crm_core_partitions_premake", label("parent", row.parent),
                   static_cast<double>(row.premake));
        }
        family(out, "crm_core_default_partition_rows", "gauge", "Rows in the default partition.");
        for (const auto& row : p.partitions.value) {
            sample(out, "crm_core_default_partition_rows", label("parent", row.parent),
                   static_cast<double>(row.default_rows));
        }
    }
    if (p.views.state == Probed<std::vector<ViewRow>>::State::ok) {
        family(out, "crm_core_matview_staleness_seconds", "gauge",
               "Age of the view's data (absent: never refreshed).");
        for (const auto& row : p.views.value) {
            if (row.staleness_seconds) {
                sample(out, "crm_core_matview_staleness_seconds", label("view", row.view),
                       *row.staleness_seconds);
            }
        }
    }
    if (p.unbalanced_entries.state == Probed<std::int64_t>::State::ok) {
        family(out, "crm_core_unbalanced_entries", "gauge", "Posted entries that do not balance.");
        sample(out, "crm_core_unbalanced_entries", "",
               static_cast<double>(p.unbalanced_entries.value));
    }
    if (p.balance_mismatches.state == Probed<std::int64_t>::State::ok) {
        family(out, "crm_core_balance_mismatches", "gauge",
               "Accounts whose kept balance differs from their lines.");
        sample(out, "crm_core_balance_mismatches", "",
               static_cast<double>(p.balance_mismatches.value));
    }
    if (p.position_mismatches.state == Probed<std::int64_t>::State::ok) {
        family(out, "crm_collections_position_mismatches", "gauge",
               "Debts whose position disagrees with their allocations or the ledger.");
        sample(out, "crm_collections_position_mismatches", "",
               static_cast<double>(p.position_mismatches.value));
    }
    if (p.seal.state == Probed<SealSummary>::State::ok) {
        family(out, "crm_core_unsealed_rows", "gauge", "Ledger rows not sealed yet.");
        sample(out, "crm_core_unsealed_rows", "", static_cast<double>(p.seal.value.unsealed_rows));
        family(out, "crm_core_seal_lag_seconds", "gauge", "Age of the oldest unsealed row.");
        sample(out, "crm_core_seal_lag_seconds", "",
               p.seal.value.oldest_unsealed_age_seconds.value_or(0));
    }
    using PreparedState = Probed<std::vector<PreparedRow>>::State;
    if (p.prepared.state == PreparedState::ok) {
        family(out, "crm_core_prepared_ledger_transactions", "gauge",
               "Prepared transactions holding ledger postings.");
        sample(out, "crm_core_prepared_ledger_transactions", "",
               static_cast<double>(p.prepared.value.size()));
        family(out, "crm_core_prepared_ledger_oldest_seconds", "gauge",
               "Age of the oldest prepared transaction holding ledger postings (0: none).");
        sample(out, "crm_core_prepared_ledger_oldest_seconds", "",
               p.prepared.value.empty() ? 0 : p.prepared.value.front().age_seconds);
    }
    if (p.leader.state == Probed<LeaderInfo>::State::ok && p.leader.value.last_job_age_seconds) {
        family(out, "crm_core_leader_last_job_age_seconds", "gauge",
               "Seconds since a leader (any instance) last ran a job.");
        sample(out, "crm_core_leader_last_job_age_seconds", "",
               *p.leader.value.last_job_age_seconds);
    }
    auto failures = probe_failures(p);
    if (!failures.empty()) {
        family(out, "crm_core_probe_failed", "gauge",
               "1 when a health check's query could not run (its check fails), per check.");
        for (const auto& [check, failed] : failures) {
            if (failed) {
                sample(out, "crm_core_probe_failed", label("check", check), *failed ? 1 : 0);
            }
        }
    }
    if (p.taken) {
        family(out, "crm_core_probe_timestamp_seconds", "gauge",
               "When the health probe last read the database, Unix seconds.");
        sample(out, "crm_core_probe_timestamp_seconds", "", p.taken_at_unix);
    }
    return out.str();
}

}  // namespace crm_core::service
