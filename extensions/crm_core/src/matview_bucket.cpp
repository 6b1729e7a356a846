// Incremental refresh of time-bucket summaries: a statement trigger on the source table logs
// which buckets its rows touched, and a refresh recomputes only those buckets.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "acting_as.hpp"
#include "crm_core/matview_plan.hpp"
#include "interrupts.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "relation.hpp"
#include "trigger.hpp"
#include "spi.hpp"

extern "C" {
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace {

using crm_core::pg::Error;
using crm_core::pg::pg_call;
namespace mv = crm_core::matview;

constexpr std::int64_t kMicrosecondsPerDay = 86'400'000'000;

// A time column value as microseconds since 2000-01-01 (dates at midnight); infinities map to
// the int64 limits.
std::int64_t time_microseconds(Datum value, Oid type) {
    if (type != DATEOID) {
        return DatumGetInt64(value);
    }
    DateADT day = DatumGetDateADT(value);
    if (DATE_IS_NOBEGIN(day)) {
        return mv::kMinusInfinity;
    }
    if (DATE_IS_NOEND(day)) {
        return mv::kPlusInfinity;
    }
    return static_cast<std::int64_t>(day) * kMicrosecondsPerDay;
}

// The inverse of time_microseconds for a bucket boundary, as a Datum of the column's type.
Datum time_datum(std::int64_t microseconds, Oid type) {
    if (type != DATEOID) {
        return Int64GetDatum(microseconds);
    }
    if (microseconds == mv::kMinusInfinity) {
        return DateADTGetDatum(DATEVAL_NOBEGIN);
    }
    if (microseconds == mv::kPlusInfinity) {
        return DateADTGetDatum(DATEVAL_NOEND);
    }
    return DateADTGetDatum(static_cast<DateADT>(microseconds / kMicrosecondsPerDay));
}

// An int8[] Datum holding values.
Datum int8_array(const std::vector<std::int64_t>& values) {
    int count = static_cast<int>(values.size());
    const std::int64_t* data = values.data();
    return pg_call([&] {
        Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * (count > 0 ? count : 1)));
        for (int i = 0; i < count; ++i) {
            CHECK_FOR_INTERRUPTS();
            elements[i] = Int64GetDatum(data[i]);
        }
        return PointerGetDatum(
            construct_array(elements, count, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
    });
}

// An identifier quoted for SQL when needed.
std::string quoted(const std::string& identifier) {
    const char* name = identifier.c_str();
    return pg_call([&] { return quote_identifier(name); });
}

// The bucket ranges touched by the rows of one transition table. Reads the tuplestore the
// way the executor's NamedTuplestoreScan does (its own rewound read pointer, a minimal-tuple
// slot), in batches: no SPI, no tuple copies, and memory for one batch only.
std::vector<mv::TimeRange> ranges_in(Tuplestorestate* rows, TupleDesc descriptor, int attribute,
                                     Oid type, const mv::BucketGrid& grid) {
    constexpr std::size_t kBatchRows = 65536;
    int read_pointer = 0;
    TupleTableSlot* slot = pg_call([&] {
        read_pointer = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
        tuplestore_select_read_pointer(rows, read_pointer);
        tuplestore_rescan(rows);
        return MakeSingleTupleTableSlot(descriptor, &TTSOpsMinimalTuple);
    });
    std::vector<mv::TimeRange> ranges;
    std::size_t merged_size = 1;  // ranges are merged when they doubled since the last merge
    std::vector<std::int64_t> times(kBatchRows);
    for (bool more = true; more;) {
        std::int64_t* out = times.data();
        std::size_t read = 0;
        more = pg_call([&] {
            tuplestore_select_read_pointer(rows, read_pointer);
            while (read < kBatchRows) {
                CHECK_FOR_INTERRUPTS();
                if (!tuplestore_gettupleslot(rows, true, false, slot)) {
                    return false;
                }
                bool is_null = false;
                Datum value = slot_getattr(slot, attribute, &is_null);
                if (!is_null) {
                    out[read++] = time_microseconds(value, type);
                }
            }
            return true;
        });
        std::vector<mv::TimeRange> batch = mv::changed_bucket_ranges(
            grid, std::vector<std::int64_t>(times.begin(), times.begin() + read));
        ranges.insert(ranges.end(), batch.begin(), batch.end());
        if (ranges.size() >= 2 * merged_size) {
            ranges = mv::merge_ranges(std::move(ranges));
            merged_size = std::max<std::size_t>(ranges.size(), 1);
        }
    }
    pg_call([&] {
        ExecDropSingleTupleTableSlot(slot);
        tuplestore_select_read_pointer(rows, 0);
    });
    return mv::merge_ranges(std::move(ranges));
}

// The bucket ranges touched by the statement's old and new rows.
std::vector<mv::TimeRange> changed_ranges(TriggerData* trigger_data, const std::string& column,
                                          const mv::BucketGrid& grid) {
    TupleDesc descriptor = RelationGetDescr(trigger_data->tg_relation);
    const char* name = column.c_str();
    int attribute = pg_call([&] { return SPI_fnumber(descriptor, name); });
    if (attribute <= 0) {
        throw Error(ERRCODE_UNDEFINED_COLUMN,
                    "time column \"" + column + "\" of a bucket summary's source is gone", "",
                    "Unregister the summary and register it again.");
    }
    Oid type = TupleDescAttr(descriptor, attribute - 1)->atttypid;
    std::vector<mv::TimeRange> ranges;
    for (Tuplestorestate* rows : {trigger_data->tg_oldtable, trigger_data->tg_newtable}) {
        if (rows != nullptr) {
            std::vector<mv::TimeRange> found = ranges_in(rows, descriptor, attribute, type, grid);
            ranges.insert(ranges.end(), found.begin(), found.end());
        }
    }
    return mv::merge_ranges(std::move(ranges));
}

// Appends ranges to the summary's invalidation log (under the caller's SPI connection).
void log_ranges(Oid summary, const std::vector<mv::TimeRange>& ranges) {
    if (ranges.empty()) {
        return;
    }
    std::vector<std::int64_t> lowers;
    std::vector<std::int64_t> uppers;
    for (const mv::TimeRange& range : ranges) {
        crm_core::pg::check_for_interrupts();
        lowers.push_back(range.lower);
        uppers.push_back(range.upper);
    }
    static crm_core::pg::CachedPlan insert_ranges(
        "INSERT INTO crm_core.bucket_invalidation (summary, lower_us, upper_us) "
        "SELECT $1, r.lower_us, r.upper_us FROM unnest($2, $3) AS r(lower_us, upper_us)",
        {OIDOID, INT8ARRAYOID, INT8ARRAYOID});
    Datum values[3] = {ObjectIdGetDatum(summary), int8_array(lowers), int8_array(uppers)};
    insert_ranges.execute(values, nullptr, false);
}

// Runs sql with the two range bounds as $1 and $2; returns the rows it processed.
uint64 execute_with_range(const std::string& sql, Oid type, Datum lower, Datum upper) {
    Oid types[2] = {type, type};
    Datum values[2] = {lower, upper};
    return crm_core::pg::execute_with_arguments(sql.c_str(), 2, types, values, nullptr, false);
}

}  // namespace

// Statement trigger on a bucket summary's source and its partitions: for every summary fed by
// the table (or an ancestor of it), logs the bucket ranges the statement's rows touched. It
// finds the summaries in crm_core.bucket_summary rather than in trigger arguments, so the
// triggers survive pg_dump/restore (new OIDs) and renames.
CRM_CORE_FUNCTION(crm_core_bucket_invalidate) {
    TriggerData* trigger_data = crm_core::pg::trigger_data(fcinfo, "crm_core._bucket_invalidate()");
    if (!TRIGGER_FIRED_FOR_STATEMENT(trigger_data->tg_event)) {
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "crm_core._bucket_invalidate() must be a statement trigger", "",
                    "Register the summary with crm_core.register_bucket_summary().");
    }
    struct Feed {
        Oid summary;
        std::string time_column;
        mv::BucketGrid grid;
    };
    std::vector<Feed> feeds;
    crm_core::pg::SpiConnection spi;
    static crm_core::pg::CachedPlan find_summaries(
        "SELECT b.summary::pg_catalog.oid, b.time_column::pg_catalog.text, g.width_us, g.origin_us "
        "FROM crm_core.bucket_summary b "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = b.source AND a.attname = b.time_column "
        "CROSS JOIN LATERAL crm_core._bucket_grid(a.atttypid::pg_catalog.regtype, b.bucket_width, "
        "                                         b.bucket_origin) g "
        "WHERE b.source IN (SELECT pg_catalog.pg_partition_ancestors($1))",
        {OIDOID});
    Datum relid = ObjectIdGetDatum(RelationGetRelid(trigger_data->tg_relation));
    uint64 found = find_summaries.execute(&relid, nullptr, true);
    for (uint64 row = 0; row < found; ++row) {
        crm_core::pg::check_for_interrupts();
        feeds.push_back({DatumGetObjectId(*crm_core::pg::result_value(row, 1)),
                         crm_core::pg::text_to_string(*crm_core::pg::result_value(row, 2)),
                         {DatumGetInt64(*crm_core::pg::result_value(row, 3)),
                          DatumGetInt64(*crm_core::pg::result_value(row, 4))}});
    }
    for (const Feed& feed : feeds) {
        if (TRIGGER_FIRED_BY_TRUNCATE(trigger_data->tg_event)) {
            log_ranges(feed.summary, {{mv::kMinusInfinity, mv::kPlusInfinity}});
        } else {
            log_ranges(feed.summary, changed_ranges(trigger_data, feed.time_column, feed.grid));
        }
    }
    return PointerGetDatum(nullptr);
}

