#include "crm_core/version_order.hpp"

#include <algorithm>

namespace crm_core {

namespace {

bool all_digits(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    for (char ch : text) {
        if (ch < '0' || ch > '9') {
            return false;
        }
    }
    return true;
}

// Compares two parts: numerically when both are digits (leading zeros ignored), else as text.
int compare_part(std::string_view a, std::string_view b) {
    if (all_digits(a) && all_digits(b)) {
        a.remove_prefix(std::min(a.find_first_not_of('0'), a.size() - 1));
        b.remove_prefix(std::min(b.find_first_not_of('0'), b.size() - 1));
        if (a.size() != b.size()) {
            return a.size() < b.size() ? -1 : 1;
        }
    }
    int order = a.compare(b);
    return order < 0 ? -1 : (order > 0 ? 1 : 0);
}

// The part before the next dot; removes it (and the dot) from text.
std::string_view next_part(std::string_view& text) {
    auto dot = text.find('.');
    std::string_view part = text.substr(0, dot);
    text.remove_prefix(dot == std::string_view::npos ? text.size() : dot + 1);
    return part;
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) noexcept {
    while (!a.empty() || !b.empty()) {
        // A missing part counts as 0: 1.2 equals 1.2.0.
        std::string_view left = a.empty() ? std::string_view("0") : next_part(a);
        std::string_view right = b.empty() ? std::string_view("0") : next_part(b);
        if (int order = compare_part(left, right); order != 0) {
            return order;
        }
    }
    return 0;
}

}  // namespace crm_core
