#include "crm_core/national_id.hpp"

namespace crm_core {

std::string normalize_national_id(std::string_view national_id) {
    std::string normalized;
    normalized.reserve(national_id.size());
    for (char c : national_id) {
        auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
            normalized.push_back(c);
        } else if (c >= 'a' && c <= 'z') {
            normalized.push_back(static_cast<char>(c - 'a' + 'A'));
        }
    }
    return normalized;
}

}  // namespace crm_core
