// Append-only guards: trigger functions that refuse UPDATE, DELETE and TRUNCATE, and the
// privilege test the DDL event triggers use to let only superusers remove a guard.
#include <optional>
#include <string>

#include "audit_retention.hpp"
#include "function.hpp"
#include "relation.hpp"
#include "role.hpp"
#include "trigger.hpp"
#include "ledger_state.hpp"
#include "spi.hpp"

namespace {

// The error every refused change raises: the table, the operation, and what to do instead.
crm_core::pg::Error append_only_error(const std::string& table, const char* operation,
                                      const char* what) {
    return crm_core::pg::Error(
        ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        std::string(operation) + " on " + table + " is refused: " + what + " are append-only",
        "crm_core guards this table; history is never edited, removed or truncated.",
        "Record a correction as a new row (for the ledger: a reversing entry).");
}

}  // namespace

// Trigger: BEFORE UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement); refuses always, but
// for crm_core's maintenance moving audit rows from the default partition into their month.
CRM_CORE_FUNCTION(crm_core_append_only_guard) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "crm_core.append_only_guard()");
    if (TRIGGER_FIRED_FOR_ROW(data->tg_event) && TRIGGER_FIRED_BY_DELETE(data->tg_event) &&
        crm_core::pg::audit_rows_moving_from(RelationGetRelid(data->tg_relation))) {
        return PointerGetDatum(data->tg_trigtuple);
    }
    throw append_only_error(crm_core::pg::qualified_name(data->tg_relation),
                            crm_core::pg::trigger_operation(data), "its rows");
}

// crm_core.invoked_by_superuser(): whether the role running the statement (SET ROLE
// included, SECURITY DEFINER excluded) is a superuser; event triggers run as definer. The same
// in every version, and called by every version's event triggers: exempt from the library/SQL
// version check, so that DDL keeps working between a package upgrade and ALTER EXTENSION.
CRM_CORE_FUNCTION_ANY_VERSION(crm_core_invoked_by_superuser) {
    return BoolGetDatum(crm_core::pg::invoked_by_superuser());
}

namespace {

// Whether the journal entry is posted and was not posted by the current transaction.
struct EntryState {
    bool posted = false;
    bool posted_by_this_transaction = false;
};

// The (business_id, entry_id) a journal line points at; std::nullopt when either is NULL.
std::optional<crm_core::pg::ledger::RowKey> line_entry(HeapTuple line, TupleDesc descriptor) {
    bool business_null = false, entry_null = false;
    Datum business = 0, entry = 0;
    crm_core::pg::pg_call([&] {
        business =
            heap_getattr(line, SPI_fnumber(descriptor, "business_id"), descriptor, &business_null);
        entry = heap_getattr(line, SPI_fnumber(descriptor, "entry_id"), descriptor, &entry_null);
    });
    if (business_null || entry_null) {
        return std::nullopt;
    }
    return crm_core::pg::ledger::RowKey{DatumGetInt64(business), DatumGetInt64(entry)};
}

// Looks up an entry's posting state (a line's entry exists: the foreign key says so).
EntryState entry_state(HeapTuple line, TupleDesc descriptor) {
    static crm_core::pg::CachedPlan select_entry(
        "SELECT status = 'posted', posted_txid IS NOT DISTINCT FROM "
        "pg_current_xact_id_if_assigned() FROM crm_core.journal_entry "
        "WHERE business_id = $1 AND id = $2",
        {INT8OID, INT8OID});
    std::optional<crm_core::pg::ledger::RowKey> key = line_entry(line, descriptor);
    if (!key) {
        return {};
    }
    Datum values[2] = {Int64GetDatum(key->first), Int64GetDatum(key->second)};
    crm_core::pg::SpiConnection spi;
    if (select_entry.execute(values, nullptr, true, 1) == 0) {
        return {};
    }
    std::optional<Datum> posted = crm_core::pg::result_value(0, 1);
    std::optional<Datum> this_transaction = crm_core::pg::result_value(0, 2);
    return {posted && DatumGetBool(*posted), this_transaction && DatumGetBool(*this_transaction)};
}

// Whether the line's entry was inserted by this transaction and not changed since, as the
// ledger's triggers recorded it: then lines may join it, and the per-line lookup of the entry
// (the cost of bulk posting) is skipped. Not trusted once a savepoint rolled back.
bool inserted_by_this_transaction(HeapTuple line, TupleDesc descriptor) {
    crm_core::pg::ledger::TransactionState& state = crm_core::pg::ledger::transaction_state();
    if (!state.tallies_trusted || state.fresh_entries.empty()) {
        return false;
    }
    std::optional<crm_core::pg::ledger::RowKey> key = line_entry(line, descriptor);
    return key && state.fresh_entries.count(*key) > 0;
}

// Whether a superuser is restoring a dump (session_replication_role = replica, which only a
// superuser can set): the lines of posted entries are loaded after their entries, verbatim.
bool restoring_as_superuser() {
    return SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA &&
           crm_core::pg::invoked_by_superuser();
}

}  // namespace

// Trigger on journal_entry (argument 'entry': BEFORE UPDATE OR DELETE) and journal_line
// ('line': BEFORE INSERT OR UPDATE OR DELETE): drafts stay editable, posting is allowed,
// posted rows never change; lines join a posted entry only in the transaction that posts it.
CRM_CORE_FUNCTION(crm_core_ledger_guard) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, "crm_core.ledger_guard()");
    const Trigger* trigger = data->tg_trigger;
    bool for_lines = trigger->tgnargs == 1 && strcmp(trigger->tgargs[0], "line") == 0;
    TupleDesc descriptor = RelationGetDescr(data->tg_relation);
    std::string table = crm_core::pg::qualified_name(data->tg_relation);
    const char* operation = crm_core::pg::trigger_operation(data);
    bool inserting = TRIGGER_FIRED_BY_INSERT(data->tg_event);
    HeapTuple result =
        TRIGGER_FIRED_BY_UPDATE(data->tg_event) ? data->tg_newtuple : data->tg_trigtuple;
    if (!for_lines) {
        std::optional<std::string> status = crm_core::pg::column_text(
            data->tg_trigtuple, descriptor,
            crm_core::pg::pg_call([&] { return SPI_fnumber(descriptor, "status"); }));
        if (status == std::string("posted")) {
            throw append_only_error(table, operation, "posted journal entries");
        }
        return PointerGetDatum(result);
    }
    if (!inserting && entry_state(data->tg_trigtuple, descriptor).posted) {
        throw append_only_error(table, operation, "lines of posted journal entries");
    }
    if (inserting && restoring_as_superuser()) {
        return PointerGetDatum(result);
    }
    if (inserting && inserted_by_this_transaction(result, descriptor)) {
        return PointerGetDatum(result);
    }
    if (!TRIGGER_FIRED_BY_DELETE(data->tg_event)) {
        EntryState target = entry_state(result, descriptor);
        if (target.posted && !target.posted_by_this_transaction) {
            throw append_only_error(table, operation, "lines of posted journal entries");
        }
    }
    return PointerGetDatum(result);
}
