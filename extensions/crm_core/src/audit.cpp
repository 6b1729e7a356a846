// The audit trail trigger: one crm_core.audit_log row per changed row, with the changed
// columns' old and new values, written as the log's owner so writers need no grant on it; and
// the audited table's TRUNCATE guard (rows leave an audited table only by audited DELETEs).
#include <optional>
#include <string>
#include <vector>

#include "crm_core/canonical.hpp"
#include "acting_as.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "relation.hpp"
#include "role.hpp"
#include "trigger.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "nodes/bitmapset.h"
#include "utils/lsyscache.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
}

namespace {

using crm_core::Field;

// What one audited row change carries into the log.
struct RowChange {
    std::vector<Field> old_values;
    std::vector<Field> new_values;
    std::vector<Field> key;
    std::optional<std::string> business_id;
};

// Whether column name is watched: the trigger's arguments list them, none means all.
bool watched(const TriggerData* data, const char* name) {
    const Trigger* trigger = data->tg_trigger;
    if (trigger->tgnargs == 0) {
        return true;
    }
    for (int i = 0; i < trigger->tgnargs; ++i) {
        if (strcmp(trigger->tgargs[i], name) == 0) {
            return true;
        }
    }
    return false;
}

// Collects the watched columns that changed (UPDATE) or exist (INSERT, DELETE), the primary
// key and the business_id column of the row.
RowChange collect_change(const TriggerData* data) {
    Relation relation = data->tg_relation;
    TupleDesc descriptor = RelationGetDescr(relation);
    bool inserting = TRIGGER_FIRED_BY_INSERT(data->tg_event);
    bool deleting = TRIGGER_FIRED_BY_DELETE(data->tg_event);
    HeapTuple old_tuple = inserting ? nullptr : data->tg_trigtuple;
    HeapTuple new_tuple = inserting ? data->tg_trigtuple : (deleting ? nullptr : data->tg_newtuple);
    HeapTuple current = new_tuple != nullptr ? new_tuple : old_tuple;
    Bitmapset* key_columns = crm_core::pg::pg_call(
        [&] { return RelationGetIndexAttrBitmap(relation, INDEX_ATTR_BITMAP_PRIMARY_KEY); });

    RowChange change;
    for (int attnum = 1; attnum <= descriptor->natts; ++attnum) {
        Form_pg_attribute attribute = TupleDescAttr(descriptor, attnum - 1);
        if (attribute->attisdropped) {
            continue;
        }
        std::string name = NameStr(attribute->attname);
        if (bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, key_columns)) {
            change.key.push_back({name, crm_core::pg::column_text(current, descriptor, attnum)});
        }
        if (name == "business_id") {
            change.business_id = crm_core::pg::column_text(current, descriptor, attnum);
        }
        if (!watched(data, name.c_str())) {
            continue;
        }
        std::optional<std::string> before, after;
        if (old_tuple != nullptr) {
            before = crm_core::pg::column_text(old_tuple, descriptor, attnum);
        }
        if (new_tuple != nullptr) {
            after = crm_core::pg::column_text(new_tuple, descriptor, attnum);
        }
        if (old_tuple != nullptr && new_tuple != nullptr && before == after) {
            continue;
        }
        if (old_tuple != nullptr) {
            change.old_values.push_back({name, before});
        }
        if (new_tuple != nullptr) {
            change.new_values.push_back({name, after});
        }
    }
    return change;
}

// The table a row change is logged under: the partitioned table a partition belongs to
// (the one registered with audit_table), else the table itself.
Oid audited_relation(Relation relation) {
    Oid relid = RelationGetRelid(relation);
    if (!relation->rd_rel->relispartition) {
        return relid;
    }
    return crm_core::pg::pg_call([&] { return llast_oid(get_partition_ancestors(relid)); });
}

// A text Datum, or a NULL marker for SPI.
void set_text(Datum* values, char* nulls, int index, const std::optional<std::string>& text) {
    if (text) {
        values[index] = crm_core::pg::string_to_text(*text);
        nulls[index] = ' ';
    } else {
        values[index] = 0;
        nulls[index] = 'n';
    }
}

}  // namespace

