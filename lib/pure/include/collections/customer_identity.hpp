// Who a customer is, for deduplication: the phone number in E.164 (libphonenumber, national
// numbers read in the business's country) and the national id, combined into a keyed
// fingerprint (HMAC-SHA-256) so that the dedup key reveals neither.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crm_core/sha256.hpp"

namespace crm_core::collections {

// A phone number as text, normalised to E.164 ("+33612345678"), or why it is not one.
struct PhoneNumber {
    std::optional<std::string> e164;
    std::string problem;  // set when e164 is empty
};

// Reads text as a phone number; a national number is read in region (ISO 3166 alpha-2, "FR").
// Accepts what libphonenumber finds possible for its country (a length it allows).
PhoneNumber normalize_phone(std::string_view text, std::string_view region);

// True when libphonenumber knows region (ISO 3166 alpha-2, upper case).
bool is_known_phone_region(std::string_view region);

// A national id as compared: letters upper-cased, spaces and punctuation dropped
// ("ab-123 456" and "AB123456" are the same id). Bytes outside ASCII are kept as they are.
std::string normalize_national_id(std::string_view national_id);

// The fingerprint of a customer: HMAC-SHA-256 under the database's key of the E.164 phone and
// the normalised national id; std::nullopt when both are missing (nothing to match on).
std::optional<Digest> customer_fingerprint(std::string_view key,
                                           const std::optional<std::string>& e164,
                                           const std::optional<std::string>& national_id);

}  // namespace crm_core::collections
