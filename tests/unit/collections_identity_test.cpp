#include <boost/test/unit_test.hpp>

#include "collections/customer_identity.hpp"

using namespace crm_core::collections;

BOOST_AUTO_TEST_SUITE(collections_identity)

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
