// Calls from C++ into PostgreSQL: run them inside PG_TRY so an ereport becomes a C++ exception.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "error.hpp"
#include "pg_includes.hpp"

namespace crm_core::pg {

// Builds an Error from a copied ErrorData (origin included), frees it, and throws.
[[noreturn]] void throw_error_data(ErrorData* edata);

// Runs fn (a call into PostgreSQL) so that an ERROR it raises comes back as crm_core::pg::Error
// (with its location and context, re-raised unchanged at the boundary).
// fn is skipped by longjmp on error: its own locals must be plain data (no destructors).
template <typename Fn>
auto pg_call(Fn&& fn) -> decltype(fn()) {
    using Result = decltype(fn());
    if constexpr (std::is_void_v<Result>) {
        pg_call([&] {
            fn();
            return true;
        });
    } else {
        MemoryContext caller_context = CurrentMemoryContext;
        ErrorData* volatile edata = nullptr;
        std::optional<Result> result;
        PG_TRY();
        { result.emplace(fn()); }
        PG_CATCH();
        {
            MemoryContextSwitchTo(caller_context);
            edata = CopyErrorData();
            FlushErrorState();
        }
        PG_END_TRY();
        if (edata != nullptr) {
            throw_error_data(edata);
        }
        return std::move(*result);
    }
}

// Runs fn inside an internal subtransaction, like a PL/pgSQL EXCEPTION block: when fn throws,
// the subtransaction is rolled back (releasing locks, SPI state and memory) and the exception
// propagates; catching it afterwards and carrying on is then safe.
template <typename Fn>
void in_subtransaction(Fn&& fn) {
    MemoryContext caller_context = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    pg_call([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(caller_context);
    try {
        fn();
    } catch (...) {
        pg_call([] { RollbackAndReleaseCurrentSubTransaction(); });
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;
        throw;
    }
    pg_call([] { ReleaseCurrentSubTransaction(); });
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
}

}  // namespace crm_core::pg
