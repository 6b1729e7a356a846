// Raw import records as the database receives them (collections.import_row.raw): a CSV record
// under its header as a JSON object of text values, or a JSON line as it is. A record that
// cannot be read as its file says carries the reason under "_shape_error" (the row is then
// invalid, with that reason, instead of stopping the load).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "csv.hpp"

namespace crm_core::tool {

// {"header1": "value1", ...}; values beyond the header, a missing value or a malformed record
// add "_shape_error".
std::string csv_record_json(const std::vector<std::string>& header, const CsvRecord& record);

// The line when it is one JSON object; otherwise {"_shape_error": ..., "_line": the text}.
std::string json_line_record(std::string_view line);

// Replaces what PostgreSQL text cannot hold (bytes that are not UTF-8, NUL) by U+FFFD; true
// when it replaced something.
bool make_storable(std::string& text);

// True when text is exactly one JSON object (RFC 8259); error says what is wrong otherwise.
bool is_json_object(std::string_view text, std::string& error);

}  // namespace crm_core::tool
