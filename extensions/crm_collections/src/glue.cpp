#include "glue.hpp"

#include "datum.hpp"
#include "role.hpp"
#include "spi.hpp"

extern "C" {
#include "utils/date.h"
#include "utils/numeric.h"
}

namespace crm_core::collections::glue {

Minor checked_amount(Datum numeric, int digits, const std::string& table, const std::string& what,
                     const std::string& constraint, bool zero_allowed) {
    std::string text = crm_core::pg::numeric_text(numeric);
    AmountProblem problem = AmountProblem::none;
    std::optional<Minor> minor = to_minor(text, digits, problem);
    bool refused = problem == AmountProblem::not_a_number ||
                   (minor && (zero_allowed ? *minor < 0 : *minor <= 0)) ||
                   (!minor && !text.empty() && text[0] == '-');
    if (refused) {
        throw table_error(
            ERRCODE_CHECK_VIOLATION, table,
            what + (zero_allowed ? " must not be negative, not " : " must be positive, not ") +
                text,
            "", constraint);
    }
    return to_minor_units(numeric, digits, what);
}

Minor to_minor_units(Datum numeric, int digits, const std::string& what) {
    std::string text_value = crm_core::pg::numeric_text(numeric);
    const char* text = text_value.c_str();
    AmountProblem problem = AmountProblem::none;
    std::optional<Minor> minor = to_minor(text, digits, problem);
    if (!minor) {
        std::string why = problem == AmountProblem::too_precise
                              ? "has more than " + std::to_string(digits) + " decimals"
                          : problem == AmountProblem::out_of_range ? "is too large"
                                                                   : "is not a number";
        throw Error(
            ERRCODE_INVALID_PARAMETER_VALUE, what + " " + text + " " + why, "",
            problem == AmountProblem::too_precise ? "Round it to the currency's minor unit." : "");
    }
    return *minor;
}

Datum to_numeric(Minor amount, int digits) {
    std::string text = from_minor(amount, digits);
    const char* cstring = text.c_str();
    return pg_call([&] {
        return DirectFunctionCall3(numeric_in, CStringGetDatum(cstring),
                                   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
    });
}

int currency_digits(const std::string& currency) {
    std::optional<int> digits = currency_fraction_digits(currency);
    if (!digits) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                    "currency \"" + currency + "\" is not an ISO 4217 code", "",
                    "Give three upper-case letters, such as EUR.");
    }
    return *digits;
}

std::string date_text(int32_t day) {
    const char* text = pg_call(
        [&] { return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day))); });
    return text;
}

int32_t today() {
    return pg_call([] { return GetSQLCurrentDate(); });
}

Error table_error(int sqlstate, const std::string& table, const std::string& message,
                  const std::string& hint, const std::string& constraint) {
    Error error(sqlstate, message, "", hint);
    error.schema_name = "collections";
    error.table_name = table;
    error.constraint_name = constraint;
    return error;
}

void as_owner(const std::function<void()>& fn) {
    crm_core::pg::as_role(crm_core::pg::schema_owner("collections"), [&] {
        crm_core::pg::SpiConnection spi;
        fn();
    });
}

}  // namespace crm_core::collections::glue
