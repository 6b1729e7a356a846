// Till and bank statements as CSV: an RFC 4180 reader, decimal amounts, and the two layouts
// crm_erp imports (an M-Pesa till/paybill statement and a plain bank statement).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace crm_core::statement {

// Bad input, with the CSV line it was found on (1-based; 0 when not tied to a line).
class FormatError : public std::runtime_error {
  public:
    FormatError(int line, const std::string& message) : std::runtime_error(message), line_(line) {}
    int line() const noexcept { return line_; }

  private:
    int line_;
};

// Reads CSV records one at a time (RFC 4180: comma separated, fields in double quotes may hold
// commas, quotes doubled, and line breaks; CRLF or LF; a UTF-8 byte order mark is skipped).
// Blank lines are skipped. The caller loops, so it can check for interrupts between records.
class CsvReader {
  public:
    explicit CsvReader(std::string_view text);

    // The next record's fields into fields; false at the end. Throws FormatError.
    bool next(std::vector<std::string>& fields);

    // The line the last record returned started on (1-based).
    int line() const noexcept { return record_line_; }

  private:
    std::string_view text_;
    std::size_t position_ = 0;
    int current_line_ = 1;
    int record_line_ = 0;
};

// A decimal amount in canonical text: optional '-', no leading zeros, no trailing fractional
// zeros, "0" for zero ("1,250.50" -> "1250.5", "(30.00)" -> "-30", "-0" -> "0").
// std::nullopt for an empty or "-" field (no amount); throws std::invalid_argument otherwise.
std::optional<std::string> parse_amount(std::string_view text);

// The negation of a canonical amount.
std::string negate_amount(const std::string& amount);

// A date or date-time as "YYYY-MM-DD HH:MM:SS" (time 00:00:00 when absent). Accepts
// YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY, DD-MM-YYYY, each optionally followed by HH:MM[:SS].
// Throws std::invalid_argument for anything else, or an impossible date.
std::string parse_timestamp(std::string_view text);

// The statement layouts crm_erp reads.
enum class Layout { mpesa, bank };

// The layout named "mpesa" or "bank"; std::nullopt otherwise.
std::optional<Layout> parse_layout(std::string_view name) noexcept;

// One money movement of a statement, seen from the statement's account: amount > 0 is money
// in (paid in, credit on a bank statement), amount < 0 money out.
struct Line {
    int line_no = 0;                     // CSV line it came from
    std::string booked_at;               // "YYYY-MM-DD HH:MM:SS", the statement's local time
    std::string amount;                  // canonical, signed, never "0"
    std::string reference;               // receipt number / bank reference ("" when none)
    std::string description;             // details / narrative
    std::optional<std::string> balance;  // running balance, when the statement gives it
};

// What reading a statement gave: its lines, and how many rows were skipped (not completed
// M-Pesa transactions, zero-amount rows).
struct Statement {
    std::vector<Line> lines;
    int skipped = 0;
};

// Reads one statement record by record. The header row names the columns (matched without
// case, spaces or punctuation):
//  - mpesa: "Receipt No.", "Completion Time", "Paid In", "Withdrawn" (required), "Details",
//    "Transaction Status" (rows other than "Completed" are skipped), "Balance".
//  - bank: a date ("Date", "Transaction Date", "Value Date", "Posting Date"), either "Amount"
//    (signed) or "Credit"/"Money In"/"Deposit" and "Debit"/"Money Out"/"Withdrawal", and
//    optionally "Reference"/"Ref"/"Cheque No", "Description"/"Details"/"Narrative", "Balance".
class StatementReader {
  public:
    StatementReader(Layout layout, std::string_view csv);

    // The next line into line; false at the end. Throws FormatError naming the CSV line.
    bool next(Line& line);

    // Rows read but not returned (see Statement).
    int skipped() const noexcept { return skipped_; }

  private:
    void read_header();

    Layout layout_;
    CsvReader reader_;
    std::vector<std::string> fields_;
    int skipped_ = 0;
    // Column indexes from the header; -1 when absent.
    int date_ = -1, reference_ = -1, description_ = -1, status_ = -1, balance_ = -1;
    int money_in_ = -1, money_out_ = -1, amount_ = -1;
    std::size_t width_ = 0;
};

// Reads a whole statement (tests and small inputs; the database glue loops with next()).
Statement read_statement(Layout layout, std::string_view csv);

}  // namespace crm_core::statement
