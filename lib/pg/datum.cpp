#include <string>

#include "datum.hpp"

namespace crm_core::pg {

std::string text_to_string(Datum value) {
    const char* data = nullptr;
    int length = 0;
    guard([&] {
        text* detoasted = DatumGetTextPP(value);
        data = VARDATA_ANY(detoasted);
        length = VARSIZE_ANY_EXHDR(detoasted);
    });
    return std::string(data, static_cast<size_t>(length));
}

Datum string_to_text(std::string_view value) {
    return guard([&] {
        return PointerGetDatum(
            cstring_to_text_with_len(value.data(), static_cast<int>(value.size())));
    });
}

}  // namespace crm_core::pg
