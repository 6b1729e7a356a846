#include <cstring>
#include <string>

#include "trigger.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/tuplestore.h"
}

namespace crm_core::pg {

TriggerData* trigger_data(FunctionCallInfo fcinfo, const char* function_name) {
    if (!CALLED_AS_TRIGGER(fcinfo)) {
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    std::string(function_name) + " must be called as a trigger");
    }
    return reinterpret_cast<TriggerData*>(fcinfo->context);
}

std::optional<std::string> column_text(HeapTuple tuple, TupleDesc descriptor, int attnum) {
    const char* text = pg_call([&] { return SPI_getvalue(tuple, descriptor, attnum); });
    if (text == nullptr) {
        return std::nullopt;
    }
    return std::string(text);
}

const char* trigger_operation(const TriggerData* data) {
    if (TRIGGER_FIRED_BY_INSERT(data->tg_event)) {
        return "INSERT";
    }
    if (TRIGGER_FIRED_BY_UPDATE(data->tg_event)) {
        return "UPDATE";
    }
    if (TRIGGER_FIRED_BY_DELETE(data->tg_event)) {
        return "DELETE";
    }
    return "TRUNCATE";
}

Error append_only_error(const std::string& table, const char* operation, const char* what) {
    return Error(
        ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        std::string(operation) + " on " + table + " is refused: " + what + " are append-only",
        "crm_core guards this table; history is never edited, removed or truncated.",
        "Record a correction as a new row (for the ledger: a reversing entry).");
}

int column_number(TupleDesc descriptor, const char* name, const char* table) {
    int number = pg_call([&] { return SPI_fnumber(descriptor, name); });
    if (number <= 0) {
        throw Error(ERRCODE_UNDEFINED_COLUMN,
                    std::string(table) + " has no column \"" + name + "\"");
    }
    return number;
}

int CachedColumn::number(TupleDesc descriptor, const char* table) {
    if (number_ > 0 && number_ <= descriptor->natts) {
        Form_pg_attribute attribute = TupleDescAttr(descriptor, number_ - 1);
        if (!attribute->attisdropped && strcmp(NameStr(attribute->attname), name_) == 0) {
            return number_;
        }
    }
    number_ = column_number(descriptor, name_, table);
    return number_;
}

std::optional<Datum> tuple_value(HeapTuple tuple, TupleDesc descriptor, int column) {
    bool is_null = false;
    Datum value = pg_call([&] { return heap_getattr(tuple, column, descriptor, &is_null); });
    if (is_null) {
        return std::nullopt;
    }
    return value;
}

std::optional<Datum> slot_value(TupleTableSlot* slot, int column) {
    bool is_null = false;
    Datum value = pg_call([&] { return slot_getattr(slot, column, &is_null); });
    if (is_null) {
        return std::nullopt;
    }
    return value;
}

TransitionRows::TransitionRows(Tuplestorestate* rows, TupleDesc descriptor) : rows_(rows) {
    if (rows == nullptr) {
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "the trigger needs a transition table (REFERENCING NEW TABLE)");
    }
    slot_ = pg_call([&] {
        TupleTableSlot* made = MakeSingleTupleTableSlot(descriptor, &TTSOpsMinimalTuple);
        tuplestore_select_read_pointer(rows, tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND));
        tuplestore_rescan(rows);
        return made;
    });
}

bool TransitionRows::next() {
    Tuplestorestate* rows = rows_;
    TupleTableSlot* slot = slot_;
    return pg_call([&] { return tuplestore_gettupleslot(rows, true, false, slot); });
}

void TransitionRows::finish() {
    if (slot_ == nullptr) {
        return;
    }
    Tuplestorestate* rows = rows_;
    TupleTableSlot* slot = slot_;
    slot_ = nullptr;
    pg_call([&] {
        ExecDropSingleTupleTableSlot(slot);
        tuplestore_select_read_pointer(rows, 0);
    });
}

}  // namespace crm_core::pg
