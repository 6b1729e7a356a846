// The version of the crm_core library; the SQL side must match it.
#pragma once

namespace crm_core {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace crm_core
