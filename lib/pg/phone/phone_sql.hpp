// Phone numbers at the SQL boundary, one behaviour for every extension that stores them
// (crm_collections, crm_erp): the refusals, their SQLSTATE and wording, and the body of their
// normalize_phone(phone, region) functions. Linked only by extensions that link libphonenumber
// (OWN_PG_DIRS = phone, OWN_PURE_DIRS = phone in their Makefile).
#pragma once

#include <string>

#include "pg_includes.hpp"

namespace crm_core::pg {

// The E.164 form of phone, a national number read in region; otherwise throws Error 22023
// saying why and how to write it, reported on column "phone" of schema.table when given.
std::string e164_or_refuse(const std::string& phone, const std::string& region,
                           const std::string& schema = {}, const std::string& table = {});

// Throws Error 22023 unless libphonenumber knows region (ISO 3166 alpha-2, upper case).
void require_phone_region(const std::string& region);

// The body of an extension's STRICT normalize_phone(phone text, region text): the E.164 text,
// NULL when phone is blank; refuses an unknown region and what is not a phone number.
Datum normalize_phone_call(FunctionCallInfo fcinfo);

}  // namespace crm_core::pg
