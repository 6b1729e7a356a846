// Phone numbers in E.164 through libphonenumber, for every extension that stores them
// (crm_collections, crm_erp). Built from lib/pure/src/phone only into the libraries that link
// libphonenumber (OWN_PURE_DIRS = phone); crm_core does not.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crm_core {

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

}  // namespace crm_core