// _bucket_log_rows(summary oid, rel regclass, time_column name, width_us int8, origin_us int8):
// logs the buckets spanned by the rows rel already holds (a table attached as a partition of
// the summary's source brings rows no trigger saw); returns whether it logged anything.
CRM_CORE_FUNCTION(crm_core_bucket_log_rows) {
    Oid summary = PG_GETARG_OID(0);
    Oid rel = PG_GETARG_OID(1);
    std::string column = NameStr(*PG_GETARG_NAME(2));
    mv::BucketGrid grid{PG_GETARG_INT64(3), PG_GETARG_INT64(4)};
    std::string table = crm_core::pg::qualified_name(rel);
    std::string column_sql = quoted(column);
    std::string sql = "SELECT min(" + column_sql + "), max(" + column_sql + "), " +
                      "pg_catalog.pg_typeof(min(" + column_sql + "))::pg_catalog.oid FROM " + table;
    crm_core::pg::SpiConnection spi;
    crm_core::pg::execute_once(sql.c_str(), true);
    std::optional<Datum> earliest = crm_core::pg::result_value(0, 1);
    std::optional<Datum> latest = crm_core::pg::result_value(0, 2);
    if (!earliest || !latest) {
        PG_RETURN_BOOL(false);
    }
    Oid type = DatumGetObjectId(*crm_core::pg::result_value(0, 3));
    log_ranges(summary, {mv::bucket_span(grid, time_microseconds(*earliest, type),
                                         time_microseconds(*latest, type))});
    PG_RETURN_BOOL(true);
}

