#include <string>

#include "datum.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
}

namespace crm_core::pg {

// A text Datum's characters, detoasted into the current memory context when needed (the view
// lives as long as that context).
static std::string_view text_view(Datum value) {
    const char* data = nullptr;
    int length = 0;
    pg_call([&] {
        text* detoasted = DatumGetTextPP(value);
        data = VARDATA_ANY(detoasted);
        length = VARSIZE_ANY_EXHDR(detoasted);
    });
    return std::string_view(data, static_cast<size_t>(length));
}

std::string text_to_string(Datum value) {
    return std::string(text_view(value));
}

bool text_equals(Datum value, std::string_view expected) {
    return text_view(value) == expected;
}

std::string numeric_text(Datum value) {
    const char* text =
        pg_call([&] { return DatumGetCString(DirectFunctionCall1(numeric_out, value)); });
    return text;
}

Datum string_to_text(std::string_view value) {
    return pg_call([&] {
        return PointerGetDatum(
            cstring_to_text_with_len(value.data(), static_cast<int>(value.size())));
    });
}

Datum make_array(Oid element_type, const std::vector<Datum>& values,
                 const std::vector<bool>& nulls) {
    int count = static_cast<int>(values.size());
    return pg_call([&] {
        int16 length = 0;
        bool by_value = false;
        char alignment = 'i';
        get_typlenbyvalalign(element_type, &length, &by_value, &alignment);
        bool* null_flags = static_cast<bool*>(palloc(sizeof(bool) * (count > 0 ? count : 1)));
        for (int i = 0; i < count; ++i) {
            null_flags[i] = nulls[i];
        }
        int dimensions[1] = {count};
        int lower_bounds[1] = {1};
        return PointerGetDatum(construct_md_array(const_cast<Datum*>(values.data()), null_flags, 1,
                                                  dimensions, lower_bounds, element_type, length,
                                                  by_value, alignment));
    });
}

std::vector<std::optional<Datum>> array_elements(Datum array, Oid element_type) {
    Datum* elements = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    pg_call([&] {
        int16 length = 0;
        bool by_value = false;
        char alignment = 'i';
        get_typlenbyvalalign(element_type, &length, &by_value, &alignment);
        deconstruct_array(DatumGetArrayTypeP(array), element_type, length, by_value, alignment,
                          &elements, &nulls, &count);
    });
    std::vector<std::optional<Datum>> out;
    out.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        out.push_back(nulls[i] ? std::nullopt : std::optional<Datum>(elements[i]));
    }
    return out;
}

int64_t integer_datum(Datum value, Oid type) {
    switch (type) {
        case INT2OID:
            return DatumGetInt16(value);
        case INT4OID:
            return DatumGetInt32(value);
        default:
            return DatumGetInt64(value);
    }
}

}  // namespace crm_core::pg
