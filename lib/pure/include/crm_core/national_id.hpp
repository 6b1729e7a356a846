// A national id as every extension compares it (crm_collections' fingerprints, crm_erp's
// keyed hashes): the same id written two ways normalises to the same text.
#pragma once

#include <string>
#include <string_view>

namespace crm_core {

// Letters upper-cased, spaces and punctuation dropped ("ab-123 456" and "AB123456" are the
// same id). Only ASCII is folded; bytes outside ASCII are kept as they are, so the result does
// not depend on a locale.
std::string normalize_national_id(std::string_view national_id);

}  // namespace crm_core
