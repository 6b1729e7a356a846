// SQLSTATE codes as PostgreSQL packs them into an int (MAKE_SQLSTATE), without postgres.h.
#pragma once

#include <string>
#include <string_view>

namespace crm_core {

// True when code is five characters, each a digit or an upper-case ASCII letter.
bool is_valid_sqlstate(std::string_view code) noexcept;

// Packs a five-character SQLSTATE the way PostgreSQL's MAKE_SQLSTATE does; -1 if invalid.
int pack_sqlstate(std::string_view code) noexcept;

// Turns a packed SQLSTATE back into its five characters.
std::string unpack_sqlstate(int packed);

}  // namespace crm_core
