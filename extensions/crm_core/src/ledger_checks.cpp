// The CHECK constraints of the journal tables: one C function per table. PostgreSQL 15 reads
// and plans every CHECK expression of a table again for each statement that writes it (the
// expression text parsed, simplified, compiled: about 16,000 instructions a constraint, more
// than the row itself costs to insert), so a table's rules share one constraint, and the
// function says which rule a row breaks.
#include <optional>
#include <string>

#include "datum.hpp"
#include "function.hpp"
#include "numeric.hpp"

namespace {

// A line's amount: NULL counts as 0.
struct Amounts {
    std::optional<Datum> debit;
    std::optional<Datum> credit;
};

Amounts amounts(FunctionCallInfo fcinfo) {
    Amounts result;
    if (!PG_ARGISNULL(0)) {
        result.debit = PG_GETARG_DATUM(0);
    }
    if (!PG_ARGISNULL(1)) {
        result.credit = PG_GETARG_DATUM(1);
    }
    return result;
}

// The sign of amount - 0 (NULL is 0; NaN sorts above every number).
int sign(const std::optional<Datum>& amount) {
    if (!amount) {
        return 0;
    }
    return crm_core::pg::pg_call([&] { return crm_core::pg::numeric_sign_of(*amount); });
}

// Whether the amount is a number (NULL counts as 0): not NaN, not +-Infinity.
bool finite(const std::optional<Datum>& amount) {
    return !amount || crm_core::pg::pg_call([&] { return crm_core::pg::numeric_finite(*amount); });
}

std::string amount_text(const std::optional<Datum>& amount) {
    return amount ? crm_core::pg::numeric_text(*amount) : "NULL";
}

// The error for a row that breaks one rule of its table's CHECK constraint.
crm_core::pg::Error check_violation(const char* table, const char* constraint,
                                    const std::string& message, const char* hint) {
    crm_core::pg::Error error(ERRCODE_CHECK_VIOLATION, message, "", hint);
    error.schema_name = "crm_core";
    error.table_name = table;
    error.constraint_name = constraint;
    return error;
}

}  // namespace

// CHECK journal_line_amount_valid: the amount is finite, not negative, present, and on one
// side (debit or credit; the other omitted, NULL or 0).
CRM_CORE_FUNCTION(crm_core_line_amount_valid) {
    Amounts line = amounts(fcinfo);
    auto refuse = [&](const char* rule, const char* hint) {
        return check_violation("journal_line", "journal_line_amount_valid",
                               std::string("journal line ") + rule + ": debit " +
                                   amount_text(line.debit) + ", credit " + amount_text(line.credit),
                               hint);
    };
    if (!finite(line.debit) || !finite(line.credit)) {
        throw refuse("amounts must be numbers", "NaN and Infinity are not amounts.");
    }
    int debit_sign = sign(line.debit);
    int credit_sign = sign(line.credit);
    if (debit_sign < 0 || credit_sign < 0) {
        throw refuse("amounts must not be negative", "Post the amount on the other side instead.");
    }
    // Neither side is negative here: debit + credit > 0 when either side is above zero.
    if (debit_sign == 0 && credit_sign == 0) {
        throw refuse("needs an amount", "Give a debit or a credit above zero.");
    }
    if (debit_sign != 0 && credit_sign != 0) {
        throw refuse("carries its amount on one side",
                     "Split it into a debit line and a credit line.");
    }
    return BoolGetDatum(true);
}

// CHECK journal_entry_valid: the status is draft or posted, and the entry does not reverse
// itself. (NULLs pass: NOT NULL refuses a NULL status first.)
CRM_CORE_FUNCTION(crm_core_entry_valid) {
    if (!PG_ARGISNULL(0)) {
        std::string status = crm_core::pg::text_argument(fcinfo, 0);
        if (status != "draft" && status != "posted") {
            throw check_violation("journal_entry", "journal_entry_valid",
                                  "journal entry status must be draft or posted, not " + status,
                                  "Insert a draft and post it later, or insert it posted.");
        }
    }
    if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2) && PG_GETARG_INT64(1) == PG_GETARG_INT64(2)) {
        throw check_violation(
            "journal_entry", "journal_entry_valid",
            "journal entry " + std::to_string(PG_GETARG_INT64(1)) + " cannot reverse itself",
            "Reverse it with crm_core.reverse_entry().");
    }
    return BoolGetDatum(true);
}
