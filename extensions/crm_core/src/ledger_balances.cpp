#include "ledger_balances.hpp"

#include <unordered_map>
#include <vector>

#include "crm_core/ledger.hpp"
#include "interrupts.hpp"
#include "numeric.hpp"
#include "pg_call.hpp"
#include "spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "catalog/index.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "storage/backendid.h"
#include "storage/bufmgr.h"
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

// The OIDs of the journal tables and of the balance slot table, looked up by name once per
// backend (three catalog lookups a statement otherwise) and forgotten when one of them, or
// every relation, is invalidated: a dropped and re-created extension has new OIDs.
struct LedgerTables {
    Oid journal_line = InvalidOid;
    Oid journal_entry = InvalidOid;
    Oid balance_slots = InvalidOid;
};
LedgerTables known_tables;

const LedgerTables& ledger_tables() {
    if (OidIsValid(known_tables.balance_slots)) {
        return known_tables;
    }
    register_ledger_callbacks();  // forget_ledger_tables() is called from there
    LedgerTables found = pg_call([] {
        Oid schema = get_namespace_oid("crm_core", false);
        return LedgerTables{get_relname_relid("journal_line", schema),
                            get_relname_relid("journal_entry", schema),
                            get_relname_relid("account_balance_slot", schema)};
    });
    known_tables = found;
    return known_tables;
}

// The table of balance slots the lines counted by a trigger on fired_on go to:
// crm_core.account_balance_slot when it fired on a journal table itself; on a Citus cluster,
// where it fires on a shard of one, the co-located shard of account_balance_slot (on the same
// node, found by the business, which decides the shard). A slot table that cannot be found
// fails the posting.
Oid slot_table(Oid fired_on, int64 business_id) {
    const LedgerTables& tables = ledger_tables();
    if (OidIsValid(fired_on) &&
        (fired_on == tables.journal_line || fired_on == tables.journal_entry)) {
        return tables.balance_slots;
    }
    Oid table = InvalidOid;
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

// Where this backend last found or wrote its slot row of an account: a TID to try before the
// index. Only a hint: the row there is used only while it is the live row of the same key.
struct KnownSlotRow {
    Oid table;
    ItemPointerData tid;
};
std::unordered_map<RowKey, KnownSlotRow, RowKeyHash> known_slot_rows;

// The slot table's primary key, opened; refuses a key other than (business_id, account_id,
// slot), the key the rows are looked up and indexed by.
Relation open_slot_key(Relation slots, const SlotColumns& columns) {
    Relation key_index = index_open(RelationGetPrimaryKeyIndex(slots), RowExclusiveLock);
    int2vector* key_columns = &key_index->rd_index->indkey;
    if (key_index->rd_index->indnkeyatts != 3 || key_columns->values[0] != columns.business_id ||
        key_columns->values[1] != columns.account_id || key_columns->values[2] != columns.slot) {
        elog(ERROR,
             "crm_core.account_balance_slot: primary key is not (business_id, account_id, slot)");
    }
    return key_index;
}

// Whether a slot row may be updated by heap_update alone: the table has no row trigger, no
// CHECK constraint, no generated column and no index but its key (whose columns an update
// never changes), so the executor would add nothing to the update. A DBA's trigger, check or
// index on the table sends every row through the executor instead.
bool updates_in_place(Relation slots) {
    const TriggerDesc* triggers = slots->trigdesc;
    if (triggers != nullptr &&
        (triggers->trig_update_before_row || triggers->trig_update_after_row ||
         triggers->trig_update_instead_row || triggers->trig_update_new_table ||
         triggers->trig_update_old_table)) {
        return false;
    }
    const TupleConstr* constraints = RelationGetDescr(slots)->constr;
    if (constraints != nullptr &&
        (constraints->num_check > 0 || constraints->has_generated_stored)) {
        return false;
    }
    List* indexes = RelationGetIndexList(slots);
    bool key_only =
        list_length(indexes) == 1 && linitial_oid(indexes) == RelationGetPrimaryKeyIndex(slots);
    list_free(indexes);
    return key_only;
}

// Adds amounts to the slot row at tid when that is still the live row of (account, slot):
// the tuple there must be visible to a dirty snapshot (a prepared transaction of a former
// backend with this number that holds it is waited for) and carry the same key; the key is
// unique, so that tuple is the row. blocks: the table's size in blocks, read on first use
// (a row of a page VACUUM truncated away is not there to read; the statement's lock keeps
// the table from shrinking while it runs). Returns false, having changed nothing, when the
// row is elsewhere; written is then untouched. Plain data only (runs inside pg_call).
bool update_known_row(Relation slots, const SlotColumns& columns, ItemPointerData tid,
                      const RowKey& account, Datum slot_number, Datum debits, Datum credits,
                      BlockNumber& blocks, ItemPointerData& written) {
    if (blocks == InvalidBlockNumber) {
        blocks = RelationGetNumberOfBlocks(slots);
    }
    if (ItemPointerGetBlockNumber(&tid) >= blocks) {
        return false;
    }
    TupleDesc descriptor = RelationGetDescr(slots);
    SnapshotData dirty;
    InitDirtySnapshot(dirty);
    HeapTupleData tuple;
    Buffer buffer = InvalidBuffer;
    for (;;) {
        tuple.t_self = tid;
        // Set by the visibility check only: heap_fetch returns before it when the line
        // pointer is gone (InitDirtySnapshot leaves them unset).
        dirty.xmin = InvalidTransactionId;
        dirty.xmax = InvalidTransactionId;
        bool visible = heap_fetch(slots, &dirty, &tuple, &buffer, false);
        TransactionId writer = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
        if (!TransactionIdIsValid(writer)) {
            if (!visible) {
                return false;
            }
            break;
        }
        if (visible) {
            ReleaseBuffer(buffer);
        }
        XactLockTableWait(writer, slots, &tid, XLTW_Update);
    }
    bool null_business = true, null_account = true, null_slot = true;
    Datum business = heap_getattr(&tuple, columns.business_id, descriptor, &null_business);
    Datum account_id = heap_getattr(&tuple, columns.account_id, descriptor, &null_account);
    Datum slot = heap_getattr(&tuple, columns.slot, descriptor, &null_slot);
    if (null_business || null_account || null_slot || DatumGetInt64(business) != account.first ||
        DatumGetInt64(account_id) != account.second ||
        DatumGetInt32(slot) != DatumGetInt32(slot_number)) {
        ReleaseBuffer(buffer);
        return false;
    }
    bool null_debits = true, null_credits = true;
    Datum old_debits = heap_getattr(&tuple, columns.debits, descriptor, &null_debits);
    Datum old_credits = heap_getattr(&tuple, columns.credits, descriptor, &null_credits);
    int changed[2] = {columns.debits, columns.credits};
    Datum values[2] = {null_debits ? debits : numeric_plus(old_debits, debits),
                       null_credits ? credits : numeric_plus(old_credits, credits)};
    bool nulls[2] = {false, false};
    HeapTuple next = heap_modify_tuple_by_cols(&tuple, descriptor, 2, changed, values, nulls);
    ReleaseBuffer(buffer);
    simple_heap_update(slots, &tid, next);
    if (!HeapTupleIsHeapOnly(next)) {
        // No room on the page: the new version has its own key entry.
        Relation key_index = open_slot_key(slots, columns);
        Datum key[3] = {Int64GetDatum(account.first), Int64GetDatum(account.second), slot_number};
        bool key_nulls[3] = {false, false, false};
        index_insert(key_index, key, key_nulls, &next->t_self, slots, UNIQUE_CHECK_YES, false,
                     BuildIndexInfo(key_index));
        index_close(key_index, NoLock);
    }
    written = next->t_self;
    heap_freetuple(next);
    return true;
}

// Adds each account's totals to its slot row found by the key, or inserts the row, through
// the executor's single-row functions (as logical replication applies rows). tids[i]: where
// the i-th account's row now is. Plain data only (runs inside pg_call).
void update_by_key(Relation slots, const SlotColumns& columns, const BalanceDeltas& deltas,
                   Datum slot_number, ItemPointerData* tids) {
    Relation key_index = open_slot_key(slots, columns);
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
    int position = 0;
    for (auto delta = deltas.begin(); delta != deltas.end(); ++delta, ++position) {
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
            next->tts_values[columns.debits - 1] =
                numeric_plus(found->tts_values[columns.debits - 1], delta->second.first);
            next->tts_values[columns.credits - 1] =
                numeric_plus(found->tts_values[columns.credits - 1], delta->second.second);
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
        // The new version's place (table_tuple_update and _insert set it in the slot).
        tids[position] = next->tts_tid;
    }
    index_endscan(scan);
    AfterTriggerEndQuery(estate);
    ExecCloseIndices(result);
    EvalPlanQualEnd(&epq);
    ExecResetTupleTable(estate->es_tupleTable, false);
    FreeExecutorState(estate);
    index_close(key_index, NoLock);
}

}  // namespace

