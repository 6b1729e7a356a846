#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "crm_core/decimal.hpp"

using namespace crm_core::decimal;

namespace {

// A numeric payload as PostgreSQL stores it: header words, then base-10000 digits.
std::vector<unsigned char> payload(std::vector<std::uint16_t> words) {
    std::vector<unsigned char> bytes(words.size() * 2);
    std::memcpy(bytes.data(), words.data(), bytes.size());
    return bytes;
}

std::optional<Decimal> read(const std::vector<unsigned char>& bytes) {
    return decode(bytes.data(), bytes.size());
}

std::vector<unsigned char> written(const Decimal& value) {
    unsigned char out[kMaxEncodedSize];
    std::size_t size = encode(value, out);
    return std::vector<unsigned char>(out, out + size);
}

bool same(const std::optional<Decimal>& value, __int128 units, int scale) {
    return value && value->units == units && value->scale == scale;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(decimal)

// Short headers: 0x8000, sign 0x2000, display scale << 7, weight in the low seven bits.
BOOST_AUTO_TEST_CASE(short_numerics_decode_to_units_of_their_scale) {
    BOOST_TEST(same(read(payload({0x8000, 10})), 10, 0));                         // 10
    BOOST_TEST(same(read(payload({0x8100, 100, 5000})), 10050, 2));               // 100.50
    BOOST_TEST(same(read(payload({0x8000 | 0x2000 | 0x200 | 0x7F, 1})), -1, 4));  // -0.0001
    BOOST_TEST(same(read(payload({0x8081, 1234, 5678, 9000})), 123456789, 1));    // 12345678.9
    BOOST_TEST(same(read(payload({0x8000})), 0, 0));                              // 0
    BOOST_TEST(same(read(payload({0x8100})), 0, 2));                              // 0.00
    BOOST_TEST(same(read(payload({0x8001, 1})), 10000, 0));                       // 10000
}

BOOST_AUTO_TEST_CASE(long_numerics_decode_too) {
    // 10000 with scale 0, long form: sign and scale word, then the weight word.
    BOOST_TEST(same(read(payload({0x0000, 1, 1})), 10000, 0));
    // -2.5 with scale 1.
    BOOST_TEST(same(read(payload({0x4001, 0, 2, 5000})), -25, 1));
}

BOOST_AUTO_TEST_CASE(what_does_not_fit_is_left_to_postgresql) {
    BOOST_TEST(!read(payload({0xC000})).has_value());                 // NaN
    BOOST_TEST(!read(payload({0xD000})).has_value());                 // +Infinity
    BOOST_TEST(!read(payload({0xF000})).has_value());                 // -Infinity
    BOOST_TEST(!read(payload({0x8009, 1})).has_value());              // 10^36: too large
    BOOST_TEST(!read(payload({0x8000, 10000})).has_value());          // not a base-10000 digit
    BOOST_TEST(!read(payload({0x8000 | (40 << 7), 1})).has_value());  // scale above 34
    BOOST_TEST(!read(payload({0x8080, 1, 1234})).has_value());        // a digit beyond the scale
    std::vector<unsigned char> odd{0x00};
    BOOST_TEST(!read(odd).has_value());
}

BOOST_AUTO_TEST_CASE(sums_take_the_larger_scale_as_numeric_add_does) {
    auto sum = add(Decimal{1050, 2}, Decimal{1, 0});  // 10.50 + 1 = 11.50
    BOOST_TEST(same(sum, 1150, 2));
    BOOST_TEST(same(add(Decimal{-25, 1}, Decimal{25, 1}), 0, 1));  // -2.5 + 2.5 = 0.0
    __int128 near_limit = 1;
    for (int i = 0; i < 33; ++i) {
        near_limit *= 10;
    }
    BOOST_TEST(!add(Decimal{near_limit * 9, 0}, Decimal{near_limit * 2, 0}).has_value());
    BOOST_TEST(!add(Decimal{near_limit, 0}, Decimal{1, 1}).has_value());  // rescaled out
}

BOOST_AUTO_TEST_CASE(comparison_is_exact_across_scales) {
    BOOST_TEST(compare(Decimal{100, 0}, Decimal{10000, 2}) == 0);
    BOOST_TEST(compare(Decimal{99, 0}, Decimal{9901, 2}) == -1);
    BOOST_TEST(compare(Decimal{-1, 0}, Decimal{-101, 2}) == 1);
    __int128 big = 1;
    for (int i = 0; i < 33; ++i) {
        big *= 10;
    }
    BOOST_TEST(compare(Decimal{big, 0}, Decimal{1, 5}) == 1);  // big cannot be rescaled
    BOOST_TEST(compare(Decimal{-big, 0}, Decimal{1, 5}) == -1);
    BOOST_TEST(compare(Decimal{1, 5}, Decimal{big, 0}) == -1);
}

BOOST_AUTO_TEST_CASE(encoding_writes_what_postgresql_writes) {
    BOOST_TEST((written(Decimal{10, 0}) == payload({0x8000, 10})));
    BOOST_TEST((written(Decimal{10050, 2}) == payload({0x8100, 100, 5000})));
    BOOST_TEST((written(Decimal{-1, 4}) == payload({0xA27F, 1})));
    BOOST_TEST((written(Decimal{123456789, 1}) == payload({0x8081, 1234, 5678, 9000})));
    BOOST_TEST((written(Decimal{0, 2}) == payload({0x8100})));         // zero: no digits, weight 0
    BOOST_TEST((written(Decimal{10000, 0}) == payload({0x8001, 1})));  // trailing zeros dropped
    BOOST_TEST((written(Decimal{-25, 1}) == payload({0xA080, 2, 5000})));  // -2.5
}

BOOST_AUTO_TEST_CASE(the_largest_values_fit_the_buffer) {
    __int128 largest = 1;
    for (int i = 0; i < kMaxScale; ++i) {
        largest *= 10;
    }
    largest -= 1;  // 34 nines
    for (int scale : {0, 1, 2, 3, 32, 33, 34}) {
        std::vector<unsigned char> bytes = written(Decimal{-largest, scale});
        BOOST_TEST(bytes.size() <= kMaxEncodedSize);
        BOOST_TEST(same(decode(bytes.data(), bytes.size()), -largest, scale));
    }
}

BOOST_AUTO_TEST_CASE(decoding_what_was_encoded_gives_the_value_back) {
    for (__int128 units :
         {__int128(0), __int128(1), __int128(-7), __int128(123456789012345), __int128(-99999999)}) {
        for (int scale : {0, 1, 2, 3, 4, 5, 8, 9, 20}) {
            std::vector<unsigned char> bytes = written(Decimal{units, scale});
            BOOST_TEST(same(decode(bytes.data(), bytes.size()), units, scale));
        }
    }
}

BOOST_AUTO_TEST_CASE(small_values_take_a_negative_weight_in_the_short_header) {
    // 0.00001: weight -2 (0x40 sign bit, 0x3E), scale 5, one digit 1000.
    BOOST_TEST((written(Decimal{1, 5}) == payload({0x8000 | (5 << 7) | 0x40 | 0x3E, 1000})));
    BOOST_TEST(same(read(payload({0x8000 | (5 << 7) | 0x40 | 0x3E, 1000})), 1, 5));
    // 10^-34, the smallest value of the fast path: weight -9, digit 100 (0.0001^8 * 0.01).
    std::vector<unsigned char> tiny = written(Decimal{1, kMaxScale});
    BOOST_TEST(same(decode(tiny.data(), tiny.size()), 1, kMaxScale));
    auto header = static_cast<std::uint16_t>(0x8000 | (34 << 7) | 0x40 | (-9 & 0x3F));
    BOOST_TEST((tiny == payload({header, 100})));
}

BOOST_AUTO_TEST_CASE(sums_stop_exactly_at_the_limit) {
    __int128 limit = 1;
    for (int i = 0; i < kMaxScale; ++i) {
        limit *= 10;
    }
    BOOST_TEST(same(add(Decimal{limit - 2, 0}, Decimal{1, 0}), limit - 1, 0));
    BOOST_TEST(!add(Decimal{limit - 1, 0}, Decimal{1, 0}).has_value());
    BOOST_TEST(!add(Decimal{-(limit - 1), 0}, Decimal{-1, 0}).has_value());
    BOOST_TEST(same(add(Decimal{-(limit - 1), 0}, Decimal{limit - 1, 0}), 0, 0));
    // A negative sum that reaches zero is written as PostgreSQL's positive zero, scale kept.
    BOOST_TEST((written(*add(Decimal{-5, 3}, Decimal{5, 3})) == payload({0x8000 | (3 << 7)})));
}

BOOST_AUTO_TEST_CASE(trailing_zero_digits_are_not_written) {
    // 10000.0: units 100000 at scale 1; PostgreSQL stores the one digit 1 with weight 1.
    BOOST_TEST((written(Decimal{100000, 1}) == payload({0x8000 | (1 << 7) | 1, 1})));
    // 10^30: one digit 100 with weight 7.
    __int128 big = 1;
    for (int i = 0; i < 30; ++i) {
        big *= 10;
    }
    BOOST_TEST((written(Decimal{big, 0}) == payload({0x8007, 100})));
}

BOOST_AUTO_TEST_SUITE_END()
