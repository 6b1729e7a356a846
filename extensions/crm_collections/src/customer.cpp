// Customers: the phone in E.164 (lib/pg/phone, national numbers read in the business's
// country), and the keyed fingerprint of phone and national id that refuses duplicates.
#include <optional>
#include <string>

#include "collections/customer_identity.hpp"
#include "configuration.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "phone/phone_sql.hpp"
#include "spi.hpp"
#include "trigger_row.hpp"

extern "C" {
#include "utils/rel.h"
}

namespace {

using crm_core::collections::glue::as_owner;
using crm_core::collections::glue::business_settings;
using crm_core::collections::glue::fingerprint_key;
using crm_core::collections::glue::table_error;
using crm_core::pg::pg_call;

// Text without surrounding blanks; std::nullopt when nothing is left.
std::optional<std::string> trimmed(const std::optional<std::string>& text) {
    if (!text) {
        return std::nullopt;
    }
    const char* blanks = " \t\r\n";
    std::size_t first = text->find_first_not_of(blanks);
    if (first == std::string::npos) {
        return std::nullopt;
    }
    std::size_t last = text->find_last_not_of(blanks);
    return text->substr(first, last - first + 1);
}

// The E.164 form of a customer's phone read in country; refuses (22023) what is not one.
std::string e164_or_refuse(const std::string& phone, const std::string& country) {
    return crm_core::pg::e164_or_refuse(phone, country, "collections", "customer");
}

Datum digest_to_bytea(const crm_core::Digest& digest) {
    return pg_call([&] {
        bytea* result = static_cast<bytea*>(palloc(VARHDRSZ + digest.size()));
        SET_VARSIZE(result, VARHDRSZ + digest.size());
        memcpy(VARDATA(result), digest.data(), digest.size());
        return PointerGetDatum(result);
    });
}

}  // namespace

// Trigger BEFORE INSERT OR UPDATE OF phone, national_id, fingerprint, business_id ON customer.
CRM_CORE_FUNCTION(crm_collections_customer_identity) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "collections._customer_identity()");
    bool updating = TRIGGER_FIRED_BY_UPDATE(data->tg_event);
    crm_core::pg::TriggerRow row(updating ? data->tg_newtuple : data->tg_trigtuple,
                                 data->tg_relation->rd_att);
    int64 business_id = row.get_int64("business_id").value_or(0);
    int64 id = row.get_int64("id").value_or(0);
    std::optional<std::string> phone = trimmed(row.get_text("phone"));
    std::optional<std::string> national_id = trimmed(row.get_text("national_id"));
    std::optional<std::string> e164;
    std::optional<crm_core::Digest> print;
    as_owner([&] {
        if (phone) {
            e164 = e164_or_refuse(*phone, business_settings(business_id).country);
        } else {
            business_settings(business_id);  // refuses a business not set up
        }
        print = crm_core::collections::customer_fingerprint(fingerprint_key(), e164, national_id);
        if (!print) {
            return;
        }
        static crm_core::pg::CachedPlan existing(
            "SELECT id, full_name FROM collections.customer "
            "WHERE business_id = $1 AND fingerprint = $2 AND id <> $3 LIMIT 1",
            {INT8OID, BYTEAOID, INT8OID});
        Datum arguments[3] = {Int64GetDatum(business_id), digest_to_bytea(*print),
                              Int64GetDatum(id)};
        if (existing.execute(arguments, nullptr, false, 1) > 0) {
            int64 other = DatumGetInt64(*crm_core::pg::result_value(0, 1));
            std::string name = crm_core::pg::text_to_string(*crm_core::pg::result_value(0, 2));
            throw table_error(
                ERRCODE_UNIQUE_VIOLATION, "customer",
                "customer with this phone and national id already exists in business " +
                    std::to_string(business_id),
                "Customer " + std::to_string(other) + " (" + name +
                    ") has them; use that id, or collections.find_or_create_customer(), "
                    "which returns it.",
                "customer_fingerprint_unique");
        }
    });
    row.set("phone",
            e164 ? std::optional<Datum>(crm_core::pg::string_to_text(*e164)) : std::nullopt);
    row.set("national_id", national_id
                               ? std::optional<Datum>(crm_core::pg::string_to_text(*national_id))
                               : std::nullopt);
    row.set("fingerprint", print ? std::optional<Datum>(digest_to_bytea(*print)) : std::nullopt);
    return PointerGetDatum(row.result());
}

// collections.normalize_phone(phone, country)
CRM_CORE_FUNCTION(crm_collections_normalize_phone) {
    return crm_core::pg::normalize_phone_call(fcinfo);
}

// collections.customer_fingerprint(business_id, phone, national_id)
CRM_CORE_FUNCTION(crm_collections_customer_fingerprint) {
    if (PG_ARGISNULL(0)) {
        PG_RETURN_NULL();
    }
    int64 business_id = PG_GETARG_INT64(0);
    std::optional<std::string> phone =
        PG_ARGISNULL(1) ? std::nullopt : trimmed(crm_core::pg::text_argument(fcinfo, 1));
    std::optional<std::string> national_id =
        PG_ARGISNULL(2) ? std::nullopt : trimmed(crm_core::pg::text_argument(fcinfo, 2));
    std::optional<crm_core::Digest> print;
    as_owner([&] {
        std::optional<std::string> e164;
        if (phone) {
            e164 = e164_or_refuse(*phone, business_settings(business_id).country);
        }
        print = crm_core::collections::customer_fingerprint(fingerprint_key(), e164, national_id);
    });
    if (!print) {
        PG_RETURN_NULL();
    }
    return digest_to_bytea(*print);
}
