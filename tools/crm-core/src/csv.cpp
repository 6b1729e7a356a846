#include "csv.hpp"

namespace crm_core::tool {

CsvReader::CsvReader(std::istream& in, std::size_t max_record_bytes)
    : in_(in), max_record_bytes_(max_record_bytes) {}

int CsvReader::get() {
    int c = in_.get();
    if (c != std::char_traits<char>::eof()) {
        ++bytes_;
    }
    return c;
}

bool CsvReader::next(CsvRecord& record) {
    constexpr int kEof = std::char_traits<char>::eof();
    record.fields.clear();
    record.problem.clear();
    if (first_) {
        first_ = false;
        // A UTF-8 byte order mark (spreadsheets write one) is not part of the first field.
        if (in_.peek() == 0xEF) {
            get();
            if (get() != 0xBB || get() != 0xBF) {
                record.problem = "the file starts with a broken byte order mark";
            }
        }
    }
    for (;;) {
        int c = in_.peek();
        if (c == kEof) {
            return false;
        }
        if (c == '\n' || c == '\r') {  // blank line
            get();
            if (c == '\r' && in_.peek() == '\n') {
                get();
            }
            ++line_;
            continue;
        }
        break;
    }
    record.line = line_;
    std::string field;
    std::size_t size = 0;
    bool quoted = false;
    bool was_quoted = false;
    for (;;) {
        int c = get();
        if (c == kEof) {
            if (quoted) {
                record.problem = "a quoted field is not closed before the end of the file";
            }
            record.fields.push_back(std::move(field));
            return true;
        }
        if (++size > max_record_bytes_) {
            record.problem =
                "the record is longer than " + std::to_string(max_record_bytes_) + " bytes";
            // Skip to the end of the physical line and give up on this record.
            while (c != kEof && c != '\n') {
                c = get();
            }
            ++line_;
            record.fields.push_back(std::move(field));
            return true;
        }
        if (quoted) {
            if (c == '"') {
                if (in_.peek() == '"') {
                    get();
                    field.push_back('"');
                } else {
                    quoted = false;
                }
            } else {
                if (c == '\n') {
                    ++line_;
                }
                field.push_back(static_cast<char>(c));
            }
            continue;
        }
        if (c == '"' && field.empty() && !was_quoted) {
            quoted = was_quoted = true;
        } else if (c == ',') {
            record.fields.push_back(std::move(field));
            field.clear();
            was_quoted = false;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && in_.peek() == '\n') {
                get();
            }
            ++line_;
            record.fields.push_back(std::move(field));
            return true;
        } else {
            field.push_back(static_cast<char>(c));
        }
    }
}

}  // namespace crm_core::tool
