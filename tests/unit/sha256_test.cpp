#include <boost/test/unit_test.hpp>

#include <string>

#include "crm_core/sha256.hpp"

BOOST_AUTO_TEST_SUITE(sha256)

using crm_core::sha256;
using crm_core::to_hex;

// FIPS 180-4 / NIST CSRC example vectors.
BOOST_AUTO_TEST_CASE(known_vectors) {
    BOOST_TEST(to_hex(sha256("")) ==
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    BOOST_TEST(to_hex(sha256("abc")) ==
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    BOOST_TEST(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    BOOST_TEST(to_hex(sha256("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                             "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")) ==
               "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    BOOST_TEST(to_hex(sha256(std::string(1000000, 'a'))) ==
               "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Feeding in uneven pieces (across the 55/56/64-byte padding edges) gives the one-shot digest.
BOOST_AUTO_TEST_CASE(incremental_equals_one_shot) {
    for (std::size_t length : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 1000u}) {
        std::string message(length, 'x');
        for (std::size_t i = 0; i < length; ++i) {
            message[i] = static_cast<char>('a' + i % 26);
        }
        for (std::size_t piece : {1u, 3u, 7u, 64u, 100u}) {
            crm_core::Sha256 hash;
            for (std::size_t at = 0; at < length; at += piece) {
                hash.update(std::string_view(message).substr(at, piece));
            }
            BOOST_TEST(to_hex(hash.finish()) == to_hex(sha256(message)));
        }
    }
}

BOOST_AUTO_TEST_CASE(hex_round_trip) {
    crm_core::Digest digest{};
    std::string hex = to_hex(sha256("abc"));
    BOOST_TEST(crm_core::digest_from_hex(hex, digest));
    BOOST_TEST(to_hex(digest) == hex);
    BOOST_TEST(crm_core::digest_from_hex(
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", digest));
    BOOST_TEST(to_hex(digest) == hex);
    BOOST_TEST(!crm_core::digest_from_hex(hex.substr(1), digest));
    BOOST_TEST(!crm_core::digest_from_hex("zz" + hex.substr(2), digest));
}

BOOST_AUTO_TEST_SUITE_END()
