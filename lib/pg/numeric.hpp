// Numeric arithmetic for the ledger's running sums: exact in 128-bit integers when both values
// fit (crm_core/decimal.hpp: no allocation but the result's), PostgreSQL's numeric functions
// otherwise (NaN, infinities, toasted or very long values). The same results as numeric_add and
// numeric_cmp, to the display scale.
#pragma once

#include "pg_includes.hpp"

namespace crm_core::pg {

// a + b as a new numeric in the current memory context. Calls PostgreSQL directly (palloc,
// numeric_add): run it inside pg_call(); its own locals are plain data.
Datum numeric_plus(Datum a, Datum b);

// The sign of a - b (-1, 0, 1) for numerics. Calls PostgreSQL directly when a value does not
// fit (numeric_cmp): run it inside pg_call().
int numeric_order(Datum a, Datum b);

}  // namespace crm_core::pg
