// Numeric arithmetic for the ledger's running sums: exact in 128-bit integers when both values
// fit (crm_core/decimal.hpp: no allocation but the result's), PostgreSQL's numeric functions
// otherwise (NaN, infinities, toasted or very long values). The same results as numeric_add and
// numeric_cmp, to the display scale.
#pragma once

#include "crm_core/decimal.hpp"
#include "pg_includes.hpp"

namespace crm_core::pg {

// a + b as a new numeric in the current memory context. Calls PostgreSQL directly (palloc,
// numeric_add): run it inside pg_call(); its own locals are plain data.
Datum numeric_plus(Datum a, Datum b);

// The sign of a - b (-1, 0, 1) for numerics. Calls PostgreSQL directly when a value does not
// fit (numeric_cmp): run it inside pg_call().
int numeric_order(Datum a, Datum b);

// The sign of a numeric (-1, 0, 1; NaN sorts above every number, as numeric_cmp has it). Calls
// PostgreSQL directly when the value does not fit: run it inside pg_call().
int numeric_sign_of(Datum a);

// Whether a numeric is a number (not NaN, not +-Infinity). Detoasts a value that does not fit:
// run it inside pg_call().
bool numeric_finite(Datum a);

// A running sum of numerics, for the ledger's tallies and per-account totals: exact in 128-bit
// integers while its terms fit (no allocation per term), PostgreSQL's numeric_add for those
// that do not. Plain data, copyable; the numeric part, if any, lives in the memory context
// given to add(). Errors come back as crm_core::pg::Error.
class NumericSum {
  public:
    // Adds a numeric Datum (what does not fit is summed as a numeric in context).
    void add(Datum numeric, MemoryContext context);
    // The sum as a new numeric in the current memory context, with the display scale
    // numeric_add would give it.
    Datum value() const;
    // The sign of this - other: -1, 0 or 1.
    int compare(const NumericSum& other) const;

  private:
    crm_core::decimal::Decimal exact_{};
    Datum rest_ = 0;  // the numeric sum of the terms that did not fit; 0 when none
};

}  // namespace crm_core::pg
