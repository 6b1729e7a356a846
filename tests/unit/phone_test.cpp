#include <boost/test/unit_test.hpp>

#include "crm_core/phone.hpp"

using namespace crm_core;

BOOST_AUTO_TEST_SUITE(phone)

BOOST_AUTO_TEST_CASE(national_numbers_are_read_in_the_business_country) {
    BOOST_TEST(*normalize_phone("06 12 34 56 78", "FR").e164 == "+33612345678");
    BOOST_TEST(*normalize_phone("+33 6 12 34 56 78", "FR").e164 == "+33612345678");
    BOOST_TEST(*normalize_phone("0033612345678", "FR").e164 == "+33612345678");
    BOOST_TEST(*normalize_phone("+91 98765 43210", "FR").e164 == "+919876543210");
    BOOST_TEST(*normalize_phone("98765 43210", "IN").e164 == "+919876543210");
    BOOST_TEST(*normalize_phone("(202) 555-0143", "US").e164 == "+12025550143");
    // Kenya, crm_erp's default country: Safaricom numbers as people write them.
    BOOST_TEST(*normalize_phone("0712 345 678", "KE").e164 == "+254712345678");
    BOOST_TEST(*normalize_phone("+254 722 000111", "KE").e164 == "+254722000111");
}

BOOST_AUTO_TEST_CASE(what_is_not_a_phone_number_says_why) {
    PhoneNumber letters = normalize_phone("call me maybe", "FR");
    BOOST_TEST(!letters.e164.has_value());
    BOOST_TEST(letters.problem == "it is not a phone number");
    PhoneNumber short_one = normalize_phone("06 12", "FR");
    BOOST_TEST(!short_one.e164.has_value());
    BOOST_TEST(short_one.problem == "it is too short for its country");
    BOOST_TEST(!normalize_phone("+999 1234567", "FR").e164.has_value());
    BOOST_TEST(!normalize_phone("", "FR").e164.has_value());
}

BOOST_AUTO_TEST_CASE(regions_are_libphonenumber_regions) {
    BOOST_TEST(is_known_phone_region("FR"));
    BOOST_TEST(is_known_phone_region("IN"));
    BOOST_TEST(!is_known_phone_region("XX"));
    BOOST_TEST(!is_known_phone_region("fr"));
}

BOOST_AUTO_TEST_SUITE_END()
