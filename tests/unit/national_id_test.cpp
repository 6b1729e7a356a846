#include <boost/test/unit_test.hpp>

#include "crm_core/national_id.hpp"

using crm_core::normalize_national_id;

BOOST_AUTO_TEST_SUITE(national_id)

BOOST_AUTO_TEST_CASE(national_ids_compare_without_case_or_punctuation) {
    BOOST_TEST(normalize_national_id("ab-123 456") == "AB123456");
    BOOST_TEST(normalize_national_id(" 1.85.05.78.006.084 ") == "1850578006084");
}

BOOST_AUTO_TEST_CASE(only_ascii_is_folded) {
    // Bytes outside ASCII are kept: no locale decides what an id is.
    BOOST_TEST(normalize_national_id("\xc3\xa9-12") ==
               "\xc3\xa9"
               "12");
    BOOST_TEST(normalize_national_id(" - ").empty());
}

BOOST_AUTO_TEST_SUITE_END()
