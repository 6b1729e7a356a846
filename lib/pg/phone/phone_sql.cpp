#include "phone/phone_sql.hpp"

#include "crm_core/phone.hpp"
#include "datum.hpp"
#include "error.hpp"

namespace crm_core::pg {

namespace {

// Text without surrounding blanks (spaces, tabs, line ends).
std::string without_blanks(const std::string& text) {
    const char* blanks = " \t\r\n";
    std::size_t first = text.find_first_not_of(blanks);
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

}  // namespace

std::string e164_or_refuse(const std::string& phone, const std::string& region,
                           const std::string& schema, const std::string& table) {
    PhoneNumber number = normalize_phone(phone, region);
    if (number.e164) {
        return *number.e164;
    }
    Error error(ERRCODE_INVALID_PARAMETER_VALUE,
                "phone \"" + phone + "\" is not a phone number: " + number.problem, "",
                "Write it in international form (+<country code> <number>, such as +33 6 12 34 "
                "56 78) or as a national number of " +
                    region + ".");
    error.schema_name = schema;
    error.table_name = table;
    error.column_name = "phone";
    throw error;
}

void require_phone_region(const std::string& region) {
    if (!is_known_phone_region(region)) {
        throw Error(
            ERRCODE_INVALID_PARAMETER_VALUE,
            "country \"" + region + "\" is not an ISO 3166 country code libphonenumber knows", "",
            "Give two upper-case letters, such as FR, IN, KE or US.");
    }
}

Datum normalize_phone_call(FunctionCallInfo fcinfo) {
    std::string phone = without_blanks(text_argument(fcinfo, 0));
    std::string region = text_argument(fcinfo, 1);
    require_phone_region(region);
    if (phone.empty()) {
        PG_RETURN_NULL();
    }
    return string_to_text(e164_or_refuse(phone, region));
}

}  // namespace crm_core::pg
