#include <boost/test/unit_test.hpp>

#include "crm_core/tenant.hpp"

using crm_core::tenant::parse_business_setting;

BOOST_AUTO_TEST_SUITE(tenant)

BOOST_AUTO_TEST_CASE(an_empty_setting_declares_no_business) {
    for (const char* text : {"", " ", "\t \n"}) {
        auto setting = parse_business_setting(text);
        BOOST_TEST(setting.valid);
        BOOST_TEST(!setting.business_id.has_value());
    }
}

BOOST_AUTO_TEST_CASE(a_whole_number_declares_that_business) {
    BOOST_TEST(*parse_business_setting("42").business_id == 42);
    BOOST_TEST(*parse_business_setting(" 42 ").business_id == 42);
    BOOST_TEST(*parse_business_setting("+7").business_id == 7);
    BOOST_TEST(*parse_business_setting("-3").business_id == -3);
    BOOST_TEST(*parse_business_setting("0").business_id == 0);
    BOOST_TEST(*parse_business_setting("9223372036854775807").business_id ==
               INT64_C(9223372036854775807));
    BOOST_TEST(*parse_business_setting("-9223372036854775808").business_id == INT64_MIN);
}

BOOST_AUTO_TEST_CASE(anything_else_is_invalid_not_ignored) {
    for (const char* text :
         {"abc", "4 2", "42x", "4.2", "-", "+", "0x10", "1e3", "9223372036854775808",
          "-9223372036854775809", "99999999999999999999"}) {
        BOOST_TEST_CONTEXT(text) {
            auto setting = parse_business_setting(text);
            BOOST_TEST(!setting.valid);
            BOOST_TEST(!setting.business_id.has_value());
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
