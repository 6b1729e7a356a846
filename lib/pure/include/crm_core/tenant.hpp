// Pure tenant rules: reading the business a session declares in crm_core.business_id.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace crm_core::tenant {

// What a crm_core.business_id setting says.
struct BusinessSetting {
    // False when the text is not a business id (the setting is then refused, never ignored).
    bool valid = true;
    // The declared business; std::nullopt when none is set (an empty or unset setting).
    std::optional<std::int64_t> business_id;
};

// Reads a crm_core.business_id setting: empty (or only blanks) means no business; otherwise a
// whole number in bigint range, optionally signed and surrounded by blanks, as PostgreSQL's
// bigint input accepts it. Anything else (fractions, letters, two numbers) is invalid.
BusinessSetting parse_business_setting(std::string_view text) noexcept;

}  // namespace crm_core::tenant
