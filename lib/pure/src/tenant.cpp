#include "crm_core/tenant.hpp"

#include <limits>

namespace crm_core::tenant {

namespace {

bool is_blank(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

}  // namespace

BusinessSetting parse_business_setting(std::string_view text) noexcept {
    while (!text.empty() && is_blank(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_blank(text.back())) {
        text.remove_suffix(1);
    }
    if (text.empty()) {
        return {true, std::nullopt};
    }
    bool negative = text.front() == '-';
    if (negative || text.front() == '+') {
        text.remove_prefix(1);
    }
    if (text.empty()) {
        return {false, std::nullopt};
    }
    // Accumulate as a negative number: its range includes the bigint minimum.
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    std::int64_t value = 0;
    for (char ch : text) {
        if (ch < '0' || ch > '9') {
            return {false, std::nullopt};
        }
        int digit = ch - '0';
        if (value < (kMin + digit) / 10) {
            return {false, std::nullopt};
        }
        value = value * 10 - digit;
    }
    if (!negative) {
        if (value == kMin) {
            return {false, std::nullopt};
        }
        value = -value;
    }
    return {true, value};
}

}  // namespace crm_core::tenant
