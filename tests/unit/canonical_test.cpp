#include <boost/test/unit_test.hpp>

#include "crm_core/canonical.hpp"
#include "crm_core/seal.hpp"
#include "crm_core/sha256.hpp"

BOOST_AUTO_TEST_SUITE(canonical)

using crm_core::encode_row;
using crm_core::Field;
using crm_core::to_hex;

// The encoding is frozen: sealed blocks in production depend on these exact bytes.
BOOST_AUTO_TEST_CASE(row_encoding_is_pinned) {
    std::string encoded = encode_row("journal_line", {{"id", "7"}, {"memo", std::nullopt}});
    BOOST_TEST(to_hex(encoded) ==
               "01"                                // version
               "0000000c6a6f75726e616c5f6c696e65"  // "journal_line"
               "00000002"                          // two fields
               "000000026964"
               "01"
               "0000000137"  // id = "7"
               "000000046d656d6f"
               "00");  // memo = NULL
    BOOST_TEST(to_hex(crm_core::row_hash(encoded)) ==
               "a7d7d05757d0989dad85eabf50aefbcfb8d5aa46df453a6c74925ccf0a0ae64d");
}

// Values that could collide under a naive join encoding stay distinct.
BOOST_AUTO_TEST_CASE(encoding_is_unambiguous) {
    BOOST_TEST(encode_row("t", {{"a", "bc"}}) != encode_row("t", {{"ab", "c"}}));
    BOOST_TEST(encode_row("t", {{"a", ""}}) != encode_row("t", {{"a", std::nullopt}}));
    BOOST_TEST(encode_row("t", {{"a", "1"}, {"b", "2"}}) !=
               encode_row("t", {{"b", "2"}, {"a", "1"}}));
    BOOST_TEST(encode_row("t1", {}) != encode_row("t", {{"1", std::nullopt}}));
}

// A column added after rows were sealed changes no old hash while it is NULL, and is sealed
// (any change shows) once set.
BOOST_AUTO_TEST_CASE(added_columns_are_sealed_only_when_set) {
    std::vector<Field> before{{"id", "7"}, {"memo", std::nullopt}};
    std::vector<Field> unset{{"id", "7"}, {"memo", std::nullopt}, {"subledger", std::nullopt}};
    std::vector<Field> set{{"id", "7"}, {"memo", std::nullopt}, {"subledger", "501"}};
    auto sealed = [](const std::vector<Field>& fields) {
        return encode_row("journal_line", crm_core::fields_to_seal(fields, {"subledger"}));
    };
    BOOST_TEST(sealed(unset) == encode_row("journal_line", before));
    BOOST_TEST(sealed(set) != encode_row("journal_line", before));
    BOOST_TEST(sealed(set) != sealed({{"id", "7"}, {"memo", std::nullopt}, {"subledger", "502"}}));
    BOOST_TEST(sealed(before) == encode_row("journal_line", before),
               "a NULL column that was always there stays encoded");
    BOOST_TEST(crm_core::fields_to_seal(before, {"subledger"}).size() == 2U);
}

BOOST_AUTO_TEST_CASE(json_escapes_and_keeps_text) {
    BOOST_TEST(crm_core::json_object({{"amount", "10.50"}, {"note", std::nullopt}}) ==
               R"({"amount": "10.50", "note": null})");
    BOOST_TEST(crm_core::json_string("a\"b\\c\nd\x01") == R"("a\"b\\c\nd\u0001")");
    BOOST_TEST(crm_core::json_string("é") == "\"é\"");
    BOOST_TEST(crm_core::json_object({}) == "{}");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(seal)

using crm_core::block_hash;
using crm_core::Digest;
using crm_core::kGenesisHash;

// Pinned so a change to the block format is caught before it breaks deployed chains.
BOOST_AUTO_TEST_CASE(block_hash_is_pinned) {
    std::vector<Digest> rows = {crm_core::sha256("a"), crm_core::sha256("b")};
    BOOST_TEST(crm_core::to_hex(block_hash(kGenesisHash, 1, 1, rows)) ==
               "66bba08336af04b5c82e8bd23838ab891769e10289efc1828da8eb80cbe54185");
    BOOST_TEST(crm_core::to_hex(block_hash(kGenesisHash, 1, 1, {})) ==
               "fa27a6bed84c3f186afe7ac2b371a57df2646e73447f87d0457b31a14d31ed5b");
}

// Every input of a block hash matters: previous hash, business, number, order, content.
BOOST_AUTO_TEST_CASE(block_hash_covers_every_input) {
    std::vector<Digest> rows = {crm_core::sha256("a"), crm_core::sha256("b")};
    Digest base = block_hash(kGenesisHash, 1, 1, rows);
    Digest other_previous = crm_core::sha256("x");
    BOOST_TEST(crm_core::to_hex(block_hash(other_previous, 1, 1, rows)) != crm_core::to_hex(base));
    BOOST_TEST(crm_core::to_hex(block_hash(kGenesisHash, 2, 1, rows)) != crm_core::to_hex(base));
    BOOST_TEST(crm_core::to_hex(block_hash(kGenesisHash, 1, 2, rows)) != crm_core::to_hex(base));
    std::vector<Digest> reordered = {rows[1], rows[0]};
    BOOST_TEST(crm_core::to_hex(block_hash(kGenesisHash, 1, 1, reordered)) !=
               crm_core::to_hex(base));
    std::vector<Digest> fewer = {rows[0]};
    BOOST_TEST(crm_core::to_hex(block_hash(kGenesisHash, 1, 1, fewer)) != crm_core::to_hex(base));
}

BOOST_AUTO_TEST_CASE(digest_round_trips_sorted) {
    Digest a = crm_core::sha256("a");
    Digest b = crm_core::sha256("b");
    std::string text = crm_core::format_digest({{20, 3, b}, {7, 12, a}});
    BOOST_TEST(text ==
               "crm_core-ledger-v1 7:12:" + crm_core::to_hex(a) + " 20:3:" + crm_core::to_hex(b));
    auto heads = crm_core::parse_digest(text);
    BOOST_TEST_REQUIRE(heads.size() == 2u);
    BOOST_TEST(heads[0].business_id == 7);
    BOOST_TEST(heads[0].block_no == 12);
    BOOST_TEST(crm_core::to_hex(heads[1].hash) == crm_core::to_hex(b));
    BOOST_TEST(crm_core::parse_digest("crm_core-ledger-v1").empty());
}

BOOST_AUTO_TEST_CASE(digest_rejects_garbage) {
    std::string hex = crm_core::to_hex(crm_core::sha256("a"));
    BOOST_CHECK_THROW(crm_core::parse_digest(""), std::invalid_argument);
    BOOST_CHECK_THROW(crm_core::parse_digest("other 1:1:" + hex), std::invalid_argument);
    BOOST_CHECK_THROW(crm_core::parse_digest("crm_core-ledger-v1 1:" + hex), std::invalid_argument);
    BOOST_CHECK_THROW(crm_core::parse_digest("crm_core-ledger-v1 x:1:" + hex),
                      std::invalid_argument);
    BOOST_CHECK_THROW(crm_core::parse_digest("crm_core-ledger-v1 1:1:abc"), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
