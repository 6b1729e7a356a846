#include "trigger.hpp"

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

}  // namespace crm_core::pg
