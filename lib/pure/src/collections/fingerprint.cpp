#include "collections/customer_identity.hpp"

#include "crm_core/hmac.hpp"

namespace crm_core::collections {

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

std::optional<Digest> customer_fingerprint(std::string_view key,
                                           const std::optional<std::string>& e164,
                                           const std::optional<std::string>& national_id) {
    std::string id = national_id ? normalize_national_id(*national_id) : std::string();
    std::string phone = e164 ? *e164 : std::string();
    if (id.empty() && phone.empty()) {
        return std::nullopt;
    }
    // Versioned and separated so that no phone/id pair can collide with another.
    std::string message = "crm_collections customer v1\n";
    message += phone;
    message += '\n';
    message += id;
    return hmac_sha256(key, message);
}

}  // namespace crm_core::collections
