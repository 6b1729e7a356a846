// Health aggregation and its application/health+json rendering.
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "health.hpp"

using namespace crm_core::service;

namespace crm_core::service {
// Lets Boost.Test print a Status when a comparison fails.
std::ostream& operator<<(std::ostream& out, Status status) {
    return out << status_name(status);
}
}  // namespace crm_core::service

namespace {

InstanceState ready_leader() {
    return InstanceState{true, true, "", 1000000};
}

// A probe where every object exists and every invariant holds.
ProbeData healthy_probe() {
    ProbeData probe;
    probe.taken = true;
    probe.partitions = Probed<std::vector<PartitionRow>>::ok({{"crm_core.payment", 3, 3, 0}});
    probe.views =
        Probed<std::vector<ViewRow>>::ok({{"crm_core.aging", 60.0, 30.0, "refreshed", ""}});
    probe.unbalanced_entries = Probed<std::int64_t>::ok(0);
    probe.balance_mismatches = Probed<std::int64_t>::ok(0);
    probe.position_mismatches = Probed<std::int64_t>::ok(0);
    probe.seal = Probed<SealSummary>::ok(SealSummary{10, 5.0});
    LeaderInfo leader;
    leader.held = true;
    leader.holder = "pid 7, role crm_svc, application crm-core-service/leader";
    leader.heartbeat_installed = true;
    leader.last_job = "seal";
    leader.last_job_age_seconds = 20;
    probe.leader = Probed<LeaderInfo>::ok(leader);
    probe.prepared = Probed<std::vector<PreparedRow>>::ok({});
    return probe;
}

const Check& find(const std::vector<Check>& checks, const std::string& key,
                  const std::string& component = "") {
    for (const auto& check : checks) {
        if (check.key == key && (component.empty() || check.component_id == component)) {
            return check;
        }
    }
    throw std::runtime_error("no check " + key);
}

Status status_of(const ProbeData& probe, const InstanceState& instance = ready_leader(),
                 const JobRecords& jobs = {}) {
    return overall_status(health_checks(instance, probe, jobs, Thresholds{}));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(health)

BOOST_AUTO_TEST_CASE(all_good_passes) {
    BOOST_TEST(status_of(healthy_probe()) == Status::pass);
}

BOOST_AUTO_TEST_CASE(database_down_fails) {
    InstanceState down{false, false, "connection refused", 0};
    auto checks = health_checks(down, healthy_probe(), {}, Thresholds{});
    BOOST_TEST(overall_status(checks) == Status::fail);
    BOOST_TEST(find(checks, "database:connection").output == "connection refused");
}

BOOST_AUTO_TEST_CASE(partitions_warn_when_short_and_fail_when_none_ahead) {
    ProbeData probe = healthy_probe();
    probe.partitions.value = {{"a", 3, 2, 0}, {"b", 3, 3, 0}};
    BOOST_TEST(status_of(probe) == Status::warn);
    probe.partitions.value = {{"a", 3, 0, 0}};
    auto checks = health_checks(ready_leader(), probe, {}, Thresholds{});
    BOOST_TEST(overall_status(checks) == Status::fail);
    BOOST_TEST(find(checks, "partitions:ahead", "a").output == "0 of 3 partitions premade ahead");
}

BOOST_AUTO_TEST_CASE(rows_in_default_partition_warn) {
    ProbeData probe = healthy_probe();
    probe.partitions.value[0].default_rows = 5;
    auto checks = health_checks(ready_leader(), probe, {}, Thresholds{});
    BOOST_TEST(find(checks, "partitions:default_rows").status == Status::warn);
    BOOST_TEST(*find(checks, "partitions:default_rows").observed_value == 5.0);
}

BOOST_AUTO_TEST_CASE(stale_failed_or_never_refreshed_views_warn) {
    ProbeData probe = healthy_probe();
    probe.views.value[0].staleness_seconds = 121.0;  // > 2 x 60 s
    BOOST_TEST(status_of(probe) == Status::warn);
    probe.views.value[0].staleness_seconds = 119.0;
    BOOST_TEST(status_of(probe) == Status::pass);
    probe.views.value[0].last_status = "failed";
    BOOST_TEST(status_of(probe) == Status::warn);
    probe.views.value[0] = ViewRow{"v", 60.0, std::nullopt, "", ""};
    BOOST_TEST(status_of(probe) == Status::warn);
}

BOOST_AUTO_TEST_CASE(broken_ledger_invariants_fail) {
    ProbeData probe = healthy_probe();
    probe.unbalanced_entries = Probed<std::int64_t>::ok(1);
    BOOST_TEST(status_of(probe) == Status::fail);
    probe = healthy_probe();
    probe.balance_mismatches = Probed<std::int64_t>::ok(2);
    BOOST_TEST(status_of(probe) == Status::fail);
    probe = healthy_probe();
    probe.position_mismatches = Probed<std::int64_t>::ok(3);
    BOOST_TEST(status_of(probe) == Status::fail);
}

BOOST_AUTO_TEST_CASE(seal_lag_warns_past_threshold) {
    ProbeData probe = healthy_probe();
    probe.seal.value.oldest_unsealed_age_seconds = 7200;
    BOOST_TEST(status_of(probe) == Status::warn);
}

BOOST_AUTO_TEST_CASE(missing_objects_are_skipped_not_failed) {
    ProbeData probe;
    probe.taken = true;  // every Probed is "missing"
    auto checks = health_checks(ready_leader(), probe, {}, Thresholds{});
    BOOST_TEST(overall_status(checks) == Status::pass);
    BOOST_TEST(find(checks, "ledger:seal_lag").skipped);
    BOOST_TEST(find(checks, "ledger:seal_lag").output == "crm_core.seal_status: not installed");
}

BOOST_AUTO_TEST_CASE(a_check_that_cannot_run_fails) {
    ProbeData probe = healthy_probe();
    probe.views =
        Probed<std::vector<ViewRow>>::failed("canceling statement due to statement timeout");
    auto checks = health_checks(ready_leader(), probe, {}, Thresholds{});
    BOOST_TEST(overall_status(checks) == Status::fail);
    BOOST_TEST(find(checks, "matviews:staleness").output ==
               "could not run: canceling statement due to statement timeout");
    probe = healthy_probe();
    probe.unbalanced_entries = Probed<std::int64_t>::failed("permission denied");
    BOOST_TEST(status_of(probe) == Status::fail);
    auto failures = probe_failures(probe);
    BOOST_TEST((std::find(failures.begin(), failures.end(),
                          std::make_pair(std::string("ledger:unbalanced_entries"),
                                         std::optional<bool>(true))) != failures.end()));
    BOOST_TEST((std::find(failures.begin(), failures.end(),
                          std::make_pair(std::string("ledger:balances"),
                                         std::optional<bool>(false))) != failures.end()));
}

BOOST_AUTO_TEST_CASE(no_probe_yet_warns) {
    BOOST_TEST(status_of(ProbeData{}) == Status::warn);
}

BOOST_AUTO_TEST_CASE(standby_names_the_leader_and_warns_without_one) {
    InstanceState standby{true, false, "", 0};
    BOOST_TEST(status_of(healthy_probe(), standby) == Status::pass);
    BOOST_TEST(
        find(health_checks(standby, healthy_probe(), {}, Thresholds{}), "leadership:lock").output ==
        "standby; the leader is pid 7, role crm_svc, application crm-core-service/leader");
    ProbeData probe = healthy_probe();
    probe.leader.value.held = false;
    BOOST_TEST(status_of(probe, standby) == Status::warn);
}

BOOST_AUTO_TEST_CASE(no_leader_running_jobs_for_too_long_fails) {
    ProbeData probe = healthy_probe();
    probe.leader.value.last_job_age_seconds = 601;
    auto checks = health_checks(ready_leader(), probe, {}, Thresholds{});
    BOOST_TEST(overall_status(checks) == Status::fail);
    BOOST_TEST(find(checks, "leadership:jobs").output ==
               "no leader has run a job for 601 s (last: seal); the lock is held by pid 7, role "
               "crm_svc, application crm-core-service/leader");
    probe.leader.value.last_job_age_seconds.reset();
    BOOST_TEST(status_of(probe) == Status::warn);
    probe.leader.value.heartbeat_installed = false;
    BOOST_TEST(
        find(health_checks(ready_leader(), probe, {}, Thresholds{}), "leadership:jobs").skipped);
}

BOOST_AUTO_TEST_CASE(old_prepared_ledger_transactions_warn) {
    ProbeData probe = healthy_probe();
    probe.prepared = Probed<std::vector<PreparedRow>>::ok({{"payout-7", "app", 30, "{12}"}});
    BOOST_TEST(status_of(probe) == Status::pass);
    probe.prepared.value.front().age_seconds = 90;
    auto checks = health_checks(ready_leader(), probe, {}, Thresholds{});
    BOOST_TEST(overall_status(checks) == Status::warn);
    BOOST_TEST(find(checks, "ledger:prepared_transactions").output ==
               "1 prepared transactions hold ledger postings; the oldest, 'payout-7' of app, for "
               "90 s: postings to overdraft-rule accounts {12} wait for it; end it with COMMIT "
               "PREPARED or ROLLBACK PREPARED");
}

BOOST_AUTO_TEST_CASE(repeated_job_failures_warn) {
    JobRecord failing;
    failing.failures = 3;
    failing.consecutive_failures = 3;
    failing.last_error = "lock timeout";
    auto checks = health_checks(ready_leader(), healthy_probe(), {{"seal", failing}}, Thresholds{});
    BOOST_TEST(overall_status(checks) == Status::warn);
    BOOST_TEST(find(checks, "jobs:last_success", "seal").output ==
               "3 consecutive failures; last: lock timeout");
    failing.consecutive_failures = 2;
    BOOST_TEST(status_of(healthy_probe(), ready_leader(), {{"seal", failing}}) == Status::pass);
    JobRecord succeeded;
    succeeded.last_success_unix = 999990;
    checks = health_checks(ready_leader(), healthy_probe(), {{"refresh", succeeded}}, Thresholds{});
    BOOST_TEST(*find(checks, "jobs:last_success", "refresh").observed_value == 10.0);
    BOOST_TEST(find(checks, "jobs:last_success", "refresh").time == "1970-01-12T13:46:30Z");
}

BOOST_AUTO_TEST_CASE(registered_jobs_have_checks_of_their_own) {
    JobRecord registered;
    registered.registered = true;
    registered.consecutive_failures = 4;
    registered.failures = 4;
    registered.last_error = "boom";
    auto checks = health_checks(ready_leader(), healthy_probe(),
                                {{"collections.daily", registered}}, Thresholds{});
    BOOST_TEST(find(checks, "jobs:last_success", "collections.daily").status == Status::warn);
    BOOST_TEST(find(checks, "jobs:last_success", "seal").output == "not run yet");
    InstanceState standby{true, false, "", 1000000};
    registered.consecutive_failures = 0;
    checks =
        health_checks(standby, healthy_probe(), {{"collections.daily", registered}}, Thresholds{});
    BOOST_TEST(find(checks, "jobs:last_success", "collections.daily").output ==
               "standby: the leader runs this job");
    BOOST_TEST(find(checks, "jobs:last_success", "health").output == "not run yet");
}

BOOST_AUTO_TEST_CASE(probed_checks_carry_the_probe_time) {
    ProbeData probe = healthy_probe();
    probe.taken_at_unix = 86400;
    auto checks = health_checks(ready_leader(), probe, {}, Thresholds{});
    BOOST_TEST(find(checks, "ledger:balances").time == "1970-01-02T00:00:00Z");
    BOOST_TEST(find(checks, "database:connection").time.empty());  // live, not probed
    BOOST_TEST(render_health_json(checks, "x").find("\"time\":\"1970-01-02T00:00:00Z\"") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(renders_health_json) {
    std::vector<Check> checks = {
        Check{"database:connection", "", "datastore", Status::pass, std::nullopt, "", "", false,
              ""},
        Check{"partitions:ahead", "crm_core.\"Pay\"", "datastore", Status::warn, 1.0, "partitions",
              "1 of 3\n", false, ""},
        Check{"partitions:ahead", "b", "datastore", Status::pass, 2.5, "partitions", "", false, ""},
        Check{"ledger:seal_lag", "", "datastore", Status::fail, std::nullopt, "", "x", true, ""}};
    std::string json = render_health_json(checks, "0.1.0");
    BOOST_TEST(json ==
               "{\"status\":\"warn\",\"version\":\"1\",\"releaseId\":\"0.1.0\",\"description\":"
               "\"crm_core maintenance and invariants\",\"checks\":{\"database:connection\":[{"
               "\"status\":\"pass\",\"componentType\":\"datastore\"}],\"partitions:ahead\":[{"
               "\"status\":\"warn\",\"componentId\":\"crm_core.\\\"Pay\\\"\",\"componentType\":"
               "\"datastore\",\"observedValue\":1,\"observedUnit\":\"partitions\",\"output\":\"1 "
               "of 3\\n\"},{\"status\":\"pass\",\"componentId\":\"b\",\"componentType\":"
               "\"datastore\",\"observedValue\":2.5,\"observedUnit\":\"partitions\"}],\"ledger:"
               "seal_lag\":[{\"status\":\"fail\",\"componentType\":\"datastore\",\"skipped\":true,"
               "\"output\":\"x\"}]}}");
    BOOST_TEST(json_escape(std::string("a\x01z")) == "a\\u0001z");
    BOOST_TEST(rfc3339(0) == "1970-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_SUITE_END()
