#include <boost/test/unit_test.hpp>
#include <sstream>

#include "progress.hpp"

using namespace crm_core::tool;

BOOST_AUTO_TEST_SUITE(progress)

BOOST_AUTO_TEST_CASE(numbers_and_clocks) {
    BOOST_TEST(grouped(0) == "0");
    BOOST_TEST(grouped(1234567) == "1,234,567");
    BOOST_TEST(clock_text(44) == "0:44");
    BOOST_TEST(clock_text(725) == "12:05");
    BOOST_TEST(clock_text(3723) == "1:02:03");
}

BOOST_AUTO_TEST_CASE(bar_and_plain_lines) {
    ProgressState state{"applying", 450000, 0, 36.45, 1000000};
    std::string bar = progress_line(state, true);
    BOOST_TEST(bar.find("[#############.................]  45%") != std::string::npos);
    BOOST_TEST(bar.find("450,000 rows") != std::string::npos);
    BOOST_TEST(bar.find("12,345 rows/s") != std::string::npos);
    BOOST_TEST(bar.find("ETA 0:45") != std::string::npos);
    BOOST_TEST(progress_line(state, false) ==
               "applying: 45% (450,000 rows, 12,345 rows/s, ETA 0:45)");
    ProgressState loading{"loading", 10, 0.5, 2, std::nullopt};
    BOOST_TEST(progress_line(loading, false) == "loading: 50% (10 rows, 5 rows/s, ETA 0:02)");
}

BOOST_AUTO_TEST_CASE(finish_prints_a_final_line) {
    std::ostringstream out;
    Progress progress(out, false);
    progress.start("validating", 3);
    progress.update(3, 0);
    progress.finish();
    BOOST_TEST(out.str().find("validating: 100% (3 rows") != std::string::npos);
    BOOST_TEST(out.str().find("done in") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
