// Money in a currency's minor units (cents for EUR, yen for JPY): exact integer arithmetic for
// allocations and schedules, and the conversions to and from decimal text at the boundary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crm_core::collections {

// An amount in minor units of its currency.
using Minor = std::int64_t;

// Why a decimal text is not an amount of a currency.
enum class AmountProblem { none, not_a_number, too_precise, out_of_range };

// Reads a decimal ("-12.50", "7", "3.100") as minor units of a currency with fraction_digits
// decimals. Trailing zeros past those decimals are fine; anything else there is too_precise.
// NaN, infinities, exponents and empty text are not_a_number.
std::optional<Minor> to_minor(std::string_view decimal, int fraction_digits,
                              AmountProblem& problem);

// Minor units back to decimal text with exactly fraction_digits decimals ("-12.50").
std::string from_minor(Minor amount, int fraction_digits);

// The number of decimals of an ISO 4217 currency (2 for EUR, 0 for JPY, 3 for BHD), from
// ICU's currency data; std::nullopt when the code is not three upper-case letters.
std::optional<int> currency_fraction_digits(std::string_view currency);

}  // namespace crm_core::collections
