#include "crm_core/decimal.hpp"

#include <algorithm>
#include <cstring>

namespace crm_core::decimal {

namespace {

// numeric's storage (PostgreSQL src/backend/utils/adt/numeric.c): a 16-bit header whose two top
// bits say positive, negative, short or special (NaN, infinities). The short form packs sign,
// display scale and weight into the header; the long form has the sign and scale in it and a
// 16-bit weight after it. Then base-10000 digits, most significant first: the first digit is
// multiplied by 10000^weight.
constexpr std::uint16_t kSignMask = 0xC000;
constexpr std::uint16_t kNegative = 0x4000;
constexpr std::uint16_t kShort = 0x8000;
constexpr std::uint16_t kSpecial = 0xC000;
constexpr std::uint16_t kShortNegative = 0x2000;
constexpr std::uint16_t kShortScaleMask = 0x1F80;
constexpr int kShortScaleShift = 7;
constexpr std::uint16_t kShortWeightNegative = 0x0040;
constexpr std::uint16_t kShortWeightMask = 0x003F;
constexpr std::uint16_t kLongScaleMask = 0x3FFF;
constexpr int kShortScaleMax = 63;
constexpr int kShortWeightMax = 63;
constexpr int kShortWeightMin = -64;
constexpr int kDigitBase = 10000;
constexpr int kDecimalDigitsPerDigit = 4;

using Unsigned = unsigned __int128;

constexpr Unsigned compute_power_of_ten(int exponent) {
    Unsigned result = 1;
    for (int i = 0; i < exponent; ++i) {
        result *= 10;
    }
    return result;
}

struct PowersOfTen {
    Unsigned values[38];
    constexpr PowersOfTen() : values() {
        for (int i = 0; i < 38; ++i) {
            values[i] = compute_power_of_ten(i);
        }
    }
};
constexpr PowersOfTen kPowers;

// 10^exponent for 0 <= exponent <= 37.
constexpr Unsigned power_of_ten(int exponent) {
    return kPowers.values[exponent];
}

// |units| stays below 10^34: room for the encoder's three padding digits in 128 bits.
constexpr Unsigned kLimit = power_of_ten(kMaxScale);

// 10^(34 - exponent): a magnitude at or above it leaves the range when multiplied by
// 10^exponent (a table: 128-bit division is a library call).
constexpr Unsigned limit_before_scaling(int exponent) {
    return power_of_ten(kMaxScale - exponent);
}

std::uint16_t read_u16(const unsigned char* at) noexcept {
    std::uint16_t value = 0;
    std::memcpy(&value, at, sizeof value);
    return value;
}

Unsigned magnitude(__int128 units) noexcept {
    return units < 0 ? Unsigned(0) - static_cast<Unsigned>(units) : static_cast<Unsigned>(units);
}

// units scaled from scale to the larger target scale; std::nullopt when out of range.
std::optional<__int128> rescaled(const Decimal& value, int target) noexcept {
    int exponent = target - value.scale;
    if (exponent == 0) {
        return value.units;
    }
    if (magnitude(value.units) >= limit_before_scaling(exponent)) {
        return std::nullopt;
    }
    return value.units * static_cast<__int128>(power_of_ten(exponent));
}

}  // namespace

std::optional<Decimal> decode(const unsigned char* payload, std::size_t size) noexcept {
    if (size < sizeof(std::uint16_t)) {
        return std::nullopt;
    }
    std::uint16_t header = read_u16(payload);
    std::uint16_t form = header & kSignMask;
    bool negative = false;
    int scale = 0, weight = 0;
    std::size_t offset = sizeof(std::uint16_t);
    if (form == kSpecial) {
        return std::nullopt;
    }
    if (form == kShort) {
        negative = (header & kShortNegative) != 0;
        scale = (header & kShortScaleMask) >> kShortScaleShift;
        weight = (header & kShortWeightMask) - ((header & kShortWeightNegative) != 0 ? 64 : 0);
    } else {
        if (size < 2 * sizeof(std::uint16_t)) {
            return std::nullopt;
        }
        negative = form == kNegative;
        scale = header & kLongScaleMask;
        weight = static_cast<std::int16_t>(read_u16(payload + offset));
        offset += sizeof(std::uint16_t);
    }
    if ((size - offset) % sizeof(std::uint16_t) != 0 || scale > kMaxScale) {
        return std::nullopt;
    }
    std::size_t digits = (size - offset) / sizeof(std::uint16_t);
    if (digits == 0) {
        return Decimal{0, scale};
    }
    // The digits as one integer (Horner), then scaled: the last digit counts 10000^(weight -
    // digits + 1), units count 10^-scale. Up to four digits fit 64 bits, the common case.
    std::uint64_t small = 0;
    Unsigned units = 0;
    bool wide = digits > 4;
    for (std::size_t i = 0; i < digits; ++i) {
        auto digit = static_cast<std::int16_t>(read_u16(payload + offset + i * 2));
        if (digit < 0 || digit >= kDigitBase) {
            return std::nullopt;
        }
        if (!wide) {
            small = small * kDigitBase + static_cast<std::uint64_t>(digit);
        } else {
            if (units >= kLimit) {
                return std::nullopt;
            }
            units = units * kDigitBase + static_cast<Unsigned>(digit);
        }
    }
    if (!wide) {
        units = small;
    }
    long exponent =
        static_cast<long>(kDecimalDigitsPerDigit) * (weight - static_cast<long>(digits) + 1) +
        scale;
    if (exponent >= 0) {
        if (exponent >= kMaxScale || units >= limit_before_scaling(static_cast<int>(exponent))) {
            return std::nullopt;
        }
        units *= power_of_ten(static_cast<int>(exponent));
    } else {
        // Digits beyond the display scale are zero in what PostgreSQL stores; its last digit
        // holds at most three places past the scale.
        if (exponent <= -kDecimalDigitsPerDigit) {
            return std::nullopt;
        }
        Unsigned divisor = power_of_ten(static_cast<int>(-exponent));
        if (units % divisor != 0) {
            return std::nullopt;
        }
        units /= divisor;
    }
    if (units >= kLimit) {
        return std::nullopt;
    }
    auto value = static_cast<__int128>(units);
    return Decimal{negative ? -value : value, scale};
}

std::optional<Decimal> add(const Decimal& a, const Decimal& b) noexcept {
    int scale = std::max(a.scale, b.scale);
    std::optional<__int128> left = rescaled(a, scale);
    std::optional<__int128> right = rescaled(b, scale);
    if (!left || !right) {
        return std::nullopt;
    }
    __int128 sum = *left + *right;  // each below 10^34: no overflow
    if (magnitude(sum) >= kLimit) {
        return std::nullopt;
    }
    return Decimal{sum, scale};
}

int compare(const Decimal& a, const Decimal& b) noexcept {
    int scale = std::max(a.scale, b.scale);
    std::optional<__int128> left = rescaled(a, scale);
    std::optional<__int128> right = rescaled(b, scale);
    if (left && right) {
        return *left < *right ? -1 : (*left > *right ? 1 : 0);
    }
    // Only the side with the smaller scale can leave the range when rescaled: it is then the
    // larger in magnitude, and its sign decides.
    if (!left) {
        return a.units < 0 ? -1 : 1;
    }
    return b.units < 0 ? 1 : -1;
}

std::size_t encode(const Decimal& value, unsigned char* out) noexcept {
    bool negative = value.units < 0;
    // Pad to whole base-10000 digits after the point: at most three decimal digits.
    int padding =
        (kDecimalDigitsPerDigit - value.scale % kDecimalDigitsPerDigit) % kDecimalDigitsPerDigit;
    Unsigned rest = magnitude(value.units) * power_of_ten(padding);
    int fraction_digits = (value.scale + padding) / kDecimalDigitsPerDigit;
    std::uint16_t digits[10];  // least significant first; below 10^37: ten digits
    int count = 0;
    while (rest > UINT64_MAX && count < 10) {
        digits[count++] = static_cast<std::uint16_t>(rest % kDigitBase);
        rest /= kDigitBase;
    }
    for (auto small = static_cast<std::uint64_t>(rest); small != 0 && count < 10;
         small /= kDigitBase) {
        digits[count++] = static_cast<std::uint16_t>(small % kDigitBase);
    }
    int weight = count - 1 - fraction_digits;
    // Trailing zero digits are dropped (the scale keeps the display), as make_result() does.
    int first = 0;
    while (first < count && digits[first] == 0) {
        ++first;
    }
    if (first == count) {  // zero: no digits, weight 0, positive
        count = first = weight = 0;
        negative = false;
    }
    std::size_t size = 0;
    auto put = [&](std::uint16_t word) {
        std::memcpy(out + size, &word, sizeof word);
        size += sizeof word;
    };
    if (value.scale <= kShortScaleMax && weight <= kShortWeightMax && weight >= kShortWeightMin) {
        put(static_cast<std::uint16_t>(
            kShort | (negative ? kShortNegative : 0) | (value.scale << kShortScaleShift) |
            (weight < 0 ? kShortWeightNegative : 0) | (weight & kShortWeightMask)));
    } else {
        put(static_cast<std::uint16_t>((negative ? kNegative : 0) |
                                       (value.scale & kLongScaleMask)));
        put(static_cast<std::uint16_t>(static_cast<std::int16_t>(weight)));
    }
    for (int i = count; i > first; --i) {
        put(digits[i - 1]);
    }
    return size;
}

}  // namespace crm_core::decimal
