#include "collections/message_template.hpp"

#include <algorithm>

namespace crm_core::collections {

const std::vector<std::string>& template_placeholders() {
    static const std::vector<std::string> names = {
        "customer_name", "external_ref",    "amount_due", "amount_overdue", "days_past_due",
        "next_due_date", "next_due_amount", "currency",   "bucket"};
    return names;
}

namespace {

std::string_view trimmed(std::string_view text) {
    const char* blanks = " \t";
    size_t first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) {
        return {};
    }
    size_t last = text.find_last_not_of(blanks);
    return text.substr(first, last - first + 1);
}

std::string known_list() {
    std::string list;
    for (const std::string& name : template_placeholders()) {
        list += (list.empty() ? "{{" : ", {{") + name + "}}";
    }
    return list;
}

}  // namespace

bool parse_template(std::string_view text, ParsedTemplate& parsed, std::string& problem) {
    parsed.clear();
    std::string literal;
    size_t position = 0;
    while (position < text.size()) {
        size_t open = text.find("{{", position);
        if (open == std::string_view::npos) {
            literal.append(text.substr(position));
            break;
        }
        literal.append(text.substr(position, open - position));
        size_t close = text.find("}}", open + 2);
        if (close == std::string_view::npos) {
            problem =
                "placeholder at character " + std::to_string(open + 1) + " is not closed with }}";
            return false;
        }
        std::string_view name = trimmed(text.substr(open + 2, close - open - 2));
        const std::vector<std::string>& names = template_placeholders();
        auto known = std::find(names.begin(), names.end(), name);
        if (known == names.end()) {
            problem = (name.empty() ? std::string("empty placeholder {{}}")
                                    : "unknown placeholder {{" + std::string(name) + "}}") +
                      " at character " + std::to_string(open + 1) + "; known: " + known_list();
            return false;
        }
        if (!literal.empty()) {
            parsed.push_back({std::move(literal), -1});
            literal.clear();
        }
        parsed.push_back({std::string(), static_cast<int>(known - names.begin())});
        position = close + 2;
    }
    if (!literal.empty()) {
        parsed.push_back({std::move(literal), -1});
    }
    return true;
}

std::string render_template(const ParsedTemplate& parsed,
                            const std::vector<std::optional<std::string>>& values) {
    std::string out;
    for (const TemplatePart& part : parsed) {
        if (part.placeholder < 0) {
            out += part.literal;
        } else if (static_cast<size_t>(part.placeholder) < values.size() &&
                   values[part.placeholder]) {
            out += *values[part.placeholder];
        }
    }
    return out;
}

}  // namespace crm_core::collections
