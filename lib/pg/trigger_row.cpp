#include "trigger_row.hpp"

#include "datum.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

namespace crm_core::pg {

TriggerRow::TriggerRow(HeapTuple tuple, TupleDesc descriptor)
    : tuple_(tuple), descriptor_(descriptor) {}

int TriggerRow::column(const char* name) const {
    TupleDesc descriptor = descriptor_;
    int number = pg_call([&] { return SPI_fnumber(descriptor, name); });
    if (number <= 0) {
        throw Error(ERRCODE_UNDEFINED_COLUMN,
                    std::string("crm_collections trigger needs column \"") + name + "\"");
    }
    return number;
}

std::optional<Datum> TriggerRow::get(const char* name) const {
    int number = column(name);
    for (std::size_t i = 0; i < changed_columns_.size(); ++i) {
        if (changed_columns_[i] == number) {
            return changed_nulls_[i] ? std::nullopt : std::optional<Datum>(changed_values_[i]);
        }
    }
    bool is_null = false;
    HeapTuple tuple = tuple_;
    TupleDesc descriptor = descriptor_;
    Datum value = pg_call([&] { return heap_getattr(tuple, number, descriptor, &is_null); });
    if (is_null) {
        return std::nullopt;
    }
    return value;
}

std::optional<int64> TriggerRow::get_int64(const char* name) const {
    std::optional<Datum> value = get(name);
    if (!value) {
        return std::nullopt;
    }
    return DatumGetInt64(*value);
}

std::optional<std::string> TriggerRow::get_text(const char* name) const {
    std::optional<Datum> value = get(name);
    if (!value) {
        return std::nullopt;
    }
    return text_to_string(*value);
}

void TriggerRow::set(const char* name, std::optional<Datum> value) {
    int number = column(name);
    for (std::size_t i = 0; i < changed_columns_.size(); ++i) {
        if (changed_columns_[i] == number) {
            changed_values_[i] = value.value_or(0);
            changed_nulls_[i] = !value.has_value();
            return;
        }
    }
    changed_columns_.push_back(number);
    changed_values_.push_back(value.value_or(0));
    changed_nulls_.push_back(!value.has_value());
}

HeapTuple TriggerRow::result() const {
    if (changed_columns_.empty()) {
        return tuple_;
    }
    int count = static_cast<int>(changed_columns_.size());
    // Plain arrays for the pg_call() (no destructors in a frame a longjmp may skip).
    auto* columns = static_cast<int*>(pg_call([&] { return palloc(sizeof(int) * count); }));
    auto* values = static_cast<Datum*>(pg_call([&] { return palloc(sizeof(Datum) * count); }));
    auto* nulls = static_cast<bool*>(pg_call([&] { return palloc(sizeof(bool) * count); }));
    for (int i = 0; i < count; ++i) {
        columns[i] = changed_columns_[i];
        values[i] = changed_values_[i];
        nulls[i] = changed_nulls_[i];
    }
    HeapTuple tuple = tuple_;
    TupleDesc descriptor = descriptor_;
    return pg_call([&] {
        return heap_modify_tuple_by_cols(tuple, descriptor, count, columns, values, nulls);
    });
}

Datum datum_array(const std::vector<std::optional<Datum>>& elements, Oid element_type) {
    int count = static_cast<int>(elements.size());
    auto* values = static_cast<Datum*>(
        pg_call([&] { return palloc(sizeof(Datum) * (count > 0 ? count : 1)); }));
    auto* nulls =
        static_cast<bool*>(pg_call([&] { return palloc(sizeof(bool) * (count > 0 ? count : 1)); }));
    for (int i = 0; i < count; ++i) {
        values[i] = elements[static_cast<std::size_t>(i)].value_or(0);
        nulls[i] = !elements[static_cast<std::size_t>(i)].has_value();
    }
    return pg_call([&] {
        int16 length = 0;
        bool by_value = false;
        char alignment = 0;
        get_typlenbyvalalign(element_type, &length, &by_value, &alignment);
        int dimensions[1] = {count};
        int lower_bounds[1] = {1};
        return PointerGetDatum(construct_md_array(values, nulls, 1, dimensions, lower_bounds,
                                                  element_type, length, by_value, alignment));
    });
}

Datum int8_array(const std::vector<std::optional<int64>>& values) {
    std::vector<std::optional<Datum>> elements;
    elements.reserve(values.size());
    for (const auto& value : values) {
        elements.push_back(value ? std::optional<Datum>(Int64GetDatum(*value)) : std::nullopt);
    }
    return datum_array(elements, INT8OID);
}

}  // namespace crm_core::pg
