#include "crm_core/statement.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>

namespace crm_core::statement {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

// A header name reduced to lower-case letters and digits: "Receipt No." -> "receiptno".
std::string header_key(std::string_view name) {
    std::string key;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        }
    }
    return key;
}

// The index of the first header matching one of the names; -1 when none does.
int find_column(const std::vector<std::string>& header, std::initializer_list<const char*> names) {
    for (const char* name : names) {
        for (std::size_t i = 0; i < header.size(); ++i) {
            if (header_key(header[i]) == name) {
                return static_cast<int>(i);
            }
        }
    }
    return -1;
}

// Parses n digits at text[at..]; -1 if they are not all digits.
int digits(std::string_view text, std::size_t at, std::size_t n) {
    if (at + n > text.size()) {
        return -1;
    }
    int value = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (!is_digit(text[i])) {
            return -1;
        }
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

bool is_leap(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

std::string two_digits(int value) {
    return std::string(1, static_cast<char>('0' + value / 10)) +
           static_cast<char>('0' + value % 10);
}

}  // namespace

CsvReader::CsvReader(std::string_view text) : text_(text) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") {
        position_ = 3;
    }
}

bool CsvReader::next(std::vector<std::string>& fields) {
    for (;;) {
        fields.clear();
        if (position_ >= text_.size()) {
            return false;
        }
        record_line_ = current_line_;
        std::string field;
        bool quoted = false;      // inside a quoted field
        bool was_quoted = false;  // the current field was quoted (only spaces may follow)
        bool end_of_record = false;
        while (!end_of_record) {
            if (position_ >= text_.size()) {
                if (quoted) {
                    throw FormatError(record_line_, "a quoted field is not closed");
                }
                end_of_record = true;
                break;
            }
            char c = text_[position_++];
            if (quoted) {
                if (c == '"') {
                    if (position_ < text_.size() && text_[position_] == '"') {
                        field.push_back('"');
                        ++position_;
                    } else {
                        quoted = false;
                    }
                } else {
                    if (c == '\n') {
                        ++current_line_;
                    }
                    field.push_back(c);
                }
                continue;
            }
            switch (c) {
                case ',':
                    fields.push_back(std::move(field));
                    field.clear();
                    was_quoted = false;
                    break;
                case '\r':
                    if (position_ < text_.size() && text_[position_] == '\n') {
                        ++position_;
                    }
                    ++current_line_;
                    end_of_record = true;
                    break;
                case '\n':
                    ++current_line_;
                    end_of_record = true;
                    break;
                case '"':
                    if (was_quoted || !trim(field).empty()) {
                        throw FormatError(record_line_,
                                          "a double quote inside an unquoted field; quote the "
                                          "field and double the quote");
                    }
                    field.clear();
                    quoted = true;
                    was_quoted = true;
                    break;
                default:
                    if (was_quoted && !std::isspace(static_cast<unsigned char>(c))) {
                        throw FormatError(record_line_, "text after a closing double quote");
                    }
                    if (!was_quoted) {
                        field.push_back(c);
                    }
            }
        }
        fields.push_back(std::move(field));
        bool blank = fields.size() == 1 && trim(fields[0]).empty();
        if (!blank) {
            return true;
        }
    }
}

