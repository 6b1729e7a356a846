#include "collections/customer_identity.hpp"

#include "crm_core/hmac.hpp"
#include "crm_core/national_id.hpp"

namespace crm_core::collections {

std::optional<Digest> customer_fingerprint(std::string_view key,
                                           const std::optional<std::string>& e164,
                                           const std::optional<std::string>& national_id) {
    std::string id = national_id ? crm_core::normalize_national_id(*national_id) : std::string();
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
