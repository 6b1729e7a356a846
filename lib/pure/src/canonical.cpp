#include "crm_core/canonical.hpp"

#include <cstdint>
#include <stdexcept>

namespace crm_core {

namespace {

// Appends a 4-byte big-endian length, refusing what would not fit.
void append_length(std::string& out, std::size_t length) {
    if (length > UINT32_MAX) {
        throw std::length_error("canonical encoding: value longer than 4 GiB");
    }
    auto value = static_cast<std::uint32_t>(length);
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((value >> shift) & 0xff));
    }
}

// Appends a length-prefixed string.
void append_string(std::string& out, std::string_view text) {
    append_length(out, text.size());
    out.append(text);
}

}  // namespace

std::string encode_row(std::string_view kind, const std::vector<Field>& fields) {
    std::string out;
    out.push_back(static_cast<char>(kCanonicalRowVersion));
    append_string(out, kind);
    append_length(out, fields.size());
    for (const Field& field : fields) {
        append_string(out, field.name);
        if (field.value) {
            out.push_back('\x01');
            append_string(out, *field.value);
        } else {
            out.push_back('\x00');
        }
    }
    return out;
}

std::string json_string(std::string_view text) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out.push_back(kDigits[c >> 4]);
                    out.push_back(kDigits[c & 0x0f]);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
    out.push_back('"');
    return out;
}

std::string json_object(const std::vector<Field>& fields) {
    std::string out = "{";
    for (const Field& field : fields) {
        if (out.size() > 1) {
            out += ", ";
        }
        out += json_string(field.name);
        out += ": ";
        out += field.value ? json_string(*field.value) : "null";
    }
    out.push_back('}');
    return out;
}

}  // namespace crm_core
