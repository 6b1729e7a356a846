// A streaming CSV reader (RFC 4180: quoted fields, doubled quotes, CRLF, line breaks inside
// quotes): one record at a time, memory bounded by the longest record, whatever the file size.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace crm_core::tool {

struct CsvRecord {
    std::vector<std::string> fields;
    std::uint64_t line = 0;  // the physical line (1-based) where the record starts
    std::string problem;     // set when the record is malformed (an unterminated quote)
};

class CsvReader {
  public:
    // Records longer than max_record_bytes are cut and reported malformed.
    explicit CsvReader(std::istream& in, std::size_t max_record_bytes = 1 << 20);

    // Reads the next record; false at the end of the input. Blank lines are skipped.
    bool next(CsvRecord& record);

    // Bytes consumed so far (for progress).
    std::uint64_t bytes_read() const { return bytes_; }

  private:
    int get();

    std::istream& in_;
    std::size_t max_record_bytes_;
    std::uint64_t line_ = 1;
    std::uint64_t bytes_ = 0;
    bool first_ = true;
};

}  // namespace crm_core::tool
