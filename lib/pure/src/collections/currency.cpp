// Currency decimals from ICU (the library PostgreSQL and libphonenumber already load).
#include "collections/money.hpp"

#include <unicode/ucurr.h>

namespace crm_core::collections {

std::optional<int> currency_fraction_digits(std::string_view currency) {
    if (currency.size() != 3) {
        return std::nullopt;
    }
    UChar code[4] = {0, 0, 0, 0};
    for (std::size_t i = 0; i < 3; ++i) {
        if (currency[i] < 'A' || currency[i] > 'Z') {
            return std::nullopt;
        }
        code[i] = static_cast<UChar>(currency[i]);
    }
    UErrorCode status = U_ZERO_ERROR;
    int32_t digits = ucurr_getDefaultFractionDigits(code, &status);
    if (U_FAILURE(status) || digits < 0) {
        return std::nullopt;
    }
    return static_cast<int>(digits);
}

}  // namespace crm_core::collections
