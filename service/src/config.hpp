// crm-core-service configuration: defaults, config file, environment and flags (pure logic).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace crm_core::service {

using Duration = std::chrono::milliseconds;

// The jobs the service schedules; health runs on every instance, the others on the leader only.
enum class Job { maintenance, refresh, seal, health };
inline constexpr std::array<Job, 4> kAllJobs = {Job::maintenance, Job::refresh, Job::seal,
                                                Job::health};

// The job's name as used by --once, metrics labels and health checks.
const char* job_name(Job job);
// The job a name stands for, if any.
std::optional<Job> job_from_name(std::string_view name);
// Whether only the leader may run the job (it changes the database).
inline bool needs_leadership(Job job) {
    return job != Job::health;
}

struct Config {
    std::string conninfo;  // libpq conninfo or URI; empty means PG* environment variables
    std::string application_name = "crm-core-service";
    std::string listen_address = "127.0.0.1";
    std::uint16_t port = 9187;
    std::array<Duration, 4> interval = {std::chrono::minutes(10), std::chrono::minutes(1),
                                        std::chrono::minutes(1), std::chrono::seconds(30)};
    double jitter = 0.1;  // fraction of an interval (and of a backoff) chosen at random
    Duration lock_timeout = std::chrono::seconds(5);
    Duration probe_timeout = std::chrono::seconds(10);  // statement_timeout of health queries
    Duration backoff_initial = std::chrono::seconds(5);
    Duration backoff_max = std::chrono::minutes(10);
    Duration tick = std::chrono::seconds(1);
    Duration shutdown_timeout = std::chrono::seconds(30);
    Duration read_timeout = std::chrono::seconds(5);
    Duration liveness_timeout = std::chrono::seconds(10);
    std::size_t max_connections = 64;
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 1024;
    double staleness_factor = 2.0;  // a view is stale past this many refresh intervals
    Duration seal_lag_warn = std::chrono::hours(1);
    int failures_warn = 3;  // consecutive failures that turn a job's check to warn
    Duration leader_stale = std::chrono::minutes(10);  // health fails when no leader ran a job
    Duration prepared_warn = std::chrono::minutes(1);  // prepared ledger transactions older warn
    std::int64_t lock_key = 0x63726d5f636f7265;        // "crm_core"
    std::string config_file;

    Duration interval_of(Job job) const { return interval[static_cast<std::size_t>(job)]; }
};

// What the command line asks for.
struct Invocation {
    Config config;
    // --once NAME: a built-in job (job_from_name) or a job registered with crm_core.schedule_job().
    std::optional<std::string> once;
    bool help = false;
    bool version = false;
};

// Reads a whole file; nullopt when it cannot be read.
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;

// Thrown for any unusable setting; the message names the setting and what to fix.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Builds the configuration: defaults < config file < CRM_CORE_* environment < flags.
Invocation load_invocation(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& environment,
                           const FileReader& read_file);
// The --help text.
std::string help_text();
// "250ms", "30s", "5m", "2h", "1d" or a plain number of seconds.
std::optional<Duration> parse_duration(std::string_view text);
// A duration in the shortest unit that represents it exactly.
std::string format_duration(Duration duration);
// Whether a libpq connection keyword carries a secret (libpq shows those with dispchar "*":
// password, sslpassword, and oauth_client_secret from PostgreSQL 18 on).
bool is_secret_keyword(std::string_view keyword);
// The conninfo (key/value or URI form) with the value of every secret-bearing keyword, and the
// password of a URI's user:password@, replaced by "********", for logs.
std::string redact_conninfo(std::string_view conninfo);
// One line describing the effective configuration (password redacted), for the log.
std::string describe(const Config& config);

}  // namespace crm_core::service
