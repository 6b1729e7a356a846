// Health checks and their application/health+json rendering (see health.hpp).
#include "health.hpp"

#include "crm_core/canonical.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <type_traits>

namespace crm_core::service {
namespace {

// The more severe of two statuses.
Status worse(Status a, Status b) {
    return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

// A check for an object that is not in this database.
Check not_installed(const std::string& key, const std::string& component_type,
                    const std::string& what) {
    Check check{key,  "", component_type, Status::pass, std::nullopt, "", what + ": not installed",
                true, ""};
    return check;
}

// A check whose probe query failed (a timeout behind a lock, a missing privilege ...): the
// invariant may be broken and nobody would know, so the check fails.
Check probe_failed(const std::string& key, const std::string& component_type,
                   const std::string& error) {
    return Check{
        key,   "", component_type, Status::fail, std::nullopt, "", "could not run: " + error,
        false, ""};
}

// Per managed table: partitions premade ahead, and rows stuck in the default partition.
void partition_checks(const Probed<std::vector<PartitionRow>>& probed, std::vector<Check>& out) {
    using State = Probed<std::vector<PartitionRow>>::State;
    if (probed.state == State::missing) {
        out.push_back(
            not_installed("partitions:ahead", "datastore", "crm_core.partitioned_tables"));
        out.push_back(
            not_installed("partitions:default_rows", "datastore", "crm_core.partitioned_tables"));
        return;
    }
    if (probed.state == State::error) {
        out.push_back(probe_failed("partitions:ahead", "datastore", probed.error));
        return;
    }
    if (probed.value.empty()) {
        out.push_back(Check{"partitions:ahead", "", "datastore", Status::pass, 0.0, "partitions",
                            "no managed tables", false, ""});
    }
    for (const auto& row : probed.value) {
        Status ahead = row.partitions_ahead >= row.premake ? Status::pass
                       : row.partitions_ahead > 0          ? Status::warn
                                                           : Status::fail;
        std::string output = ahead == Status::pass
                                 ? ""
                                 : std::to_string(row.partitions_ahead) + " of " +
                                       std::to_string(row.premake) + " partitions premade ahead";
        out.push_back(Check{"partitions:ahead", row.parent, "datastore", ahead,
                            static_cast<double>(row.partitions_ahead), "partitions", output, false,
                            ""});
        out.push_back(Check{"partitions:default_rows", row.parent, "datastore",
                            row.default_rows == 0 ? Status::pass : Status::warn,
                            static_cast<double>(row.default_rows), "rows",
                            row.default_rows == 0 ? "" : "rows in the default partition", false,
                            ""});
    }
}

// Per managed view: staleness against its refresh interval, and failed refreshes.
void view_checks(const Probed<std::vector<ViewRow>>& probed, double factor,
                 std::vector<Check>& out) {
    using State = Probed<std::vector<ViewRow>>::State;
    if (probed.state == State::missing) {
        out.push_back(not_installed("matviews:staleness", "datastore", "crm_core.matview_status"));
        return;
    }
    if (probed.state == State::error) {
        out.push_back(probe_failed("matviews:staleness", "datastore", probed.error));
        return;
    }
    if (probed.value.empty()) {
        out.push_back(Check{"matviews:staleness", "", "datastore", Status::pass, std::nullopt, "s",
                            "no managed views", false, ""});
    }
    for (const auto& row : probed.value) {
        Check check{"matviews:staleness",
                    row.view,
                    "datastore",
                    Status::pass,
                    row.staleness_seconds,
                    "s",
                    "",
                    false,
                    ""};
        if (!row.staleness_seconds) {
            check.status = Status::warn;
            check.output = "never refreshed";
        } else if (row.refresh_every_seconds &&
                   *row.staleness_seconds > factor * *row.refresh_every_seconds) {
            check.status = Status::warn;
            check.output =
                "stale beyond " +
                std::to_string(static_cast<long long>(factor * *row.refresh_every_seconds)) + " s";
        }
        if (row.last_status == "failed") {
            check.status = Status::warn;
            check.output += (check.output.empty() ? "" : "; ") +
                            std::string("last refresh failed: ") + row.last_error;
        }
        out.push_back(check);
    }
}

// A ledger invariant that must count zero rows, else the whole service fails.
void zero_rows_check(const Probed<std::int64_t>& probed, const std::string& key,
                     const std::string& function, const std::string& problem,
                     std::vector<Check>& out) {
    using State = Probed<std::int64_t>::State;
    if (probed.state == State::missing) {
        out.push_back(not_installed(key, "datastore", function));
    } else if (probed.state == State::error) {
        out.push_back(probe_failed(key, "datastore", probed.error));
    } else {
        out.push_back(Check{key, "", "datastore", probed.value == 0 ? Status::pass : Status::fail,
                            static_cast<double>(probed.value), "rows",
                            probed.value == 0 ? "" : std::to_string(probed.value) + " " + problem,
                            false, ""});
    }
}

// Age of the oldest unsealed ledger row against the warning threshold.
void seal_check(const Probed<SealSummary>& probed, double warn_seconds, std::vector<Check>& out) {
    using State = Probed<SealSummary>::State;
    if (probed.state == State::missing) {
        out.push_back(not_installed("ledger:seal_lag", "datastore", "crm_core.seal_status"));
        return;
    }
    if (probed.state == State::error) {
        out.push_back(probe_failed("ledger:seal_lag", "datastore", probed.error));
        return;
    }
    double lag = probed.value.oldest_unsealed_age_seconds.value_or(0);
    bool late = lag > warn_seconds;
    out.push_back(
        Check{"ledger:seal_lag", "", "datastore", late ? Status::warn : Status::pass, lag, "s",
              late ? std::to_string(probed.value.unsealed_rows) + " unsealed rows, oldest " +
                         std::to_string(static_cast<long long>(lag)) + " s old"
                   : "",
              false, ""});
}

// Per job: seconds since the last success; repeated failures warn.
void job_checks(const JobRecords& recorded, bool leader, double now_unix, int failures_warn,
                std::vector<Check>& out) {
    JobRecords jobs = recorded;
    for (Job job : kAllJobs) {
        if (jobs.count(job_name(job)) == 0) {
            jobs[job_name(job)].leader_only = needs_leadership(job);
        }
    }
    for (const auto& [name, record] : jobs) {
        Check check{
            "jobs:last_success", name, "component", Status::pass, std::nullopt, "s", "", false, ""};
        if (record.last_success_unix) {
            check.observed_value = now_unix - *record.last_success_unix;
            check.time = rfc3339(*record.last_success_unix);
        }
        if (record.last_result == "not installed") {
            check.skipped = true;
            check.output = "not installed";
        } else if (record.consecutive_failures >= failures_warn) {
            check.status = Status::warn;
            check.output = std::to_string(record.consecutive_failures) +
                           " consecutive failures; last: " + record.last_error;
        } else if (record.leader_only && !leader) {
            check.output = "standby: the leader runs this job";
        } else if (!record.last_success_unix) {
            check.output = record.failures > 0 ? "failing: " + record.last_error : "not run yet";
        }
        out.push_back(check);
    }
}

// Who leads, seen from this instance: a standby names the session holding the lock.
Check leadership_check(const InstanceState& instance, const Probed<LeaderInfo>& probed) {
    Check check{"leadership:lock",
                "",
                "component",
                Status::pass,
                instance.leader ? 1.0 : 0.0,
                "leader",
                instance.leader ? "leader" : "standby",
                false,
                ""};
    if (instance.leader) {
        return check;
    }
    if (probed.state == Probed<LeaderInfo>::State::error) {
        return probe_failed("leadership:lock", "component", probed.error);
    }
    if (probed.state == Probed<LeaderInfo>::State::ok) {
        if (!probed.value.held) {
            check.status = Status::warn;
            check.output = "no instance holds the leader lock: maintenance is not running";
        } else if (!probed.value.holder.empty()) {
            check.output = "standby; the leader is " + probed.value.holder;
        }
    }
    return check;
}

// When a leader last ran a job, from the heartbeat every leader writes: a lock held by a
// session that runs no jobs, or no leader at all, shows here on every instance.
Check leader_jobs_check(const Probed<LeaderInfo>& probed, double stale_seconds) {
    using State = Probed<LeaderInfo>::State;
    if (probed.state == State::missing ||
        (probed.state == State::ok && !probed.value.heartbeat_installed)) {
        return not_installed("leadership:jobs", "component", "crm_core.service_leader()");
    }
    if (probed.state == State::error) {
        return probe_failed("leadership:jobs", "component", probed.error);
    }
    const LeaderInfo& leader = probed.value;
    Check check{"leadership:jobs",
                "",
                "component",
                Status::pass,
                leader.last_job_age_seconds,
                "s",
                "",
                false,
                ""};
    if (!leader.last_job_age_seconds) {
        check.status = Status::warn;
        check.output = "no leader has run a job yet";
    } else if (*leader.last_job_age_seconds > stale_seconds) {
        check.status = Status::fail;
        check.output = "no leader has run a job for " +
                       std::to_string(static_cast<long long>(*leader.last_job_age_seconds)) +
                       " s (last: " + leader.last_job + ")" +
                       (leader.held ? "; the lock is held by " + leader.holder
                                    : "; no instance holds the leader lock");
    }
    return check;
}

// Prepared transactions holding ledger postings: each blocks other postings to the
// overdraft-rule accounts it wrote until it is committed or rolled back.
Check prepared_check(const Probed<std::vector<PreparedRow>>& probed, double warn_seconds) {
    using State = Probed<std::vector<PreparedRow>>::State;
    if (probed.state == State::missing) {
        return not_installed("ledger:prepared_transactions", "datastore",
                             "crm_core.prepared_ledger_transactions()");
    }
    if (probed.state == State::error) {
        return probe_failed("ledger:prepared_transactions", "datastore", probed.error);
    }
    Check check{"ledger:prepared_transactions",
                "",
                "datastore",
                Status::pass,
                static_cast<double>(probed.value.size()),
                "transactions",
                "",
                false,
                ""};
    const PreparedRow* oldest = probed.value.empty() ? nullptr : &probed.value.front();
    if (oldest != nullptr && oldest->age_seconds > warn_seconds) {
        check.status = Status::warn;
        check.output =
            std::to_string(probed.value.size()) +
            " prepared transactions hold ledger postings; the oldest, '" + oldest->gid + "' of " +
            oldest->owner + ", for " + std::to_string(static_cast<long long>(oldest->age_seconds)) +
            " s" +
            (oldest->ruled_accounts == "{}" ? ""
                                            : ": postings to overdraft-rule accounts " +
                                                  oldest->ruled_accounts + " wait for it") +
            "; end it with COMMIT PREPARED or ROLLBACK PREPARED";
    }
    return check;
}

// Formats a double for JSON: integers without a fraction, others with enough digits.
std::string json_number(double value) {
    if (!std::isfinite(value)) {
        return "null";
    }
    char buffer[32];
    if (value == std::floor(value) && std::fabs(value) < 1e15) {
        std::snprintf(buffer, sizeof buffer, "%.0f", value);
    } else {
        std::snprintf(buffer, sizeof buffer, "%.6g", value);
    }
    return buffer;
}

}  // namespace

const char* status_name(Status status) {
    switch (status) {
        case Status::pass:
            return "pass";
        case Status::warn:
            return "warn";
        case Status::fail:
            return "fail";
    }
    return "fail";
}

std::vector<Check> health_checks(const InstanceState& instance, const ProbeData& probe,
                                 const JobRecords& jobs, const Thresholds& thresholds) {
    std::vector<Check> checks;
    checks.push_back(Check{"database:connection", "", "datastore",
                           instance.database_ready ? Status::pass : Status::fail, std::nullopt, "",
                           instance.database_ready ? "" : instance.database_error, false, ""});
    checks.push_back(leadership_check(instance, probe.leader));
    if (!probe.taken) {
        checks.push_back(Check{"probe:first_run", "", "component", Status::warn, std::nullopt, "",
                               "the health probe has not run yet", false, ""});
    } else {
        std::size_t first_probed = checks.size();
        partition_checks(probe.partitions, checks);
        view_checks(probe.views, thresholds.staleness_factor, checks);
        zero_rows_check(probe.unbalanced_entries, "ledger:unbalanced_entries",
                        "crm_core.unbalanced_entries()", "posted entries do not balance", checks);
        zero_rows_check(probe.balance_mismatches, "ledger:balances", "crm_core.check_balances()",
                        "accounts whose balance differs from their lines", checks);
        zero_rows_check(
            probe.position_mismatches, "collections:positions", "collections.check_positions()",
            "debts whose position disagrees with their allocations or the ledger", checks);
        seal_check(probe.seal, thresholds.seal_lag_warn_seconds, checks);
        checks.push_back(prepared_check(probe.prepared, thresholds.prepared_warn_seconds));
        checks.push_back(leader_jobs_check(probe.leader, thresholds.leader_stale_seconds));
        for (std::size_t i = first_probed; i < checks.size(); ++i) {
            checks[i].time = rfc3339(probe.taken_at_unix);
        }
    }
    job_checks(jobs, instance.leader, instance.now_unix, thresholds.failures_warn, checks);
    return checks;
}

Thresholds thresholds_of(const Config& config) {
    auto seconds = [](Duration duration) {
        return std::chrono::duration<double>(duration).count();
    };
    return Thresholds{config.staleness_factor, seconds(config.seal_lag_warn), config.failures_warn,
                      seconds(config.leader_stale), seconds(config.prepared_warn)};
}

std::vector<std::pair<std::string, std::optional<bool>>> probe_failures(const ProbeData& probe) {
    auto failed = [](const auto& probed) -> std::optional<bool> {
        using State = typename std::decay_t<decltype(probed)>::State;
        if (probed.state == State::missing) {
            return std::nullopt;
        }
        return probed.state == State::error;
    };
    if (!probe.taken) {
        return {};
    }
    return {{"partitions", failed(probe.partitions)},
            {"matviews:staleness", failed(probe.views)},
            {"ledger:unbalanced_entries", failed(probe.unbalanced_entries)},
            {"ledger:balances", failed(probe.balance_mismatches)},
            {"ledger:seal_lag", failed(probe.seal)},
            {"ledger:prepared_transactions", failed(probe.prepared)},
            {"leadership", failed(probe.leader)}};
}

Status overall_status(const std::vector<Check>& checks) {
    Status status = Status::pass;
    for (const auto& check : checks) {
        if (!check.skipped) {
            status = worse(status, check.status);
        }
    }
    return status;
}

std::string json_escape(const std::string& text) {
    // One escaper for the whole project: the ledger's canonical encoding pins its behaviour.
    std::string quoted = crm_core::json_string(text);
    return quoted.substr(1, quoted.size() - 2);
}

std::string rfc3339(double unix_seconds) {
    std::time_t seconds = static_cast<std::time_t>(unix_seconds);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
}

double unix_now() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string render_health_json(const std::vector<Check>& checks, const std::string& service_id) {
    std::ostringstream json;
    json << "{\"status\":\"" << status_name(overall_status(checks))
         << "\",\"version\":\"1\",\"releaseId\":\"" << json_escape(service_id)
         << "\",\"description\":\"crm_core maintenance and invariants\",\"checks\":{";
    // Group by key in first-seen order, as the health+json draft keys checks by measurement.
    std::vector<std::string> keys;
    for (const auto& check : checks) {
        if (std::find(keys.begin(), keys.end(), check.key) == keys.end()) {
            keys.push_back(check.key);
        }
    }
    for (std::size_t k = 0; k < keys.size(); ++k) {
        json << (k ? "," : "") << '"' << json_escape(keys[k]) << "\":[";
        bool first = true;
        for (const auto& check : checks) {
            if (check.key != keys[k]) {
                continue;
            }
            json << (first ? "" : ",") << "{\"status\":\"" << status_name(check.status) << '"';
            first = false;
            if (!check.component_id.empty()) {
                json << ",\"componentId\":\"" << json_escape(check.component_id) << '"';
            }
            json << ",\"componentType\":\"" << check.component_type << '"';
            if (check.observed_value) {
                json << ",\"observedValue\":" << json_number(*check.observed_value)
                     << ",\"observedUnit\":\"" << json_escape(check.observed_unit) << '"';
            }
            if (check.skipped) {
                json << ",\"skipped\":true";
            }
            if (!check.output.empty()) {
                json << ",\"output\":\"" << json_escape(check.output) << '"';
            }
            if (!check.time.empty()) {
                json << ",\"time\":\"" << check.time << '"';
            }
            json << '}';
        }
        json << ']';
    }
    json << "}}";
    return json.str();
}

}  // namespace crm_core::service
