#include "numeric.hpp"

#include <cstring>
#include <optional>

#include "crm_core/decimal.hpp"

extern "C" {
#include "utils/fmgrprotos.h"
}

namespace crm_core::pg {

namespace {

// The exact decimal of a numeric Datum, or std::nullopt when it is compressed or stored out of
// line (PostgreSQL detoasts those) or does not fit.
std::optional<crm_core::decimal::Decimal> exact_value(Datum numeric) noexcept {
    const auto* value = reinterpret_cast<const struct varlena*>(DatumGetPointer(numeric));
    if (VARATT_IS_EXTERNAL(value) || VARATT_IS_COMPRESSED(value)) {
        return std::nullopt;
    }
    return crm_core::decimal::decode(reinterpret_cast<const unsigned char*>(VARDATA_ANY(value)),
                                     VARSIZE_ANY_EXHDR(value));
}

}  // namespace

Datum numeric_plus(Datum a, Datum b) {
    std::optional<crm_core::decimal::Decimal> left = exact_value(a), right = exact_value(b);
    std::optional<crm_core::decimal::Decimal> sum;
    if (left && right) {
        sum = crm_core::decimal::add(*left, *right);
    }
    if (!sum) {
        return DirectFunctionCall2(numeric_add, a, b);
    }
    unsigned char payload[crm_core::decimal::kMaxEncodedSize];
    std::size_t size = crm_core::decimal::encode(*sum, payload);
    auto* result = static_cast<struct varlena*>(palloc(VARHDRSZ + size));
    SET_VARSIZE(result, VARHDRSZ + size);
    std::memcpy(VARDATA(result), payload, size);
    return PointerGetDatum(result);
}

int numeric_order(Datum a, Datum b) {
    std::optional<crm_core::decimal::Decimal> left = exact_value(a), right = exact_value(b);
    if (left && right) {
        return crm_core::decimal::compare(*left, *right);
    }
    return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

}  // namespace crm_core::pg
