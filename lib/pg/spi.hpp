// SPI from C++: a connection that always finishes, and plans prepared once per backend.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "pg_call.hpp"

namespace crm_core::pg {

// An SPI connection for the lifetime of the object (SPI_connect / SPI_finish).
class SpiConnection {
  public:
    SpiConnection();
    ~SpiConnection();
    SpiConnection(const SpiConnection&) = delete;
    SpiConnection& operator=(const SpiConnection&) = delete;
};

// A statement prepared on first use and kept for the life of the backend (SPI_keepplan).
// Declare it `static` next to the code that runs it; PostgreSQL's plan cache revalidates it
// when the tables it reads change.
class CachedPlan {
  public:
    // generic: always run the one generic plan (no per-call re-planning for the parameter
    // values), for statements whose best plan does not depend on them.
    CachedPlan(const char* sql, std::vector<Oid> argument_types, bool generic = false);
    CachedPlan(const CachedPlan&) = delete;
    CachedPlan& operator=(const CachedPlan&) = delete;

    // Executes the plan under the current SPI connection; returns SPI_processed.
    // nulls follows SPI's convention: ' ' for a value, 'n' for NULL; nullptr means none.
    uint64 execute(const Datum* values, const char* nulls, bool read_only, long row_limit = 0);

    // How many plans this backend has prepared so far (tests prove it is once per plan).
    static uint64 preparations();

  private:
    SPIPlanPtr plan();

    const char* sql_;
    std::vector<Oid> argument_types_;
    bool generic_;
    SPIPlanPtr plan_ = nullptr;
};

// Runs a statement with arguments ($1 ...), planned for these values (never a generic plan);
// returns SPI_processed. nulls as for CachedPlan::execute.
uint64 execute_with_arguments(const char* sql, int count, const Oid* types, const Datum* values,
                              const char* nulls, bool read_only, long row_limit = 0);

// Runs a one-off statement (no cached plan); returns SPI_processed. For DDL and rare paths.
uint64 execute_once(const char* sql, bool read_only, long row_limit = 0);

// The column of the current SPI result row, or std::nullopt for NULL.
std::optional<Datum> result_value(uint64 row, int column);

}  // namespace crm_core::pg
