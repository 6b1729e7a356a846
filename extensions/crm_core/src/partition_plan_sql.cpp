// SQL-callable face of the partition planner (crm_core/partition_plan.hpp). The DDL itself
// runs in PL/pgSQL (sql/install/31_partition_planner.sql to 35_partition_status.sql), one
// subtransaction per step.
#include <optional>
#include <string>
#include <vector>

#include "crm_core/partition_plan.hpp"
#include "interrupts.hpp"
#include "datum.hpp"
#include "function.hpp"

extern "C" {
#include "nodes/parsenodes.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/timestamp.h"
}

namespace {

namespace part = crm_core::partition;
using crm_core::pg::Error;
using crm_core::pg::pg_call;

// Microseconds between 1970-01-01 (the planner's epoch) and 2000-01-01 (PostgreSQL's).
constexpr part::Micros kPostgresEpochOffset =
    static_cast<part::Micros>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * part::kMicrosPerDay;

// A PostgreSQL timestamp (UTC wall clock) as planner time; infinities map to infinities.
part::Micros to_micros(Timestamp value) {
    if (TIMESTAMP_IS_NOBEGIN(value)) {
        return part::kMinusInfinity;
    }
    if (TIMESTAMP_IS_NOEND(value)) {
        return part::kPlusInfinity;
    }
    return value + kPostgresEpochOffset;
}

// Planner time as a PostgreSQL timestamp.
Timestamp to_timestamp(part::Micros value) {
    if (value == part::kMinusInfinity) {
        return DT_NOBEGIN;
    }
    if (value == part::kPlusInfinity) {
        return DT_NOEND;
    }
    return value - kPostgresEpochOffset;
}

// An interval Datum as the planner's Interval.
part::Interval to_interval(Datum value) {
    const ::Interval* interval = DatumGetIntervalP(value);
    return {interval->month, interval->day, interval->time};
}

// The partition unit an interval names, or a 22023 error that says what is allowed.
part::Unit unit_or_error(const part::Interval& every) {
    if (!part::is_positive(every)) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "partition interval must be positive", "",
                    "Use '1 day', '1 week', '1 month', '3 months' or '1 year'.");
    }
    std::optional<part::Unit> unit = part::unit_of(every);
    if (!unit) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "unsupported partition interval",
                    "crm_core partitions by whole days, weeks, months, quarters or years.",
                    "Use '1 day', '1 week', '1 month', '3 months' or '1 year'.");
    }
    return *unit;
}

// The elements of a one-dimensional array argument (no NULLs allowed) as Datums.
std::vector<Datum> array_elements(Datum array, Oid element_type) {
    std::vector<Datum> result;
    for (const std::optional<Datum>& element : crm_core::pg::array_elements(array, element_type)) {
        crm_core::pg::check_for_interrupts();
        if (!element) {
            throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "partition arrays must not hold NULLs");
        }
        result.push_back(*element);
    }
    return result;
}

// Appends one row (action, partition_name, lower_bound, upper_bound) to the result set.
void put_row(ReturnSetInfo* result, const char* action, const part::Partition& partition) {
    Datum values[4];
    bool nulls[4] = {false, false, false, false};
    values[0] = crm_core::pg::string_to_text(action);
    values[1] = crm_core::pg::string_to_text(partition.name);
    values[2] = TimestampGetDatum(to_timestamp(partition.range.lower));
    values[3] = TimestampGetDatum(to_timestamp(partition.range.upper));
    pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
}

}  // namespace

// crm_core._partition_unit(every interval): 'day' | 'week' | 'month' | 'quarter' | 'year'.
CRM_CORE_FUNCTION(crm_core_partition_unit) {
    part::Unit unit = unit_or_error(to_interval(PG_GETARG_DATUM(0)));
    return crm_core::pg::string_to_text(part::unit_name(unit));
}

// crm_core._partition_plan(parent_name, every, premake, retention, now, existing_names,
// existing_lower, existing_upper): rows ('create'|'retire', name, lower, upper).
CRM_CORE_FUNCTION(crm_core_partition_plan) {
    for (int argument : {0, 1, 2, 4, 5, 6, 7}) {
        if (PG_ARGISNULL(argument)) {
            throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED,
                        "only the retention argument of _partition_plan may be NULL");
        }
    }
    const std::string parent = crm_core::pg::text_argument(fcinfo, 0);
    part::Config config{unit_or_error(to_interval(PG_GETARG_DATUM(1))), PG_GETARG_INT32(2),
                        std::nullopt};
    if (config.premake < 0) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "premake must be zero or more");
    }
    if (!PG_ARGISNULL(3)) {
        config.retention = to_interval(PG_GETARG_DATUM(3));
    }
    const part::Micros now = to_micros(PG_GETARG_TIMESTAMPTZ(4));

    std::vector<Datum> names = array_elements(PG_GETARG_DATUM(5), TEXTOID);
    std::vector<Datum> lowers = array_elements(PG_GETARG_DATUM(6), TIMESTAMPOID);
    std::vector<Datum> uppers = array_elements(PG_GETARG_DATUM(7), TIMESTAMPOID);
    if (names.size() != lowers.size() || names.size() != uppers.size()) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "partition arrays differ in length");
    }
    std::vector<part::Partition> existing;
    for (std::size_t i = 0; i < names.size(); ++i) {
        crm_core::pg::check_for_interrupts();
        existing.push_back(
            {crm_core::pg::text_to_string(names[i]),
             {to_micros(DatumGetTimestamp(lowers[i])), to_micros(DatumGetTimestamp(uppers[i]))}});
    }

    const part::Plan plan = part::plan(parent, config, now, existing);
    pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const part::Partition& partition : plan.retire) {
        crm_core::pg::check_for_interrupts();
        put_row(result, "retire", partition);
    }
    for (const part::Partition& partition : plan.create) {
        crm_core::pg::check_for_interrupts();
        put_row(result, "create", partition);
    }
    return (Datum)0;
}

