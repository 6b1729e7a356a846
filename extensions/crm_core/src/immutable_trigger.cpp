#include <optional>
#include <string>

#include "immutable_trigger.hpp"

extern "C" {
#include "utils/lsyscache.h"
}

namespace crm_core::pg {

std::string qualified_name(Relation relation) {
    Oid namespace_oid = RelationGetNamespace(relation);
    const char* relation_name = RelationGetRelationName(relation);
    const char* qualified = guard([&] {
        return quote_qualified_identifier(get_namespace_name(namespace_oid), relation_name);
    });
    return qualified;
}

std::optional<std::string> column_text(HeapTuple tuple, TupleDesc descriptor, int attnum) {
    const char* text = guard([&] { return SPI_getvalue(tuple, descriptor, attnum); });
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

bool invoked_by_superuser() {
    Oid outer_user = GetOuterUserId();
    return guard([&] { return superuser_arg(outer_user); });
}

}  // namespace crm_core::pg
