// The DDL event-trigger work that needs C: reading a statement's parse tree before it runs
// (ddl_command_start), and the catalog row of a trigger the running command just dropped
// (sql_drop). The rules themselves are SQL (crm_core._guard_* in 18_guard_ddl_start.sql and
// 19_guard_ddl_end.sql).
#include <initializer_list>
#include <string>

#include "datum.hpp"
#include "function.hpp"
#include "spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "commands/event_trigger.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace {

// Whether crm_core.<name>(types) exists. A database whose crm_core is older than this library
// lacks the helpers until ALTER EXTENSION crm_core UPDATE; until then there is nothing to check.
bool helper_installed(const char* name, std::initializer_list<Oid> types) {
    const Oid* argument_types = types.begin();
    int count = static_cast<int>(types.size());
    return crm_core::pg::pg_call([&] {
        List* qualified = list_make2(makeString(pstrdup("crm_core")), makeString(pstrdup(name)));
        return OidIsValid(LookupFuncName(qualified, count, argument_types, true));
    });
}

// The relation a statement names, resolved as the statement will resolve it (the session's
// search_path); InvalidOid when it does not exist (the statement then fails on its own).
Oid relation_named(RangeVar* relation) {
    return crm_core::pg::pg_call([&] { return RangeVarGetRelid(relation, NoLock, true); });
}

// CREATE [OR REPLACE] TRIGGER: crm_core._guard_create_trigger refuses to replace a guard and
// lets a superuser's restore recreate one.
void check_create_trigger(const CreateTrigStmt* statement) {
    if (!helper_installed("_guard_create_trigger", {REGCLASSOID, TEXTOID, OIDOID, BOOLOID})) {
        return;
    }
    const Oid relation = relation_named(statement->relation);
    if (relation == InvalidOid) {
        return;
    }
    List* function_name = statement->funcname;
    const Oid function =
        crm_core::pg::pg_call([&] { return LookupFuncName(function_name, 0, nullptr, true); });
    static crm_core::pg::CachedPlan check("SELECT crm_core._guard_create_trigger($1, $2, $3, $4)",
                                          {REGCLASSOID, TEXTOID, OIDOID, BOOLOID});
    Datum values[4] = {ObjectIdGetDatum(relation),
                       crm_core::pg::string_to_text(statement->trigname),
                       ObjectIdGetDatum(function), BoolGetDatum(statement->replace)};
    crm_core::pg::SpiConnection spi;
    check.execute(values, nullptr, false);
}

// ALTER TABLE ... DETACH PARTITION [CONCURRENTLY | FINALIZE]: refused here, before the first
// of CONCURRENTLY's two transactions commits, so that a refusal leaves nothing half done.
void check_alter_table(const AlterTableStmt* statement) {
    ListCell* cell = nullptr;
    foreach (cell, statement->cmds) {
        const auto* command = static_cast<const AlterTableCmd*>(lfirst(cell));
        if (command->subtype != AT_DetachPartition &&
            command->subtype != AT_DetachPartitionFinalize) {
            continue;
        }
        if (!helper_installed("_guard_detach", {REGCLASSOID})) {
            return;
        }
        const auto* partition_command = reinterpret_cast<const PartitionCmd*>(command->def);
        const Oid partition = relation_named(partition_command->name);
        if (partition == InvalidOid) {
            continue;
        }
        static crm_core::pg::CachedPlan check("SELECT crm_core._guard_detach($1)", {REGCLASSOID});
        Datum values[1] = {ObjectIdGetDatum(partition)};
        crm_core::pg::SpiConnection spi;
        check.execute(values, nullptr, false);
    }
}

// ALTER TYPE ... RENAME VALUE | ATTRIBUTE part_name (part: "value" or "attribute") of type.
void check_type_rename(Oid type, const char* part, const char* part_name) {
    if (type == InvalidOid ||
        !helper_installed("_guard_rename_type", {REGTYPEOID, TEXTOID, TEXTOID})) {
        return;
    }
    static crm_core::pg::CachedPlan check("SELECT crm_core._guard_rename_type($1, $2, $3)",
                                          {REGTYPEOID, TEXTOID, TEXTOID});
    Datum values[3] = {ObjectIdGetDatum(type), crm_core::pg::string_to_text(part),
                       crm_core::pg::string_to_text(part_name)};
    crm_core::pg::SpiConnection spi;
    check.execute(values, nullptr, false);
}

// ALTER TABLE ... RENAME COLUMN, ALTER TYPE ... RENAME ATTRIBUTE.
void check_rename(const RenameStmt* statement) {
    if (statement->renameType == OBJECT_ATTRIBUTE) {
        const Oid composite = relation_named(statement->relation);
        const Oid type = composite == InvalidOid
                             ? InvalidOid
                             : crm_core::pg::pg_call([&] { return get_rel_type_id(composite); });
        check_type_rename(type, "attribute", statement->subname);
        return;
    }
    if (statement->renameType != OBJECT_COLUMN ||
        !helper_installed("_guard_rename_column", {REGCLASSOID, TEXTOID})) {
        return;
    }
    const Oid relation = relation_named(statement->relation);
    if (relation == InvalidOid) {
        return;
    }
    static crm_core::pg::CachedPlan check("SELECT crm_core._guard_rename_column($1, $2)",
                                          {REGCLASSOID, TEXTOID});
    Datum values[2] = {ObjectIdGetDatum(relation),
                       crm_core::pg::string_to_text(statement->subname)};
    crm_core::pg::SpiConnection spi;
    check.execute(values, nullptr, false);
}