std::optional<std::string> parse_amount(std::string_view text) {
    text = trim(text);
    if (text.empty() || text == "-") {
        return std::nullopt;
    }
    bool negative = false;
    if (text.size() >= 2 && text.front() == '(' && text.back() == ')') {
        negative = true;
        text = trim(text.substr(1, text.size() - 2));
    }
    if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
        negative = negative != (text.front() == '-');
        text.remove_prefix(1);
    }
    std::string whole;
    std::string fraction;
    bool in_fraction = false;
    bool any_digit = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (is_digit(c)) {
            (in_fraction ? fraction : whole).push_back(c);
            any_digit = true;
        } else if (c == ',' && !in_fraction && !whole.empty()) {
            // A thousands separator: exactly three digits follow before the next separator.
            if (digits(text, i + 1, 3) < 0 || (i + 4 < text.size() && is_digit(text[i + 4]))) {
                throw std::invalid_argument("misplaced thousands separator");
            }
        } else if (c == '.' && !in_fraction) {
            in_fraction = true;
        } else {
            throw std::invalid_argument("not a decimal number");
        }
    }
    if (!any_digit) {
        throw std::invalid_argument("not a decimal number");
    }
    whole.erase(0, std::min(whole.find_first_not_of('0'), whole.size()));
    fraction.erase(fraction.find_last_not_of('0') + 1);
    if (whole.empty()) {
        whole = "0";
    }
    std::string amount = fraction.empty() ? whole : whole + "." + fraction;
    if (negative && amount != "0") {
        amount.insert(0, "-");
    }
    return amount;
}

std::string negate_amount(const std::string& amount) {
    if (amount == "0") {
        return amount;
    }
    return amount.front() == '-' ? amount.substr(1) : "-" + amount;
}

std::string parse_timestamp(std::string_view text) {
    text = trim(text);
    int year = -1;
    int month = -1;
    int day = -1;
    std::size_t rest = 10;
    if (text.size() >= 10 && (text[4] == '-' || text[4] == '/') && text[7] == text[4]) {
        year = digits(text, 0, 4);
        month = digits(text, 5, 2);
        day = digits(text, 8, 2);
    } else if (text.size() >= 10 && (text[2] == '/' || text[2] == '-') && text[5] == text[2]) {
        day = digits(text, 0, 2);
        month = digits(text, 3, 2);
        year = digits(text, 6, 4);
    }
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        throw std::invalid_argument("not a date (YYYY-MM-DD or DD/MM/YYYY)");
    }
    int hour = 0;
    int minute = 0;
    int second = 0;
    std::string_view time = trim(text.substr(rest));
    if (!time.empty()) {
        if (time.size() != 5 && time.size() != 8) {
            throw std::invalid_argument("not a time (HH:MM or HH:MM:SS)");
        }
        hour = digits(time, 0, 2);
        minute = digits(time, 3, 2);
        second = time.size() == 8 ? digits(time, 6, 2) : 0;
        if (time[2] != ':' || (time.size() == 8 && time[5] != ':') || hour < 0 || hour > 23 ||
            minute < 0 || minute > 59 || second < 0 || second > 59) {
            throw std::invalid_argument("not a time (HH:MM or HH:MM:SS)");
        }
    }
    std::string year_text = std::to_string(year);
    year_text.insert(0, 4 - std::min<std::size_t>(4, year_text.size()), '0');
    return year_text + "-" + two_digits(month) + "-" + two_digits(day) + " " + two_digits(hour) +
           ":" + two_digits(minute) + ":" + two_digits(second);
}

std::optional<Layout> parse_layout(std::string_view name) noexcept {
    if (name == "mpesa") {
        return Layout::mpesa;
    }
    if (name == "bank") {
        return Layout::bank;
    }
    return std::nullopt;
}

StatementReader::StatementReader(Layout layout, std::string_view csv)
    : layout_(layout), reader_(csv) {
    read_header();
}

