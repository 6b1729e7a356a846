// The order of release versions such as 0.1.0 < 0.2.0 < 0.10.0: dot-separated parts compared as
// numbers when both are digits, as text otherwise. Used to tell which side of a version mismatch
// is behind (the shared library or the installed SQL objects).
#pragma once

#include <string_view>

namespace crm_core {

// Negative when a is older than b, zero when equal, positive when newer.
int compare_versions(std::string_view a, std::string_view b) noexcept;

}  // namespace crm_core