// Trigger: AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW (arguments: the watched columns)
// logs the change; BEFORE TRUNCATE FOR EACH STATEMENT refuses everyone but a superuser.
CRM_CORE_FUNCTION(crm_core_audit_trigger) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "crm_core.audit_trigger()");
    if (TRIGGER_FIRED_BY_TRUNCATE(data->tg_event) && TRIGGER_FIRED_BEFORE(data->tg_event)) {
        if (crm_core::pg::invoked_by_superuser()) {
            return PointerGetDatum(nullptr);
        }
        throw crm_core::pg::Error(
            ERRCODE_INSUFFICIENT_PRIVILEGE,
            "TRUNCATE on " + crm_core::pg::qualified_name(data->tg_relation) +
                " is refused: the table is audited",
            "crm_core.audit_log records each row a DELETE removes; TRUNCATE would remove rows "
            "unrecorded. Only a superuser may truncate an audited table.",
            "DELETE the rows instead.");
    }
    if (!TRIGGER_FIRED_FOR_ROW(data->tg_event) || !TRIGGER_FIRED_AFTER(data->tg_event)) {
        throw crm_core::pg::Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                                  "crm_core.audit_trigger() must run AFTER ... FOR EACH ROW, or "
                                  "BEFORE TRUNCATE");
    }
    RowChange change = collect_change(data);
    bool updating = TRIGGER_FIRED_BY_UPDATE(data->tg_event);
    if (updating && change.new_values.empty()) {
        return PointerGetDatum(nullptr);
    }
    Oid relation = audited_relation(data->tg_relation);
    std::string actor = crm_core::pg::pg_call([] { return GetUserNameFromId(GetUserId(), false); });

    // Runs as the log's owner under the writer's search_path: every name is schema-qualified,
    // operators included, so nothing of the writer's can be picked instead.
    static crm_core::pg::CachedPlan insert_log(
        "INSERT INTO crm_core.audit_log (relid, table_name, operation, business_id, row_key, "
        "old_values, new_values, txid, db_user, session_user_name, application_name, "
        "client_addr) VALUES ($1, $2, $3, "
        "CASE WHEN $4 OPERATOR(pg_catalog.~) '^-?[0-9]{1,18}$' "
        "THEN CAST($4 AS pg_catalog.int8) END, CAST($5 AS pg_catalog.jsonb), "
        "CAST($6 AS pg_catalog.jsonb), CAST($7 AS pg_catalog.jsonb), pg_catalog.txid_current(), "
        "$8, session_user, pg_catalog.current_setting('application_name'), "
        "pg_catalog.inet_client_addr())",
        {OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID});
    Datum values[8];
    char nulls[9] = "        ";
    values[0] = ObjectIdGetDatum(relation);
    set_text(values, nulls, 1, crm_core::pg::qualified_name(relation));
    set_text(values, nulls, 2, std::string(crm_core::pg::trigger_operation(data)));
    set_text(values, nulls, 3, change.business_id);
    set_text(values, nulls, 4,
             change.key.empty() ? std::nullopt
                                : std::optional<std::string>(crm_core::json_object(change.key)));
    bool inserting = TRIGGER_FIRED_BY_INSERT(data->tg_event);
    bool deleting = TRIGGER_FIRED_BY_DELETE(data->tg_event);
    set_text(values, nulls, 5,
             inserting ? std::nullopt
                       : std::optional<std::string>(crm_core::json_object(change.old_values)));
    set_text(values, nulls, 6,
             deleting ? std::nullopt
                      : std::optional<std::string>(crm_core::json_object(change.new_values)));
    set_text(values, nulls, 7, actor);

    Oid owner = crm_core::pg::relation_owner(crm_core::pg::relation_id("crm_core", "audit_log"));
    crm_core::pg::SpiConnection spi;
    crm_core::pg::ActingAs as_owner(owner, true);
    insert_log.execute(values, nulls, false);
    return PointerGetDatum(nullptr);
}
