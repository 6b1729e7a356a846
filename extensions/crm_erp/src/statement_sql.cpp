// Statement import and reconciliation matching, called from erp's SQL functions: the CSV
// reading and the matching are pure C++ (crm_core/statement.hpp, crm_core/reconcile.hpp).
#include <string>
#include <vector>

#include "crm_core/reconcile.hpp"
#include "crm_core/statement.hpp"
#include "datum.hpp"
#include "function.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
}

namespace {

using crm_core::pg::Error;
using crm_core::pg::pg_call;

// Adds one row to the function's result (materialized SRF).
void put_row(FunctionCallInfo fcinfo, Datum* values, bool* nulls) {
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
}

// A one-dimensional array argument's elements (NULL elements refused).
std::vector<Datum> array_elements(FunctionCallInfo fcinfo, int argument, Oid element_type,
                                  const char* name) {
    std::vector<Datum> values;
    for (const std::optional<Datum>& element :
         crm_core::pg::array_elements(PG_GETARG_DATUM(argument), element_type)) {
        if (!element && element_type != TEXTOID) {
            throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED,
                        std::string(name) + " holds a NULL element");
        }
        values.push_back(element.value_or(Datum(0)));
    }
    return values;
}

// Candidates from four parallel arrays: ids, dates, canonical amounts, references.
std::vector<crm_core::reconcile::Candidate> candidates(FunctionCallInfo fcinfo, int first,
                                                       const char* side) {
    std::string prefix = side;
    std::vector<Datum> ids = array_elements(fcinfo, first, INT8OID, (prefix + " ids").c_str());
    std::vector<Datum> days =
        array_elements(fcinfo, first + 1, DATEOID, (prefix + " days").c_str());
    std::vector<Datum> amounts =
        array_elements(fcinfo, first + 2, TEXTOID, (prefix + " amounts").c_str());
    std::vector<Datum> references =
        array_elements(fcinfo, first + 3, TEXTOID, (prefix + " references").c_str());
    if (days.size() != ids.size() || amounts.size() != ids.size() ||
        references.size() != ids.size()) {
        throw Error(ERRCODE_ARRAY_SUBSCRIPT_ERROR, prefix + " arrays differ in length");
    }
    std::vector<crm_core::reconcile::Candidate> lines(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        pg_call([] { CHECK_FOR_INTERRUPTS(); });
        lines[i].id = DatumGetInt64(ids[i]);
        lines[i].day = DatumGetDateADT(days[i]);
        if (amounts[i] == Datum(0)) {
            throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, prefix + " amounts hold a NULL element");
        }
        lines[i].amount = crm_core::pg::text_to_string(amounts[i]);
        lines[i].reference =
            references[i] == Datum(0) ? "" : crm_core::pg::text_to_string(references[i]);
    }
    return lines;
}

}  // namespace

// erp.parse_statement(layout text, csv text): the money lines of a till or bank statement.
CRM_CORE_FUNCTION(crm_erp_parse_statement) {
    std::string layout_name = crm_core::pg::text_argument(fcinfo, 0);
    std::optional<crm_core::statement::Layout> layout =
        crm_core::statement::parse_layout(layout_name);
    if (!layout) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                    "unknown statement layout \"" + layout_name + "\"", "",
                    "Use 'mpesa' (M-Pesa till or paybill statement) or 'bank'.");
    }
    std::string csv = crm_core::pg::text_argument(fcinfo, 1);
    pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
    try {
        crm_core::statement::StatementReader reader(*layout, csv);
        crm_core::statement::Line line;
        while (reader.next(line)) {
            pg_call([] { CHECK_FOR_INTERRUPTS(); });
            Datum values[6];
            bool nulls[6] = {false, false, false, false, false, !line.balance};
            const std::string& booked_at = line.booked_at;
            const std::string& amount = line.amount;
            const std::optional<std::string>& balance = line.balance;
            pg_call([&] {
                values[0] = Int32GetDatum(line.line_no);
                values[1] = DirectFunctionCall3(timestamp_in, CStringGetDatum(booked_at.c_str()),
                                                ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
                values[2] = DirectFunctionCall3(numeric_in, CStringGetDatum(amount.c_str()),
                                                ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
                if (balance) {
                    values[5] =
                        DirectFunctionCall3(numeric_in, CStringGetDatum(balance->c_str()),
                                            ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
                }
            });
            values[3] = crm_core::pg::string_to_text(line.reference);
            values[4] = crm_core::pg::string_to_text(line.description);
            put_row(fcinfo, values, nulls);
        }
    } catch (const crm_core::statement::FormatError& error) {
        std::string where =
            error.line() > 0 ? "statement line " + std::to_string(error.line()) + ": " : "";
        throw Error(ERRCODE_BAD_COPY_FILE_FORMAT, where + error.what(), "",
                    *layout == crm_core::statement::Layout::mpesa
                        ? "An M-Pesa statement has the columns Receipt No., Completion Time, "
                          "Paid In and Withdrawn."
                        : "A bank statement has a Date column and Amount (or Credit and Debit).");
    }
    return Datum(0);
}

// erp._match_lines(statement ids, days, amounts, references, ledger ids, days, amounts,
// references, window_days): the one-to-one matches (crm_core/reconcile.hpp).
CRM_CORE_FUNCTION(crm_erp_match_lines) {
    std::vector<crm_core::reconcile::Candidate> statement = candidates(fcinfo, 0, "statement");
    std::vector<crm_core::reconcile::Candidate> ledger = candidates(fcinfo, 4, "ledger");
    int32 window = PG_GETARG_INT32(8);
    if (window < 0 || window > 366) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                    "date window " + std::to_string(window) + " is out of range", "",
                    "Give a number of days from 0 to 366.");
    }
    std::vector<crm_core::reconcile::Match> matches =
        crm_core::reconcile::match_lines(statement, ledger, window);
    pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
    for (const auto& match : matches) {
        Datum values[3] = {
            Int64GetDatum(match.statement_id), Int64GetDatum(match.ledger_id),
            crm_core::pg::string_to_text(match.method == crm_core::reconcile::Method::reference
                                             ? "reference"
                                             : "amount_date")};
        bool nulls[3] = {false, false, false};
        put_row(fcinfo, values, nulls);
    }
    return Datum(0);
}
