// Reminder templates: text with {{placeholder}} fields filled from a debt's position. A
// template is parsed (and refused, saying why) when it is saved, so that nothing unknown is
// found at send time. Single braces are plain text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crm_core::collections {

// The placeholders a template may use, in the order render_template() takes their values:
// customer_name, external_ref, amount_due, amount_overdue, days_past_due, next_due_date,
// next_due_amount, currency, bucket.
const std::vector<std::string>& template_placeholders();

// A template as literal text and placeholders (index into template_placeholders(), or -1 for
// a literal part).
struct TemplatePart {
    std::string literal;
    int placeholder = -1;
};
using ParsedTemplate = std::vector<TemplatePart>;

// Parses text; false with `problem` set (what is wrong and where, 1-based characters) when a
// placeholder is unknown, empty or not closed.
bool parse_template(std::string_view text, ParsedTemplate& parsed, std::string& problem);

// The template with each placeholder replaced by its value (a missing value: empty text).
// values[i] belongs to template_placeholders()[i].
std::string render_template(const ParsedTemplate& parsed,
                            const std::vector<std::optional<std::string>>& values);

}  // namespace crm_core::collections
