#include <boost/test/unit_test.hpp>

#include <string>

#include "crm_core/hmac.hpp"

BOOST_AUTO_TEST_SUITE(hmac)

using crm_core::hmac_sha256;
using crm_core::to_hex;

// RFC 4231 test cases 1, 2, 6 and 7 (block-sized and longer keys, messages).
BOOST_AUTO_TEST_CASE(rfc4231_vectors) {
    BOOST_TEST(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    BOOST_TEST(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    BOOST_TEST(to_hex(hmac_sha256(std::string(131, '\xaa'),
                                  "Test Using Larger Than Block-Size Key - Hash Key First")) ==
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    BOOST_TEST(to_hex(hmac_sha256(std::string(131, '\xaa'),
                                  "This is a test using a larger than block-size key and a larger "
                                  "than block-size data. The key needs to be hashed before being "
                                  "used by the HMAC algorithm.")) ==
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

BOOST_AUTO_TEST_SUITE_END()
