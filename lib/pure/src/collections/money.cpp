#include "collections/money.hpp"

#include <limits>

namespace crm_core::collections {

std::optional<Minor> to_minor(std::string_view decimal, int fraction_digits,
                              AmountProblem& problem) {
    problem = AmountProblem::none;
    bool negative = false;
    std::size_t at = 0;
    if (at < decimal.size() && (decimal[at] == '-' || decimal[at] == '+')) {
        negative = decimal[at] == '-';
        ++at;
    }
    constexpr Minor kMax = std::numeric_limits<Minor>::max();
    Minor value = 0;
    int digits_seen = 0;
    int decimals = -1;  // -1: before the point
    for (; at < decimal.size(); ++at) {
        char c = decimal[at];
        if (c == '.' && decimals < 0) {
            decimals = 0;
            continue;
        }
        if (c < '0' || c > '9') {
            problem = AmountProblem::not_a_number;
            return std::nullopt;
        }
        ++digits_seen;
        if (decimals >= 0) {
            ++decimals;
            if (decimals > fraction_digits) {
                if (c != '0') {
                    problem = AmountProblem::too_precise;
                    return std::nullopt;
                }
                continue;
            }
        }
        if (value > (kMax - (c - '0')) / 10) {
            problem = AmountProblem::out_of_range;
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    if (digits_seen == 0) {
        problem = AmountProblem::not_a_number;
        return std::nullopt;
    }
    for (int missing = fraction_digits - (decimals < 0 ? 0 : decimals); missing > 0; --missing) {
        if (value > kMax / 10) {
            problem = AmountProblem::out_of_range;
            return std::nullopt;
        }
        value *= 10;
    }
    return negative ? -value : value;
}

std::string from_minor(Minor amount, int fraction_digits) {
    bool negative = amount < 0;
    // Work on the unsigned magnitude: -INT64_MIN does not fit an int64.
    std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(amount) : static_cast<std::uint64_t>(amount);
    std::string digits = std::to_string(magnitude);
    if (fraction_digits > 0) {
        if (digits.size() <= static_cast<std::size_t>(fraction_digits)) {
            digits.insert(0, static_cast<std::size_t>(fraction_digits) + 1 - digits.size(), '0');
        }
        digits.insert(digits.size() - static_cast<std::size_t>(fraction_digits), ".");
    }
    return negative ? "-" + digits : digits;
}

}  // namespace crm_core::collections
