// Prometheus text format: families, labels, histogram buckets, optional probe metrics.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

#include "metrics.hpp"
#include "routes.hpp"

using namespace crm_core::service;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(histogram_is_cumulative) {
    Histogram histogram;
    histogram.observe(0.003);
    histogram.observe(0.2);
    histogram.observe(0.2);
    histogram.observe(5000);  // beyond the last bound: only in +Inf
    BOOST_TEST(histogram.cumulative(0) == 1u);
    BOOST_TEST(histogram.cumulative(4) == 1u);  // le 0.1
    BOOST_TEST(histogram.cumulative(5) == 3u);  // le 0.25
    BOOST_TEST(histogram.cumulative(Histogram::kBounds.size() - 1) == 3u);
    BOOST_TEST(histogram.count() == 4u);
    BOOST_TEST(histogram.sum() == 5000.403, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(renders_service_and_job_metrics) {
    MetricsSnapshot snapshot;
    snapshot.version = "0.1.0";
    snapshot.start_time_unix = 1700000000;
    snapshot.database_up = true;
    snapshot.leader = true;
    snapshot.health = Status::warn;
    JobMetrics& seal = snapshot.jobs["seal"];
    seal.record.successes = 4;
    seal.record.failures = 1;
    seal.record.last_success_unix = 1700000100.5;
    seal.duration.observe(0.02);
    snapshot.jobs["refresh"];  // never succeeded: no timestamp sample
    std::string text = render_metrics(snapshot);
    BOOST_TEST(has_line(text, "# TYPE crm_core_job_runs_total counter"));
    BOOST_TEST(has_line(text, "crm_core_service_info{version=\"0.1.0\"} 1"));
    BOOST_TEST(has_line(text, "crm_core_database_up 1"));
    BOOST_TEST(has_line(text, "crm_core_service_leader 1"));
    BOOST_TEST(has_line(text, "crm_core_health_status 1"));
    BOOST_TEST(has_line(text, "crm_core_job_runs_total{job=\"seal\",result=\"success\"} 4"));
    BOOST_TEST(has_line(text, "crm_core_job_failures_total{job=\"seal\"} 1"));
    BOOST_TEST(
        has_line(text, "crm_core_job_last_success_timestamp_seconds{job=\"seal\"} 1700000100.5"));
    BOOST_TEST(text.find("crm_core_job_last_success_timestamp_seconds{job=\"refresh\"}") ==
               std::string::npos);
    BOOST_TEST(has_line(text, "crm_core_job_duration_seconds_bucket{job=\"seal\",le=\"0.01\"} 0"));
    BOOST_TEST(has_line(text, "crm_core_job_duration_seconds_bucket{job=\"seal\",le=\"0.025\"} 1"));
    BOOST_TEST(has_line(text, "crm_core_job_duration_seconds_bucket{job=\"seal\",le=\"+Inf\"} 1"));
    BOOST_TEST(has_line(text, "crm_core_job_duration_seconds_count{job=\"seal\"} 1"));
    // Probe metrics appear only once the probe read them.
    BOOST_TEST(text.find("crm_core_partitions_ahead") == std::string::npos);
    // Every sample line belongs to a family declared with # TYPE before it.
    BOOST_TEST(text.back() == '\n');
}

BOOST_AUTO_TEST_CASE(renders_probe_metrics_with_escaped_labels) {
    MetricsSnapshot snapshot;
    snapshot.probe.taken = true;
    snapshot.probe.taken_at_unix = 5;
    snapshot.probe.partitions =
        Probed<std::vector<PartitionRow>>::ok({{"crm_core.\"Pay\\x\"", 4, 2, 7}});
    snapshot.probe.views =
        Probed<std::vector<ViewRow>>::ok({{"crm_core.aging", 60.0, 12.25, "refreshed", ""},
                                          {"crm_core.never", 60.0, std::nullopt, "", ""}});
    snapshot.probe.unbalanced_entries = Probed<std::int64_t>::ok(0);
    snapshot.probe.seal = Probed<SealSummary>::ok(SealSummary{3, std::nullopt});
    std::string text = render_metrics(snapshot);
    BOOST_TEST(has_line(text, "crm_core_partitions_ahead{parent=\"crm_core.\\\"Pay\\\\x\\\"\"} 2"));
    BOOST_TEST(
        has_line(text, "crm_core_default_partition_rows{parent=\"crm_core.\\\"Pay\\\\x\\\"\"} 7"));
    BOOST_TEST(has_line(text, "crm_core_matview_staleness_seconds{view=\"crm_core.aging\"} 12.25"));
    BOOST_TEST(text.find("view=\"crm_core.never\"") == std::string::npos);
    BOOST_TEST(has_line(text, "crm_core_unbalanced_entries 0"));
    BOOST_TEST(text.find("crm_core_balance_mismatches") == std::string::npos);  // not installed
    BOOST_TEST(has_line(text, "crm_core_unsealed_rows 3"));
    BOOST_TEST(has_line(text, "crm_core_seal_lag_seconds 0"));
}

BOOST_AUTO_TEST_CASE(numbers_and_labels) {
    BOOST_TEST(prometheus_number(3) == "3");
    BOOST_TEST(prometheus_number(0.25) == "0.25");
    BOOST_TEST(prometheus_number(std::numeric_limits<double>::infinity()) == "+Inf");
    BOOST_TEST(prometheus_number(std::nan("")) == "NaN");
    BOOST_TEST(escape_label("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
}

BOOST_AUTO_TEST_CASE(routes) {
    BOOST_TEST((route("GET", "/livez") == Endpoint::livez));
    BOOST_TEST((route("HEAD", "/readyz") == Endpoint::readyz));
    BOOST_TEST((route("GET", "/healthz?verbose=1") == Endpoint::healthz));
    BOOST_TEST((route("GET", "/metrics") == Endpoint::metrics));
    BOOST_TEST((route("POST", "/metrics") == Endpoint::method_not_allowed));
    BOOST_TEST((route("DELETE", "/livez") == Endpoint::method_not_allowed));
    BOOST_TEST((route("GET", "/") == Endpoint::not_found));
    BOOST_TEST((route("POST", "/nope") == Endpoint::not_found));
    BOOST_TEST((route("GET", "/livez/") == Endpoint::not_found));
}

BOOST_AUTO_TEST_SUITE_END()
