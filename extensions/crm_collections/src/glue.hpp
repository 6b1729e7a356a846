// What crm_collections' PostgreSQL glue shares: amounts between numeric and minor units, dates,
// errors that name the table, and running statements as the extension's owner.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "collections/money.hpp"
#include "pg_call.hpp"

namespace crm_core::collections::glue {

using crm_core::pg::Error;
using crm_core::pg::pg_call;

// A numeric column or argument as minor units of a currency with `digits` decimals; refuses
// (22023) an amount with more decimals than the currency has. what names it in messages.
Minor to_minor_units(Datum numeric, int digits, const std::string& what);

// An amount a row trigger reads before the table's CHECK constraints run: refuses what the
// constraint would (23514, naming it: not a finite number, not positive, or negative when zero
// is allowed), then what the currency cannot hold (22023).
Minor checked_amount(Datum numeric, int digits, const std::string& table, const std::string& what,
                     const std::string& constraint, bool zero_allowed = false);

// Minor units as a numeric Datum with `digits` decimals.
Datum to_numeric(Minor amount, int digits);

// The decimals of a currency; refuses (22023) a code ICU does not know.
int currency_digits(const std::string& currency);

// A date as text (YYYY-MM-DD), for messages.
std::string date_text(int32_t day);

// Today (the session's CURRENT_DATE) as PostgreSQL's day number.
int32_t today();

// An error about a row of table (collections.<table>), optionally naming a constraint.
Error table_error(int sqlstate, const std::string& table, const std::string& message,
                  const std::string& hint = "", const std::string& constraint = "");

// Runs fn as the owner of schema collections inside an SPI connection, search_path pinned.
void as_owner(const std::function<void()>& fn);

}  // namespace crm_core::collections::glue
