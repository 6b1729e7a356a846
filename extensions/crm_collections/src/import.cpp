// Import validation for SQL: one raw record (jsonb) of a source's entity mapped by the pure
// rules (lib/pure collections/import_mapping.hpp) into its fields, E.164 phone and fingerprint.
#include <optional>
#include <string>

#include "collections/customer_identity.hpp"
#include "collections/import_mapping.hpp"
#include "configuration.hpp"
#include "crm_core/canonical.hpp"
#include "datum.hpp"
#include "function.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
}

namespace {

namespace import = crm_core::collections::import;
using crm_core::pg::Error;
using crm_core::pg::pg_call;

// One scalar of a jsonb document, its key path joined by dots; plain data (palloc'd strings).
struct FlatField {
    char* key;
    char* value;
};

constexpr int kMaxDepth = 8;
constexpr int kMaxFields = 512;

// Flattens a jsonb object: nested objects' keys are joined by dots ("customer.phone"), arrays
// and nulls are left out. Plain data only (runs inside guard).
int flatten_jsonb(Jsonb* document, FlatField* fields) {
    int count = 0;
    char path[kMaxDepth][NAMEDATALEN * 2];
    int depth = -1;
    int array_depth = 0;
    char key[NAMEDATALEN * 2] = "";
    JsonbValue value;
    JsonbIterator* iterator = JsonbIteratorInit(&document->root);
    JsonbIteratorToken token;
    while ((token = JsonbIteratorNext(&iterator, &value, false)) != WJB_DONE) {
        CHECK_FOR_INTERRUPTS();
        if (token == WJB_BEGIN_ARRAY) {
            ++array_depth;
        } else if (token == WJB_END_ARRAY) {
            --array_depth;
        } else if (array_depth > 0) {
            continue;
        } else if (token == WJB_BEGIN_OBJECT) {
            if (++depth >= kMaxDepth) {
                ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                                errmsg("an import record nests objects deeper than %d levels",
                                       kMaxDepth)));
            }
            if (depth == 0) {
                path[0][0] = '\0';
            } else {
                snprintf(path[depth], sizeof path[depth], "%s%s%s", path[depth - 1],
                         path[depth - 1][0] ? "." : "", key);
            }
        } else if (token == WJB_END_OBJECT) {
            --depth;
        } else if (token == WJB_KEY) {
            snprintf(key, sizeof key, "%.*s", value.val.string.len, value.val.string.val);
        } else if (token == WJB_VALUE && value.type != jbvNull) {
            if (count >= kMaxFields) {
                ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                                errmsg("an import record has more than %d fields", kMaxFields)));
            }
            fields[count].key = psprintf("%s%s%s", path[depth], path[depth][0] ? "." : "", key);
            switch (value.type) {
                case jbvString:
                    fields[count].value = pnstrdup(value.val.string.val, value.val.string.len);
                    break;
                case jbvNumeric:
                    fields[count].value = DatumGetCString(
                        DirectFunctionCall1(numeric_out, NumericGetDatum(value.val.numeric)));
                    break;
                case jbvBool:
                    fields[count].value = pstrdup(value.val.boolean ? "true" : "false");
                    break;
                default:
                    fields[count].value = pstrdup("");
            }
            ++count;
        }
    }
    return count;
}

Datum optional_text(const std::optional<std::string>& text) {
    return text ? crm_core::pg::string_to_text(*text) : Datum(0);
}

}  // namespace

// collections._import_map(source, entity, raw, country, currency,
//     OUT error, OUT key, OUT phone, OUT national_id, OUT fingerprint, OUT data)
CRM_CORE_FUNCTION(crm_collections_import_map) {
    for (int argument = 0; argument < 5; ++argument) {
        if (PG_ARGISNULL(argument)) {
            throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED,
                        "collections._import_map needs every argument");
        }
    }
    std::string source_text = crm_core::pg::text_argument(fcinfo, 0);
    std::optional<import::Source> source = import::parse_source(source_text);
    if (!source) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                    "unknown import source \"" + source_text + "\"", "",
                    "Sources: " + import::source_names() + ".");
    }
    std::string entity = crm_core::pg::text_argument(fcinfo, 1);
    if (import::find_entity(*source, entity) == nullptr) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                    "source " + source_text + " has no entity \"" + entity + "\"", "",
                    "Entities of " + source_text + ": " + import::entity_names(*source) + ".");
    }
    Jsonb* document = pg_call([&] { return PG_GETARG_JSONB_P(2); });
    import::Settings settings{crm_core::pg::text_argument(fcinfo, 3),
                              crm_core::pg::text_argument(fcinfo, 4)};

    import::RawRow raw;
    if (pg_call([&] { return JB_ROOT_IS_OBJECT(document); })) {
        FlatField* fields = pg_call(
            [&] { return static_cast<FlatField*>(palloc(sizeof(FlatField) * kMaxFields)); });
        int count = pg_call([&] { return flatten_jsonb(document, fields); });
        for (int i = 0; i < count; ++i) {
            raw[fields[i].key] = fields[i].value;
        }
    } else {
        raw[std::string(import::kShapeErrorField)] = "the record is not a JSON object";
    }

    import::MappedRow row = import::map_row(*source, entity, raw, settings);
    std::optional<crm_core::Digest> print;
    if (row.error.empty() && (row.phone || row.national_id)) {
        crm_core::collections::glue::as_owner([&] {
            print = crm_core::collections::customer_fingerprint(
                crm_core::collections::glue::fingerprint_key(), row.phone, row.national_id);
        });
    }
    std::string data = crm_core::json_object(row.data);

    Datum values[6];
    bool nulls[6];
    values[0] =
        optional_text(row.error.empty() ? std::nullopt : std::optional<std::string>(row.error));
    values[1] = optional_text(row.key.empty() ? std::nullopt : std::optional<std::string>(row.key));
    values[2] = optional_text(row.phone);
    values[3] = optional_text(row.national_id);
    values[4] = 0;
    values[5] = 0;
    for (int i = 0; i < 4; ++i) {
        nulls[i] = values[i] == Datum(0);
    }
    nulls[4] = !print;
    nulls[5] = !row.error.empty();
    const char* data_text = data.c_str();
    return pg_call([&] {
        if (print) {
            bytea* bytes = static_cast<bytea*>(palloc(VARHDRSZ + print->size()));
            SET_VARSIZE(bytes, VARHDRSZ + print->size());
            memcpy(VARDATA(bytes), print->data(), print->size());
            values[4] = PointerGetDatum(bytes);
        }
        if (!nulls[5]) {
            values[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(data_text));
        }
        TupleDesc descriptor = nullptr;
        if (get_call_result_type(fcinfo, nullptr, &descriptor) != TYPEFUNC_COMPOSITE) {
            elog(ERROR, "collections._import_map must return a record");
        }
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(descriptor), values, nulls));
    });
}