// crm_core._partition_slot(parent_name, every, at timestamp): the one partition that holds `at`
// as a row ('create', name, lower, upper).
CRM_CORE_FUNCTION(crm_core_partition_slot) {
    const std::string parent = crm_core::pg::text_argument(fcinfo, 0);
    const part::Unit unit = unit_or_error(to_interval(PG_GETARG_DATUM(1)));
    const part::Micros at = to_micros(PG_GETARG_TIMESTAMP(2));
    if (at == part::kMinusInfinity || at == part::kPlusInfinity) {
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "an infinite time has no partition");
    }
    const part::Micros lower = part::slot_start(unit, at);
    const part::Partition slot{part::partition_name(parent, unit, lower),
                               {lower, part::next_slot(unit, lower)}};
    pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
    put_row(reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo), "create", slot);
    return (Datum)0;
}

// crm_core._partition_identifier(parent_name, suffix): parent + suffix within 63 bytes.
CRM_CORE_FUNCTION(crm_core_partition_identifier) {
    return crm_core::pg::string_to_text(part::fit_identifier(
        crm_core::pg::text_argument(fcinfo, 0), crm_core::pg::text_argument(fcinfo, 1)));
}

namespace {

// A range bound datum (first key column) as a PostgreSQL timestamp in UTC.
Timestamp bound_timestamp(const PartitionRangeDatum* datum) {
    if (datum->kind == PARTITION_RANGE_DATUM_MINVALUE) {
        return DT_NOBEGIN;
    }
    if (datum->kind == PARTITION_RANGE_DATUM_MAXVALUE) {
        return DT_NOEND;
    }
    const Const* value = reinterpret_cast<const Const*>(datum->value);
    if (value == nullptr || !IsA(value, Const) || value->constisnull) {
        throw Error(ERRCODE_DATA_EXCEPTION, "partition bound is not a constant");
    }
    switch (value->consttype) {
        case TIMESTAMPOID:
        case TIMESTAMPTZOID:
            return DatumGetTimestamp(value->constvalue);
        case DATEOID: {
            const DateADT date = DatumGetDateADT(value->constvalue);
            if (DATE_IS_NOBEGIN(date)) {
                return DT_NOBEGIN;
            }
            if (DATE_IS_NOEND(date)) {
                return DT_NOEND;
            }
            return static_cast<Timestamp>(date) * USECS_PER_DAY;
        }
        default:
            throw Error(ERRCODE_DATATYPE_MISMATCH, "partition bound is not a date or timestamp");
    }
}

}  // namespace

// crm_core._partition_range(relpartbound pg_node_tree): '{lower, upper}' as UTC timestamps
// (MINVALUE/MAXVALUE as -infinity/infinity), or NULL for a default partition. Reads the stored
// bound directly: no deparsing, no dependence on the session's TimeZone or DateStyle.
CRM_CORE_FUNCTION(crm_core_partition_range) {
    const std::string stored = crm_core::pg::text_argument(fcinfo, 0);
    const PartitionBoundSpec* spec = nullptr;
    pg_call([&] { spec = static_cast<const PartitionBoundSpec*>(stringToNode(stored.c_str())); });
    if (spec == nullptr || !IsA(spec, PartitionBoundSpec)) {
        throw Error(ERRCODE_DATA_EXCEPTION, "not a partition bound");
    }
    if (spec->is_default) {
        PG_RETURN_NULL();
    }
    if (spec->strategy != PARTITION_STRATEGY_RANGE || spec->lowerdatums == NIL ||
        spec->upperdatums == NIL) {
        throw Error(ERRCODE_WRONG_OBJECT_TYPE, "not a range partition bound");
    }
    Datum bounds[2] = {
        TimestampGetDatum(
            bound_timestamp(static_cast<const PartitionRangeDatum*>(linitial(spec->lowerdatums)))),
        TimestampGetDatum(
            bound_timestamp(static_cast<const PartitionRangeDatum*>(linitial(spec->upperdatums)))),
    };
    return pg_call([&] {
        return PointerGetDatum(
            construct_array(bounds, 2, TIMESTAMPOID, sizeof(Timestamp), true, TYPALIGN_DOUBLE));
    });
}
