#include <string>

#include "datum.hpp"

namespace crm_core::pg {

std::string text_to_string(Datum value) {
    const char* data = nullptr;
    int length = 0;
    pg_call([&] {
        text* detoasted = DatumGetTextPP(value);
        data = VARDATA_ANY(detoasted);
        length = VARSIZE_ANY_EXHDR(detoasted);
    });
    return std::string(data, static_cast<size_t>(length));
}

Datum string_to_text(std::string_view value) {
    return pg_call([&] {
        return PointerGetDatum(
            cstring_to_text_with_len(value.data(), static_cast<int>(value.size())));
    });
}

}  // namespace crm_core::pg
