#include <boost/test/unit_test.hpp>

#include "collections/customer_identity.hpp"

using namespace crm_core::collections;

BOOST_AUTO_TEST_SUITE(collections_identity)

BOOST_AUTO_TEST_CASE(national_numbers_are_read_in_the_business_country) {
    BOOST_TEST(*normalize_phone("06 12 34 56 78", "FR").e164 == "+33612345678");
    BOOST_TEST(*normalize_phone("+33 6 12 34 56 78", "FR").e164 == "+33612345678");
    BOOST_TEST(*normalize_phone("0033612345678", "FR").e164 == "+33612345678");
    BOOST_TEST(*normalize_phone("+91 98765 43210", "FR").e164 == "+919876543210");
    BOOST_TEST(*normalize_phone("98765 43210", "IN").e164 == "+919876543210");
    BOOST_TEST(*normalize_phone("(202) 555-0143", "US").e164 == "+12025550143");
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

BOOST_AUTO_TEST_CASE(national_ids_compare_without_case_or_punctuation) {
    BOOST_TEST(normalize_national_id("ab-123 456") == "AB123456");
    BOOST_TEST(normalize_national_id(" 1.85.05.78.006.084 ") == "1850578006084");
}

BOOST_AUTO_TEST_CASE(fingerprints_are_keyed_and_match_the_same_person) {
    auto a = customer_fingerprint("key one", std::string("+33612345678"), std::string("AB 123"));
    auto b = customer_fingerprint("key one", std::string("+33612345678"), std::string("ab-123"));
    auto other_key =
        customer_fingerprint("key two", std::string("+33612345678"), std::string("AB123"));
    auto other_id =
        customer_fingerprint("key one", std::string("+33612345678"), std::string("AB124"));
    BOOST_TEST((*a == *b));
    BOOST_TEST((*a != *other_key));
    BOOST_TEST((*a != *other_id));
    // A phone cannot pose as an id and the other way round.
    BOOST_TEST((*customer_fingerprint("k", std::string("12"), std::nullopt) !=
                *customer_fingerprint("k", std::nullopt, std::string("12"))));
    BOOST_TEST(!customer_fingerprint("k", std::nullopt, std::nullopt).has_value());
    BOOST_TEST(!customer_fingerprint("k", std::nullopt, std::string(" - ")).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
