#include "ledger_balances.hpp"

#include "crm_core/ledger.hpp"
#include "pg_call.hpp"
#include "spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "storage/backendid.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/fmgroids.h"
#include "catalog/pg_type.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
}

namespace crm_core::pg::ledger {

namespace {

// Attribute numbers (1-based) of the slot table's columns.
struct SlotColumns {
    AttrNumber business_id, account_id, slot, debits, credits;
};

// The slot table's columns, found by name; throws if one is missing.
SlotColumns slot_columns(TupleDesc descriptor) {
    SlotColumns columns{};
    AttrNumber* targets[5] = {&columns.business_id, &columns.account_id, &columns.slot,
                              &columns.debits, &columns.credits};
    const char* names[5] = {"business_id", "account_id", "slot", "debits", "credits"};
    for (int i = 0; i < 5; ++i) {
        for (int column = 0; column < descriptor->natts; ++column) {
            Form_pg_attribute attribute = TupleDescAttr(descriptor, column);
            if (!attribute->attisdropped && strcmp(NameStr(attribute->attname), names[i]) == 0) {
                *targets[i] = attribute->attnum;
            }
        }
        if (*targets[i] == InvalidAttrNumber) {
            throw Error(
                ERRCODE_UNDEFINED_COLUMN,
                std::string("crm_core.account_balance_slot has no column \"") + names[i] + "\"");
        }
    }
    return columns;
}

// The table of balance slots the lines counted by a trigger on fired_on go to:
// crm_core.account_balance_slot when it fired on a journal table itself; on a Citus cluster,
// where it fires on a shard of one, the co-located shard of account_balance_slot (on the same
// node, found by the business, which decides the shard). A slot table that cannot be found
// fails the posting.
Oid slot_table(Oid fired_on, int64 business_id) {
    Oid table = pg_call([&] {
        Oid schema = get_namespace_oid("crm_core", false);
        if (fired_on == get_relname_relid("journal_line", schema) ||
            fired_on == get_relname_relid("journal_entry", schema)) {
            return get_relname_relid("account_balance_slot", schema);
        }
        return InvalidOid;
    });
    if (OidIsValid(table)) {
        return table;
    }
    // Citus names exist only with Citus: prepared on the first call from a shard.
    static CachedPlan select_shard(
        "SELECT pg_catalog.to_regclass(pg_catalog.shard_name("
        "'crm_core.account_balance_slot'::pg_catalog.regclass, "
        "pg_catalog.get_shard_id_for_distribution_column("
        "'crm_core.account_balance_slot'::pg_catalog.regclass, $1)))::pg_catalog.oid",
        {INT8OID});
    Datum arguments[1] = {Int64GetDatum(business_id)};
    as_extension_owner([&] {
        SpiConnection spi;
        if (select_shard.execute(arguments, nullptr, true, 1) > 0) {
            std::optional<Datum> found = result_value(0, 1);
            table = found ? DatumGetObjectId(*found) : InvalidOid;
        }
    });
    if (!OidIsValid(table)) {
        throw Error(ERRCODE_UNDEFINED_TABLE,
                    "no balance slot table for the journal shard " + std::to_string(fired_on) +
                        " (business " + std::to_string(business_id) + ")",
                    "", "Distribute crm_core's tables with crm_core.distribute().");
    }
    return table;
}

}  // namespace

void add_to_balance_slots(const BalanceDeltas& deltas, Oid fired_on) {
    if (deltas.empty()) {
        return;
    }
    Oid table = slot_table(fired_on, deltas.begin()->first.first);
    Relation slots = pg_call([&] { return table_open(table, RowExclusiveLock); });
    SlotColumns columns = slot_columns(RelationGetDescr(slots));
    Datum slot_number = Int32GetDatum(crm_core::ledger::balance_slot(MyBackendId));
    pg_call([&] {
        Relation key_index = index_open(RelationGetPrimaryKeyIndex(slots), RowExclusiveLock);
        int2vector* key_columns = &key_index->rd_index->indkey;
        if (key_index->rd_index->indnkeyatts != 3 ||
            key_columns->values[0] != columns.business_id ||
            key_columns->values[1] != columns.account_id ||
            key_columns->values[2] != columns.slot) {
            elog(ERROR,
                 "crm_core.account_balance_slot: primary key is not (business_id, account_id, "
                 "slot)");
        }
        // Rows written earlier by this command (another statement trigger of the same query)
        // must be found and updated again: a new command id, as SPI would take.
        CommandCounterIncrement();
        EState* estate = CreateExecutorState();
        RangeTblEntry* table = makeNode(RangeTblEntry);
        table->rtekind = RTE_RELATION;
        table->relid = RelationGetRelid(slots);
        table->relkind = slots->rd_rel->relkind;
        table->rellockmode = RowExclusiveLock;
        ExecInitRangeTable(estate, list_make1(table));
        ResultRelInfo* result = makeNode(ResultRelInfo);
        InitResultRelInfo(result, slots, 1, nullptr, 0);
        estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, result);
        estate->es_output_cid = GetCurrentCommandId(true);
        estate->es_snapshot = GetActiveSnapshot();
        EPQState epq;
        EvalPlanQualInit(&epq, estate, nullptr, NIL, -1);
        ExecOpenIndices(result, false);
        AfterTriggerBeginQuery();
        TupleDesc descriptor = RelationGetDescr(slots);
        TupleTableSlot* found = table_slot_create(slots, &estate->es_tupleTable);
        TupleTableSlot* next = ExecInitExtraTupleSlot(estate, descriptor, &TTSOpsVirtual);
        // A dirty snapshot sees rows of transactions still in progress (a prepared transaction
        // of a former backend with this number): wait for them, then look again.
        SnapshotData dirty;
        InitDirtySnapshot(dirty);
        IndexScanDesc scan = index_beginscan(slots, key_index, &dirty, 3, 0);
        for (auto delta = deltas.begin(); delta != deltas.end(); ++delta) {
            ScanKeyData keys[3];
            ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ,
                        Int64GetDatum(delta->first.first));
            ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT8EQ,
                        Int64GetDatum(delta->first.second));
            ScanKeyInit(&keys[2], 3, BTEqualStrategyNumber, F_INT4EQ, slot_number);
            bool exists = false;
            for (;;) {
                index_rescan(scan, keys, 3, nullptr, 0);
                exists = index_getnext_slot(scan, ForwardScanDirection, found);
                TransactionId writer = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
                if (!exists || !TransactionIdIsValid(writer)) {
                    break;
                }
                XactLockTableWait(writer, slots, &found->tts_tid, XLTW_Update);
            }
            ExecClearTuple(next);
            if (exists) {
                slot_getallattrs(found);
                memcpy(next->tts_values, found->tts_values, descriptor->natts * sizeof(Datum));
                memcpy(next->tts_isnull, found->tts_isnull, descriptor->natts * sizeof(bool));
                next->tts_values[columns.debits - 1] = DirectFunctionCall2(
                    numeric_add, found->tts_values[columns.debits - 1], delta->second.first);
                next->tts_values[columns.credits - 1] = DirectFunctionCall2(
                    numeric_add, found->tts_values[columns.credits - 1], delta->second.second);
                ExecStoreVirtualTuple(next);
                ExecSimpleRelationUpdate(result, estate, &epq, found, next);
            } else {
                memset(next->tts_isnull, true, descriptor->natts * sizeof(bool));
                next->tts_values[columns.business_id - 1] = Int64GetDatum(delta->first.first);
                next->tts_values[columns.account_id - 1] = Int64GetDatum(delta->first.second);
                next->tts_values[columns.slot - 1] = slot_number;
                next->tts_values[columns.debits - 1] = delta->second.first;
                next->tts_values[columns.credits - 1] = delta->second.second;
                for (AttrNumber column : {columns.business_id, columns.account_id, columns.slot,
                                          columns.debits, columns.credits}) {
                    next->tts_isnull[column - 1] = false;
                }
                ExecStoreVirtualTuple(next);
                ExecSimpleRelationInsert(result, estate, next);
            }
        }
        index_endscan(scan);
        AfterTriggerEndQuery(estate);
        ExecCloseIndices(result);
        EvalPlanQualEnd(&epq);
        ExecResetTupleTable(estate->es_tupleTable, false);
        FreeExecutorState(estate);
        index_close(key_index, NoLock);
        table_close(slots, NoLock);
    });
}

}  // namespace crm_core::pg::ledger
