#include "numeric.hpp"

#include <cstring>
#include <optional>

#include "crm_core/decimal.hpp"
#include "pg_call.hpp"

extern "C" {
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
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

// The numeric of an exact decimal, in the current memory context (palloc: call it where a
// PostgreSQL error may unwind; its locals are plain data).
Datum decimal_numeric(const crm_core::decimal::Decimal& value) {
    unsigned char payload[crm_core::decimal::kMaxEncodedSize];
    std::size_t size = crm_core::decimal::encode(value, payload);
    auto* result = static_cast<struct varlena*>(palloc(VARHDRSZ + size));
    SET_VARSIZE(result, VARHDRSZ + size);
    std::memcpy(VARDATA(result), payload, size);
    return PointerGetDatum(result);
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
    return decimal_numeric(*sum);
}

int numeric_order(Datum a, Datum b) {
    std::optional<crm_core::decimal::Decimal> left = exact_value(a), right = exact_value(b);
    if (left && right) {
        return crm_core::decimal::compare(*left, *right);
    }
    return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

int numeric_sign_of(Datum a) {
    if (std::optional<crm_core::decimal::Decimal> value = exact_value(a)) {
        return value->units < 0 ? -1 : (value->units > 0 ? 1 : 0);
    }
    Datum zero = NumericGetDatum(int64_to_numeric(0));
    return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, zero));
}

bool numeric_finite(Datum a) {
    if (exact_value(a)) {
        return true;
    }
    Numeric value = DatumGetNumeric(a);
    return !numeric_is_nan(value) && !numeric_is_inf(value);
}

void NumericSum::add(Datum numeric, MemoryContext context) {
    if (std::optional<crm_core::decimal::Decimal> term = exact_value(numeric)) {
        if (std::optional<crm_core::decimal::Decimal> sum = crm_core::decimal::add(exact_, *term)) {
            exact_ = *sum;
            return;
        }
    }
    Datum rest = rest_;
    rest_ = pg_call([&] {
        MemoryContext caller = MemoryContextSwitchTo(context);
        Datum sum = rest == 0 ? datumCopy(numeric, false, -1)
                              : DirectFunctionCall2(numeric_add, rest, numeric);
        MemoryContextSwitchTo(caller);
        return sum;
    });
}

Datum NumericSum::value() const {
    return pg_call([&] {
        Datum exact = decimal_numeric(exact_);
        return rest_ == 0 ? exact : DirectFunctionCall2(numeric_add, exact, rest_);
    });
}

int NumericSum::compare(const NumericSum& other) const {
    if (rest_ == 0 && other.rest_ == 0) {
        return crm_core::decimal::compare(exact_, other.exact_);
    }
    Datum mine = value(), theirs = other.value();
    return pg_call([&] { return numeric_order(mine, theirs); });
}

}  // namespace crm_core::pg
