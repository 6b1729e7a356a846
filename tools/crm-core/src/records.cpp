#include "records.hpp"

#include <cctype>

#include "collections/import_mapping.hpp"
#include "crm_core/canonical.hpp"

namespace crm_core::tool {

namespace {

constexpr int kMaxDepth = 64;

// A recursive-descent JSON syntax check; pos advances over what was read.
class JsonChecker {
  public:
    explicit JsonChecker(std::string_view text) : text_(text) {}

    bool object_only(std::string& error) {
        skip_blanks();
        if (pos_ >= text_.size() || text_[pos_] != '{') {
            error = "it does not start with {";
            return false;
        }
        if (!value(0)) {
            error = problem_ + " at byte " + std::to_string(pos_ + 1);
            return false;
        }
        skip_blanks();
        if (pos_ != text_.size()) {
            error = "something follows the object at byte " + std::to_string(pos_ + 1);
            return false;
        }
        return true;
    }

  private:
    void skip_blanks() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\r' || text_[pos_] == '\n')) {
            ++pos_;
        }
    }
    bool fail(const char* why) {
        problem_ = why;
        return false;
    }
    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) {
            return fail("unexpected text");
        }
        pos_ += word.size();
        return true;
    }
    bool string() {
        ++pos_;  // the opening quote
        while (pos_ < text_.size()) {
            unsigned char c = static_cast<unsigned char>(text_[pos_]);
            if (c == '"') {
                ++pos_;
                return true;
            }
            if (c < 0x20) {
                return fail("a control character inside a string");
            }
            if (c == '\\') {
                if (++pos_ >= text_.size()) {
                    break;
                }
                char e = text_[pos_];
                if (e == 'u') {
                    for (int i = 1; i <= 4; ++i) {
                        if (pos_ + i >= text_.size() ||
                            !std::isxdigit(static_cast<unsigned char>(text_[pos_ + i]))) {
                            return fail("a bad \\u escape");
                        }
                    }
                    pos_ += 4;
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return fail("a bad escape");
                }
            }
            ++pos_;
        }
        return fail("an unterminated string");
    }
    bool number() {
        std::size_t start = pos_;
        if (text_[pos_] == '-') {
            ++pos_;
        }
        auto digits = [&] {
            std::size_t from = pos_;
            while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
                ++pos_;
            }
            return pos_ > from;
        };
        if (!digits()) {
            return fail("a bad number");
        }
        if (text_[start] == '0' ||
            (text_[start] == '-' && pos_ - start > 2 && text_[start + 1] == '0')) {
            if (pos_ - start > (text_[start] == '-' ? 2u : 1u)) {
                return fail("a number with a leading zero");
            }
        }
        if (pos_ < text_.size() && text_[pos_] == '.') {
            ++pos_;
            if (!digits()) {
                return fail("a bad number");
            }
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) {
                ++pos_;
            }
            if (!digits()) {
                return fail("a bad number");
            }
        }
        return true;
    }
    bool value(int depth) {
        if (depth > kMaxDepth) {
            return fail("nesting too deep");
        }
        skip_blanks();
        if (pos_ >= text_.size()) {
            return fail("the text ends early");
        }
        char c = text_[pos_];
        if (c == '{' || c == '[') {
            char close = c == '{' ? '}' : ']';
            ++pos_;
            skip_blanks();
            if (pos_ < text_.size() && text_[pos_] == close) {
                ++pos_;
                return true;
            }
            for (;;) {
                if (c == '{') {
                    skip_blanks();
                    if (pos_ >= text_.size() || text_[pos_] != '"') {
                        return fail("a key is not a string");
                    }
                    if (!string()) {
                        return false;
                    }
                    skip_blanks();
                    if (pos_ >= text_.size() || text_[pos_] != ':') {
                        return fail("a key without ':'");
                    }
                    ++pos_;
                }
                if (!value(depth + 1)) {
                    return false;
                }
                skip_blanks();
                if (pos_ < text_.size() && text_[pos_] == ',') {
                    ++pos_;
                    continue;
                }
                if (pos_ < text_.size() && text_[pos_] == close) {
                    ++pos_;
                    return true;
                }
                return fail(c == '{' ? "an object not closed by }" : "an array not closed by ]");
            }
        }
        if (c == '"') {
            return string();
        }
        if (c == 't') {
            return literal("true");
        }
        if (c == 'f') {
            return literal("false");
        }
        if (c == 'n') {
            return literal("null");
        }
        if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
            return number();
        }
        return fail("unexpected text");
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::string problem_;
};

}  // namespace

bool make_storable(std::string& text) {
    static const std::string kReplacement = "\xEF\xBF\xBD";
    std::string out;
    bool changed = false;
    std::size_t at = 0;
    while (at < text.size()) {
        unsigned char c = static_cast<unsigned char>(text[at]);
        std::size_t length = c < 0x80           ? 1
                             : (c >> 5) == 0x6  ? 2
                             : (c >> 4) == 0xE  ? 3
                             : (c >> 3) == 0x1E ? 4
                                                : 0;
        bool good = length > 0 && at + length <= text.size() && c != 0;
        for (std::size_t i = 1; good && i < length; ++i) {
            good = (static_cast<unsigned char>(text[at + i]) & 0xC0) == 0x80;
        }
        if (good && length > 1) {
            // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either.
            unsigned char next = static_cast<unsigned char>(text[at + 1]);
            good = !(c == 0xC0 || c == 0xC1 || (c == 0xE0 && next < 0xA0) ||
                     (c == 0xED && next >= 0xA0) || (c == 0xF0 && next < 0x90) ||
                     (c == 0xF4 && next >= 0x90) || c > 0xF4);
        }
        if (good) {
            out.append(text, at, length);
            at += length;
        } else {
            out += kReplacement;
            changed = true;
            ++at;
        }
    }
    if (changed) {
        text = std::move(out);
    }
    return changed;
}

std::string csv_record_json(const std::vector<std::string>& header, const CsvRecord& record) {
    std::vector<Field> fields;
    fields.reserve(header.size() + 1);
    bool replaced = false;
    for (std::size_t i = 0; i < header.size() && i < record.fields.size(); ++i) {
        std::string value = record.fields[i];
        replaced = make_storable(value) || replaced;
        fields.push_back(Field{header[i], std::move(value)});
    }
    std::string shape = record.problem;
    if (shape.empty() && replaced) {
        shape = "the line has bytes that are not UTF-8 text (or NUL bytes)";
    }
    if (shape.empty() && record.fields.size() != header.size()) {
        shape = "the line has " + std::to_string(record.fields.size()) +
                " values; the header has " + std::to_string(header.size());
    }
    if (!shape.empty()) {
        fields.push_back(Field{std::string(collections::import::kShapeErrorField), shape});
    }
    return json_object(fields);
}

std::string json_line_record(std::string_view line) {
    std::string error;
    std::string text(line);
    if (make_storable(text)) {
        error = "it has bytes that are not UTF-8 text (or NUL bytes)";
    } else if (text.find("\\u0000") != std::string::npos) {
        // PostgreSQL's jsonb cannot hold NUL characters (an escaped backslash before "u0000"
        // is refused too: rare enough to report rather than parse).
        error = "it contains \\u0000, which PostgreSQL text cannot hold";
    } else if (is_json_object(text, error)) {
        return text;
    }
    return json_object({Field{std::string(collections::import::kShapeErrorField),
                              "the line is not a JSON object: " + error},
                        Field{"_line", text.substr(0, 2000)}});
}

bool is_json_object(std::string_view text, std::string& error) {
    return JsonChecker(text).object_only(error);
}

}  // namespace crm_core::tool