// _bucket_summary_refresh(summary regclass, rebuild boolean): recomputes the buckets logged
// since the last refresh (every bucket when rebuild) with DELETE + INSERT; returns the rows
// inserted.
CRM_CORE_FUNCTION(crm_core_bucket_summary_refresh) {
    Datum summary = PG_GETARG_DATUM(0);
    bool rebuild = PG_GETARG_BOOL(1);
    crm_core::pg::SpiConnection spi;

    static crm_core::pg::CachedPlan read_config(
        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), "
        "       pg_catalog.quote_ident(b.bucket_column), b.query, a.atttypid, c.relowner, "
        "       b.search_path "
        "FROM crm_core.bucket_summary b "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = b.source AND a.attname = b.time_column "
        "     AND NOT a.attisdropped "
        "JOIN pg_catalog.pg_class c ON c.oid = b.summary "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE b.summary = $1",
        {OIDOID});
    if (read_config.execute(&summary, nullptr, true, 1) == 0) {
        throw Error(ERRCODE_UNDEFINED_OBJECT,
                    "not a registered bucket summary, or its source's time column is gone", "",
                    "Register it with crm_core.register_bucket_summary().");
    }
    std::string table = crm_core::pg::text_to_string(*crm_core::pg::result_value(0, 1));
    std::string bucket_column = crm_core::pg::text_to_string(*crm_core::pg::result_value(0, 2));
    std::string query = crm_core::pg::text_to_string(*crm_core::pg::result_value(0, 3));
    Oid time_type = DatumGetObjectId(*crm_core::pg::result_value(0, 4));
    Oid owner = DatumGetObjectId(*crm_core::pg::result_value(0, 5));
    std::string search_path = crm_core::pg::text_to_string(*crm_core::pg::result_value(0, 6));

    // Consuming the log and recomputing in one transaction: a change committed after the
    // DELETE's snapshot leaves its own log row for the next refresh.
    static crm_core::pg::CachedPlan consume_log(
        "DELETE FROM crm_core.bucket_invalidation WHERE summary = $1 "
        "RETURNING lower_us, upper_us",
        {OIDOID});
    uint64 logged = consume_log.execute(&summary, nullptr, false);
    std::vector<mv::TimeRange> ranges;
    for (uint64 row = 0; row < logged; ++row) {
        crm_core::pg::check_for_interrupts();
        ranges.push_back({DatumGetInt64(*crm_core::pg::result_value(row, 1)),
                          DatumGetInt64(*crm_core::pg::result_value(row, 2))});
    }
    ranges = mv::merge_ranges(std::move(ranges));
    if (rebuild || (!ranges.empty() && ranges.front().lower == mv::kMinusInfinity &&
                    ranges.front().upper == mv::kPlusInfinity)) {
        ranges = {{mv::kMinusInfinity, mv::kPlusInfinity}};
    }

    std::string delete_range = "DELETE FROM " + table + " WHERE " + bucket_column + " >= $1 AND " +
                               bucket_column + " < $2";
    std::string insert_range = "INSERT INTO " + table + " " + query;
    // The query runs as the summary's owner (as REFRESH MATERIALIZED VIEW runs a view's query),
    // with the search_path of its registration; both are undone afterwards.
    crm_core::pg::ActingAs as_owner(owner, crm_core::pg::ActingAs::Mode::restricted,
                                    {{"search_path", search_path.c_str()}});
    uint64 inserted = 0;
    for (const mv::TimeRange& range : ranges) {
        crm_core::pg::check_for_interrupts();
        Datum lower = time_datum(range.lower, time_type);
        Datum upper = time_datum(range.upper, time_type);
        bool everything = range.lower == mv::kMinusInfinity && range.upper == mv::kPlusInfinity;
        if (everything) {
            crm_core::pg::execute_once(("DELETE FROM " + table).c_str(), false);
        } else {
            execute_with_range(delete_range, time_type, lower, upper);
        }
        inserted += execute_with_range(insert_range, time_type, lower, upper);
    }
    PG_RETURN_INT64(static_cast<int64>(inserted));
}