void forget_ledger_tables(Oid relation) noexcept {
    if (relation == InvalidOid || relation == known_tables.journal_line ||
        relation == known_tables.journal_entry || relation == known_tables.balance_slots) {
        known_tables = LedgerTables{};
    }
}

void add_to_balance_slots(const BalanceDeltas& deltas, Oid fired_on) {
    if (deltas.empty()) {
        return;
    }
    Oid table = slot_table(fired_on, deltas.begin()->first.first);
    Relation slots = pg_call([&] { return table_open(table, RowExclusiveLock); });
    SlotColumns columns = slot_columns(RelationGetDescr(slots));
    Datum slot_number = Int32GetDatum(crm_core::ledger::balance_slot(MyBackendId));
    bool in_place = pg_call([&] {
        // Rows written earlier by this command (another statement trigger of the same query)
        // must be found and updated again: a new command id, as SPI would take.
        CommandCounterIncrement();
        return updates_in_place(slots);
    });
    // Each row where this backend last saw it, if it is still there; the others by the key.
    BalanceDeltas by_key;
    BlockNumber blocks = InvalidBlockNumber;
    for (const auto& [account, amounts] : deltas) {
        crm_core::pg::check_for_interrupts();
        auto known = known_slot_rows.find(account);
        if (in_place && known != known_slot_rows.end() && known->second.table == table) {
            ItemPointerData tid = known->second.tid;
            ItemPointerData written;
            ItemPointerSetInvalid(&written);
            bool updated = pg_call([&] {
                return update_known_row(slots, columns, tid, account, slot_number, amounts.first,
                                        amounts.second, blocks, written);
            });
            if (updated) {
                known->second.tid = written;
                continue;
            }
        }
        by_key.emplace(account, amounts);
    }
    if (!by_key.empty()) {
        std::vector<ItemPointerData> tids(by_key.size());
        ItemPointerData* places = tids.data();
        pg_call([&] { update_by_key(slots, columns, by_key, slot_number, places); });
        std::size_t position = 0;
        for (const auto& entry : by_key) {
            known_slot_rows.insert_or_assign(entry.first, KnownSlotRow{table, tids[position++]});
        }
    }
    pg_call([&] { table_close(slots, NoLock); });
}

}  // namespace crm_core::pg::ledger
