// The CHECK constraints of journal_line, each one C function. PostgreSQL reads and plans a
// table's CHECK expressions again for every statement that writes the table; a call of one
// function on two columns costs a fraction of the equivalent SQL expression (COALESCEs,
// numeric constants, ...), and the constraints keep their names and meaning.
#include <optional>

#include "datum.hpp"
#include "function.hpp"

extern "C" {
#include "utils/numeric.h"
}

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
    return crm_core::pg::pg_call([&] {
        Datum zero = NumericGetDatum(int64_to_numeric(0));
        return DatumGetInt32(DirectFunctionCall2(numeric_cmp, *amount, zero));
    });
}

// Whether the amount is below Infinity, as `amount < 'Infinity'` says (NULL counts as 0; NaN
// sorts above Infinity).
bool below_infinity(const std::optional<Datum>& amount) {
    return !amount || crm_core::pg::pg_call([&] {
        Numeric value = DatumGetNumeric(*amount);
        return !numeric_is_nan(value) && !numeric_is_inf(value);
    }) || sign(amount) < 0;  // -Infinity is below Infinity
}

// The sign of debit + credit (NULL counts as 0).
int sign_of_sum(const Amounts& line) {
    if (!line.debit || !line.credit) {
        return sign(line.debit ? line.debit : line.credit);
    }
    Datum sum = crm_core::pg::pg_call(
        [&] { return DirectFunctionCall2(numeric_add, *line.debit, *line.credit); });
    return sign(sum);
}

}  // namespace

// CHECK journal_line_amount_not_negative: neither side is below zero.
CRM_CORE_FUNCTION(crm_core_amounts_not_negative) {
    Amounts line = amounts(fcinfo);
    return BoolGetDatum(sign(line.debit) >= 0 && sign(line.credit) >= 0);
}

// CHECK journal_line_amount_present: debit + credit > 0 (each side NULL or 0 when omitted).
CRM_CORE_FUNCTION(crm_core_amount_present) {
    return BoolGetDatum(sign_of_sum(amounts(fcinfo)) > 0);
}

// CHECK journal_line_amount_finite: neither side is NaN or Infinity.
CRM_CORE_FUNCTION(crm_core_amounts_finite) {
    Amounts line = amounts(fcinfo);
    return BoolGetDatum(below_infinity(line.debit) && below_infinity(line.credit));
}

// CHECK journal_line_one_side: debit or credit, not both.
CRM_CORE_FUNCTION(crm_core_amount_on_one_side) {
    Amounts line = amounts(fcinfo);
    return BoolGetDatum(sign(line.debit) == 0 || sign(line.credit) == 0);
}