// ALTER TYPE ... RENAME VALUE (adding a value changes no stored row).
void check_alter_enum(const AlterEnumStmt* statement) {
    if (statement->oldVal == nullptr) {
        return;
    }
    List* names = statement->typeName;
    const Oid type = crm_core::pg::pg_call(
        [&] { return LookupTypeNameOid(nullptr, makeTypeNameFromNameList(names), true); });
    check_type_rename(type, "value", statement->oldVal);
}

// DROP INDEX [CONCURRENTLY]: crm_core._guard_drop_index refuses the unique indexes that carry a
// ledger rule, here, before CONCURRENTLY's first transaction commits (a refusal at sql_drop
// would leave the index invalid and no longer written, its rule gone).
void check_drop_index(const DropStmt* statement) {
    if (statement->removeType != OBJECT_INDEX ||
        !helper_installed("_guard_drop_index", {REGCLASSOID})) {
        return;
    }
    ListCell* cell = nullptr;
    foreach (cell, statement->objects) {
        List* names = static_cast<List*>(lfirst(cell));
        RangeVar* name = crm_core::pg::pg_call([&] { return makeRangeVarFromNameList(names); });
        const Oid index = relation_named(name);
        if (index == InvalidOid) {
            continue;
        }
        static crm_core::pg::CachedPlan check("SELECT crm_core._guard_drop_index($1)",
                                              {REGCLASSOID});
        Datum values[1] = {ObjectIdGetDatum(index)};
        crm_core::pg::SpiConnection spi;
        check.execute(values, nullptr, false);
    }
}

}  // namespace

// Event trigger on ddl_command_start (CREATE TRIGGER, ALTER TABLE, ALTER TYPE, DROP INDEX). It also
// runs under the previous version's catalog (a new package installed, ALTER EXTENSION ... UPDATE
// not run yet), whose event trigger calls it: it skips the helpers that are not installed yet, so
// it is exempt from the library/SQL version check and DDL keeps working in between.
CRM_CORE_FUNCTION_ANY_VERSION(crm_core_guard_ddl_command_start) {
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo)) {
        throw crm_core::pg::Error(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED,
                                  "crm_core.guard_ddl_command_start() must be called as an "
                                  "event trigger");
    }
    const Node* statement = reinterpret_cast<EventTriggerData*>(fcinfo->context)->parsetree;
    if (statement == nullptr) {
        return PointerGetDatum(nullptr);
    }
    switch (nodeTag(statement)) {
        case T_CreateTrigStmt:
            check_create_trigger(reinterpret_cast<const CreateTrigStmt*>(statement));
            break;
        case T_AlterTableStmt:
            check_alter_table(reinterpret_cast<const AlterTableStmt*>(statement));
            break;
        case T_RenameStmt:
            check_rename(reinterpret_cast<const RenameStmt*>(statement));
            break;
        case T_AlterEnumStmt:
            check_alter_enum(reinterpret_cast<const AlterEnumStmt*>(statement));
            break;
        case T_DropStmt:
            check_drop_index(reinterpret_cast<const DropStmt*>(statement));
            break;
        default:
            break;
    }
    return PointerGetDatum(nullptr);
}

// crm_core._dropped_trigger_function(trigger): the function a trigger called, read from the
// version of its pg_trigger row that the current transaction deleted. sql_drop fires after the
// catalog rows are gone; that version stays visible to a SnapshotAny scan (and cannot be pruned)
// while the transaction that deleted it runs. NULL when no such version exists.
CRM_CORE_FUNCTION(crm_core_dropped_trigger_function) {
    const Oid trigger = PG_GETARG_OID(0);
    const Oid function = crm_core::pg::pg_call([&] {
        Relation catalog = table_open(TriggerRelationId, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ,
                    ObjectIdGetDatum(trigger));
        SysScanDesc scan =
            systable_beginscan(catalog, TriggerOidIndexId, true, SnapshotAny, 1, &key);
        Oid found = InvalidOid;
        HeapTuple tuple = nullptr;
        while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
            HeapTupleHeader header = tuple->t_data;
            // The last version (not updated into another one), deleted by this transaction.
            bool deleted_here =
                !(header->t_infomask & HEAP_XMAX_INVALID) &&
                !HEAP_XMAX_IS_LOCKED_ONLY(header->t_infomask) &&
                ItemPointerEquals(&tuple->t_self, &header->t_ctid) &&
                TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetUpdateXid(header));
            if (deleted_here) {
                found = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple))->tgfoid;
            }
        }
        systable_endscan(scan);
        table_close(catalog, AccessShareLock);
        return found;
    });
    if (function == InvalidOid) {
        PG_RETURN_NULL();
    }
    return ObjectIdGetDatum(function);
}
