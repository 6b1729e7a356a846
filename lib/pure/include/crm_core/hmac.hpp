// HMAC-SHA-256 (RFC 2104): a keyed hash, for values that must not be recomputable by whoever
// can guess the input (customer fingerprints over phone numbers and national ids).
#pragma once

#include <string_view>

#include "crm_core/sha256.hpp"

namespace crm_core {

// HMAC-SHA-256 of message under key (any length; keys longer than a block are hashed first).
Digest hmac_sha256(std::string_view key, std::string_view message);

}  // namespace crm_core
