// Who a customer is, for deduplication: the phone number in E.164 (crm_core/phone.hpp) and the
// national id, combined into a keyed fingerprint (HMAC-SHA-256) so that the dedup key reveals
// neither.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crm_core/sha256.hpp"

namespace crm_core::collections {

// The fingerprint of a customer: HMAC-SHA-256 under the database's key of the E.164 phone and
// the national id normalised by crm_core/national_id.hpp; std::nullopt when both are missing
// (nothing to match on).
std::optional<Digest> customer_fingerprint(std::string_view key,
                                           const std::optional<std::string>& e164,
                                           const std::optional<std::string>& national_id);

}  // namespace crm_core::collections
