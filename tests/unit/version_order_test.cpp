// The order of release versions: which side of a library/SQL mismatch is behind.
#include <boost/test/unit_test.hpp>

#include "crm_core/version_order.hpp"

BOOST_AUTO_TEST_SUITE(version_order)

BOOST_AUTO_TEST_CASE(equal_versions_compare_zero) {
    BOOST_TEST(crm_core::compare_versions("0.2.0", "0.2.0") == 0);
    BOOST_TEST(crm_core::compare_versions("1.2", "1.2.0") == 0);
    BOOST_TEST(crm_core::compare_versions("01.2.0", "1.2.0") == 0);
}

BOOST_AUTO_TEST_CASE(parts_compare_as_numbers) {
    BOOST_TEST(crm_core::compare_versions("0.1.0", "0.2.0") < 0);
    BOOST_TEST(crm_core::compare_versions("0.2.0", "0.1.0") > 0);
    BOOST_TEST(crm_core::compare_versions("0.9.0", "0.10.0") < 0);
    BOOST_TEST(crm_core::compare_versions("1.0", "0.99.99") > 0);
    BOOST_TEST(crm_core::compare_versions("0.2", "0.2.1") < 0);
}

BOOST_AUTO_TEST_CASE(other_parts_compare_as_text) {
    BOOST_TEST(crm_core::compare_versions("1.0.0-beta", "1.0.0-rc") < 0);
    BOOST_TEST(crm_core::compare_versions("1.0.x", "1.0.1") > 0);
    BOOST_TEST(crm_core::compare_versions("", "") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
