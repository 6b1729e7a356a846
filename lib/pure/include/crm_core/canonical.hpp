// Canonical encodings: a row as unambiguous bytes for hashing (its format is frozen: a change
// would break every sealed block), and changed columns as a JSON object for the audit trail.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crm_core {

// One column of a row: its name and its value's text form (std::nullopt for SQL NULL).
struct Field {
    std::string name;
    std::optional<std::string> value;
};

// Version byte that starts every canonical row; bump it only together with a new decoder path.
inline constexpr unsigned char kCanonicalRowVersion = 1;

// Encodes a row of kind (e.g. "journal_line") as bytes: version, then every string as a
// 4-byte big-endian length and its bytes, fields in the order given, NULL distinct from ''.
std::string encode_row(std::string_view kind, const std::vector<Field>& fields);

// A JSON string literal for text (RFC 8259 escaping; UTF-8 passes through unchanged).
std::string json_string(std::string_view text);

// A JSON object {"name": "value" | null, ...} in the order given; values stay text so that
// numerics keep their exact digits.
std::string json_object(const std::vector<Field>& fields);

}  // namespace crm_core
