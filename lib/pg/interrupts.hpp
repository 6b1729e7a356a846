// PostgreSQL's CHECK_FOR_INTERRUPTS for C++ code, and the pure library's cancellation hook.
#pragma once

#include "pg_call.hpp"

namespace crm_core::pg {

// Services a pending interrupt (query cancel, statement_timeout, termination): returns at once
// when none is pending, throws crm_core::pg::Error when the query must stop. Call it in every
// loop over user-sized input; pure code reaches it through crm_core::check_interrupts(), which
// this library installs when it is loaded.
inline void check_for_interrupts() {
    if (INTERRUPTS_PENDING_CONDITION()) {
        pg_call([] { CHECK_FOR_INTERRUPTS(); });
    }
}

}  // namespace crm_core::pg
