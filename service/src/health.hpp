// Health aggregation: turns what the probe read from the database and what the jobs recorded
// into checks with pass/warn/fail, and renders application/health+json. Pure logic.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"

namespace crm_core::service {

enum class Status { pass = 0, warn = 1, fail = 2 };
const char* status_name(Status status);

// One value the probe read: present, not installed in this database, or failed with an error.
template <typename T>
struct Probed {
    enum class State { missing, ok, error } state = State::missing;
    T value{};
    std::string error;

    static Probed ok(T v) { return Probed{State::ok, std::move(v), {}}; }
    static Probed failed(std::string message) {
        return Probed{State::error, T{}, std::move(message)};
    }
};

struct PartitionRow {
    std::string parent;
    std::int64_t premake = 0;
    std::int64_t partitions_ahead = 0;
    std::int64_t default_rows = 0;
};

struct ViewRow {
    std::string view;
    std::optional<double> refresh_every_seconds;
    std::optional<double> staleness_seconds;  // null: never refreshed
    std::string last_status;
    std::string last_error;
};

struct SealSummary {
    std::int64_t unsealed_rows = 0;
    std::optional<double> oldest_unsealed_age_seconds;
};

// Who holds the leader lock, and when a leader last ran a job (crm_core.service_leader()).
struct LeaderInfo {
    bool held = false;   // some session holds the leader lock
    std::string holder;  // e.g. "pid 42, role crm_svc, application crm-core-service/leader"
    bool heartbeat_installed = false;  // crm_core keeps the leader's heartbeat in this database
    std::string last_job;
    std::optional<double> last_job_age_seconds;  // null: no leader has run a job yet
};

// A prepared transaction holding ledger postings (crm_core.prepared_ledger_transactions()).
struct PreparedRow {
    std::string gid;
    std::string owner;
    double age_seconds = 0;
    std::string ruled_accounts;  // overdraft-rule accounts whose postings wait for it, "{1,2}"
};

// Everything one health probe read.
struct ProbeData {
    bool taken = false;  // false until the first probe ran
    double taken_at_unix = 0;
    Probed<std::vector<PartitionRow>> partitions;
    Probed<std::vector<ViewRow>> views;
    Probed<std::int64_t> unbalanced_entries;
    Probed<std::int64_t> balance_mismatches;
    // crm_collections: debts whose position disagrees with allocations or ledger (missing when
    // the extension is not installed).
    Probed<std::int64_t> position_mismatches;
    Probed<SealSummary> seal;
    Probed<LeaderInfo> leader;
    Probed<std::vector<PreparedRow>> prepared;
};

// What the service recorded about one job (built-in, or registered with crm_core.schedule_job).
struct JobRecord {
    bool leader_only = true;  // only the leader runs it (every job but health)
    bool registered = false;  // a job of crm_core.jobs, not a built-in one
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    std::uint64_t skips = 0;
    int consecutive_failures = 0;
    bool running = false;
    std::optional<double> last_success_unix;
    std::optional<double> last_failure_unix;
    std::string last_error;
    std::string last_result;  // summary of the last run, or "not installed"
};

struct Check {
    std::string key;  // "component:measurement"
    std::string component_id;
    std::string component_type;
    Status status = Status::pass;
    std::optional<double> observed_value;
    std::string observed_unit;
    std::string output;
    bool skipped = false;  // the object it checks is not installed
    std::string time;      // RFC 3339: when the observation was made
};

// What the instance knows about itself when health is asked for.
struct InstanceState {
    bool database_ready = false;
    bool leader = false;
    std::string database_error;
    double now_unix = 0;
};

struct Thresholds {
    double staleness_factor = 2.0;
    double seal_lag_warn_seconds = 3600;
    int failures_warn = 3;
    double leader_stale_seconds = 600;
    double prepared_warn_seconds = 60;
};

// The thresholds of a configuration.
Thresholds thresholds_of(const Config& config);

// Each probed part of the health checks by the name crm_core_probe_failed{check=...} gives it,
// with whether it could not run (nullopt: not installed or not probed yet).
std::vector<std::pair<std::string, std::optional<bool>>> probe_failures(const ProbeData& probe);

// Job records by job name (job_name() for the built-in ones).
using JobRecords = std::map<std::string, JobRecord>;

// All checks, from the instance state, the last probe and the job records (the built-in jobs
// have a check even without a record).
std::vector<Check> health_checks(const InstanceState& instance, const ProbeData& probe,
                                 const JobRecords& jobs, const Thresholds& thresholds);
// The worst status of the checks that were not skipped.
Status overall_status(const std::vector<Check>& checks);
// The application/health+json document.
std::string render_health_json(const std::vector<Check>& checks, const std::string& service_id);
// Escapes a string for a JSON string literal (without the quotes).
std::string json_escape(const std::string& text);
// Seconds since the epoch as RFC 3339 UTC, e.g. 2026-11-22T03:04:05Z.
std::string rfc3339(double unix_seconds);
// Seconds since the epoch, now (wall clock).
double unix_now();

}  // namespace crm_core::service