void StatementReader::read_header() {
    if (!reader_.next(fields_)) {
        throw FormatError(0, "the statement is empty: a header row is needed");
    }
    width_ = fields_.size();
    const std::vector<std::string>& header = fields_;
    std::string missing;
    if (layout_ == Layout::mpesa) {
        reference_ = find_column(header, {"receiptno", "receiptnumber", "receipt"});
        date_ = find_column(header, {"completiontime", "completiondate", "date"});
        description_ = find_column(header, {"details", "description"});
        status_ = find_column(header, {"transactionstatus", "status"});
        money_in_ = find_column(header, {"paidin"});
        money_out_ = find_column(header, {"withdrawn", "withdrawals", "paidout"});
        balance_ = find_column(header, {"balance"});
        if (reference_ < 0)
            missing += " \"Receipt No.\"";
        if (date_ < 0)
            missing += " \"Completion Time\"";
        if (money_in_ < 0)
            missing += " \"Paid In\"";
        if (money_out_ < 0)
            missing += " \"Withdrawn\"";
    } else {
        date_ = find_column(header,
                            {"date", "transactiondate", "valuedate", "postingdate", "bookingdate"});
        reference_ = find_column(header, {"reference", "ref", "chequeno", "referenceno"});
        description_ = find_column(header, {"description", "details", "narrative", "particulars"});
        amount_ = find_column(header, {"amount"});
        money_in_ = find_column(header, {"credit", "moneyin", "deposit", "deposits", "paidin"});
        money_out_ =
            find_column(header, {"debit", "moneyout", "withdrawal", "withdrawals", "paidout"});
        balance_ = find_column(header, {"balance", "runningbalance"});
        if (date_ < 0)
            missing += " \"Date\"";
        if (amount_ < 0 && (money_in_ < 0 || money_out_ < 0)) {
            missing += " \"Amount\" (or \"Credit\" and \"Debit\")";
        }
    }
    if (!missing.empty()) {
        throw FormatError(reader_.line(), std::string("the header row lacks") + missing);
    }
}

bool StatementReader::next(Line& line) {
    while (reader_.next(fields_)) {
        int at = reader_.line();
        if (fields_.size() != width_) {
            throw FormatError(at, "the row has " + std::to_string(fields_.size()) +
                                      " fields, the header " + std::to_string(width_));
        }
        auto field = [&](int column) -> std::string_view {
            return column < 0 ? std::string_view() : trim(fields_[column]);
        };
        if (status_ >= 0 && header_key(field(status_)) != "completed") {
            ++skipped_;
            continue;
        }
        auto amount_of = [&](int column, const char* what) -> std::optional<std::string> {
            try {
                return parse_amount(field(column));
            } catch (const std::invalid_argument&) {
                throw FormatError(at, std::string(what) + " \"" + std::string(field(column)) +
                                          "\" is not an amount");
            }
        };
        std::optional<std::string> amount;
        if (amount_ >= 0) {
            amount = amount_of(amount_, "amount");
        } else {
            std::optional<std::string> in = amount_of(money_in_, "money in");
            std::optional<std::string> out = amount_of(money_out_, "money out");
            if (in && out && *in != "0" && *out != "0") {
                throw FormatError(at, "the row has both money in and money out");
            }
            if (in && *in != "0") {
                if (in->front() == '-') {
                    throw FormatError(
                        at, "money in \"" + std::string(field(money_in_)) + "\" is negative");
                }
                amount = in;
            } else if (out) {
                // Withdrawals are printed with or without a minus sign: both mean money out.
                amount = out->front() == '-' ? *out : negate_amount(*out);
            }
        }
        if (!amount || *amount == "0") {
            ++skipped_;
            continue;
        }
        line.line_no = at;
        try {
            line.booked_at = parse_timestamp(field(date_));
        } catch (const std::invalid_argument& error) {
            throw FormatError(at, "date \"" + std::string(field(date_)) + "\" is " + error.what());
        }
        line.amount = *amount;
        line.reference = std::string(field(reference_));
        line.description = std::string(field(description_));
        line.balance = balance_ >= 0 ? amount_of(balance_, "balance") : std::nullopt;
        return true;
    }
    return false;
}

Statement read_statement(Layout layout, std::string_view csv) {
    StatementReader reader(layout, csv);
    Statement statement;
    Line line;
    while (reader.next(line)) {
        statement.lines.push_back(line);
    }
    statement.skipped = reader.skipped();
    return statement;
}

}  // namespace crm_core::statement
