#include <optional>
#include <string>

#include "spi.hpp"

namespace crm_core::pg {

namespace {

uint64 preparation_count = 0;

// Raises an Error for a negative SPI return code (SPI reports some failures this way).
void check_spi_result(int code, const char* what) {
    if (code < 0) {
        throw Error(ERRCODE_INTERNAL_ERROR,
                    std::string(what) + " failed: " + SPI_result_code_string(code));
    }
}

}  // namespace

SpiConnection::SpiConnection() {
    int code = pg_call([] { return SPI_connect(); });
    check_spi_result(code, "SPI_connect");
}

SpiConnection::~SpiConnection() {
    SPI_finish();
}

CachedPlan::CachedPlan(const char* sql, std::vector<Oid> argument_types, bool generic)
    : sql_(sql), argument_types_(std::move(argument_types)), generic_(generic) {}

SPIPlanPtr CachedPlan::plan() {
    if (plan_ != nullptr) {
        return plan_;
    }
    const char* sql = sql_;
    int count = static_cast<int>(argument_types_.size());
    Oid* types = argument_types_.data();
    int options = generic_ ? CURSOR_OPT_GENERIC_PLAN : 0;
    SPIPlanPtr prepared = pg_call([&] { return SPI_prepare_cursor(sql, count, types, options); });
    if (prepared == nullptr) {
        check_spi_result(SPI_result, "SPI_prepare");
    }
    check_spi_result(pg_call([&] { return SPI_keepplan(prepared); }), "SPI_keepplan");
    plan_ = prepared;
    ++preparation_count;
    return plan_;
}

uint64 CachedPlan::execute(const Datum* values, const char* nulls, bool read_only, long row_limit) {
    SPIPlanPtr prepared = plan();
    int code = pg_call([&] {
        return SPI_execute_plan(prepared, const_cast<Datum*>(values), nulls, read_only, row_limit);
    });
    check_spi_result(code, "SPI_execute_plan");
    return SPI_processed;
}

uint64 CachedPlan::preparations() {
    return preparation_count;
}

uint64 execute_with_arguments(const char* sql, int count, const Oid* types, const Datum* values,
                              const char* nulls, bool read_only, long row_limit) {
    int code = pg_call([&] {
        return SPI_execute_with_args(sql, count, const_cast<Oid*>(types),
                                     const_cast<Datum*>(values), nulls, read_only, row_limit);
    });
    check_spi_result(code, "SPI_execute_with_args");
    return SPI_processed;
}

uint64 execute_once(const char* sql, bool read_only, long row_limit) {
    int code = pg_call([&] { return SPI_execute(sql, read_only, row_limit); });
    check_spi_result(code, "SPI_execute");
    return SPI_processed;
}

std::optional<Datum> result_value(uint64 row, int column) {
    bool is_null = false;
    Datum value = pg_call([&] {
        return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, &is_null);
    });
    if (is_null) {
        return std::nullopt;
    }
    return value;
}

}  // namespace crm_core::pg
