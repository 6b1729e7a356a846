// The wrapper over libphonenumber: the only file that includes its headers.
#include "crm_core/phone.hpp"

#include <memory>

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumberutil.h>

namespace crm_core {

namespace {

using i18n::phonenumbers::PhoneNumberUtil;

// The library's singleton, told not to print its diagnostics (a database server's stdout is
// its log).
PhoneNumberUtil& phone_util() {
    static PhoneNumberUtil* util = [] {
        PhoneNumberUtil* instance = PhoneNumberUtil::GetInstance();
        // SetLogger takes ownership of the logger.
        instance->SetLogger(std::make_unique<i18n::phonenumbers::NullLogger>().release());
        return instance;
    }();
    return *util;
}

std::string parse_problem(PhoneNumberUtil::ErrorType error) {
    switch (error) {
        case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
            return "its country calling code is unknown (write it as +<country code> <number>)";
        case PhoneNumberUtil::NOT_A_NUMBER:
            return "it is not a phone number";
        case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
        case PhoneNumberUtil::TOO_SHORT_NSN:
            return "it is too short to be a phone number";
        case PhoneNumberUtil::TOO_LONG_NSN:
            return "it is too long to be a phone number";
        default:
            return "it cannot be read as a phone number";
    }
}

std::string possibility_problem(PhoneNumberUtil::ValidationResult result) {
    switch (result) {
        case PhoneNumberUtil::INVALID_COUNTRY_CODE:
            return "its country calling code is unknown";
        case PhoneNumberUtil::TOO_SHORT:
            return "it is too short for its country";
        case PhoneNumberUtil::TOO_LONG:
            return "it is too long for its country";
        case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
            return "it lacks an area code (a local number only)";
        default:
            return "its length matches no number of its country";
    }
}

}  // namespace

PhoneNumber normalize_phone(std::string_view text, std::string_view region) {
    PhoneNumberUtil& util = phone_util();
    i18n::phonenumbers::PhoneNumber number;
    PhoneNumberUtil::ErrorType error = util.Parse(std::string(text), std::string(region), &number);
    if (error != PhoneNumberUtil::NO_PARSING_ERROR) {
        return PhoneNumber{std::nullopt, parse_problem(error)};
    }
    PhoneNumberUtil::ValidationResult possible = util.IsPossibleNumberWithReason(number);
    if (possible != PhoneNumberUtil::IS_POSSIBLE) {
        return PhoneNumber{std::nullopt, possibility_problem(possible)};
    }
    std::string e164;
    util.Format(number, PhoneNumberUtil::E164, &e164);
    return PhoneNumber{e164, ""};
}

bool is_known_phone_region(std::string_view region) {
    return phone_util().GetCountryCodeForRegion(std::string(region)) != 0;
}

}  // namespace crm_core
