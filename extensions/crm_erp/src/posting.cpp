// Posting rules on the write path: inserting event rows posts their journal entries in the
// same statement. A BEFORE ROW trigger reserves each header row's entry id; an AFTER
// STATEMENT trigger reads the inserted rows (transition table), applies each business's rules
// and writes all entries, then all lines, in two statements (one per statement of events,
// however many rows: COPY of a day's sales costs two ledger statements).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crm_core/posting.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "posting_cache.hpp"
#include "spi.hpp"
#include "trigger.hpp"

extern "C" {
#include "access/htup_details.h"
#include "commands/sequence.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

namespace crm_erp {

namespace {

using crm_core::pg::CachedPlan;
using crm_core::pg::Error;
using crm_core::pg::integer_datum;
using crm_core::pg::make_array;
using crm_core::pg::pg_call;
using crm_core::pg::result_value;
using crm_core::pg::slot_value;
namespace posting = crm_core::posting;

// The text form of a value (its type's output function).
std::string text_of(Datum value, Oid type) {
    const char* text = pg_call([&] {
        Oid output = InvalidOid;
        bool varlena = false;
        getTypeOutputInfo(type, &output, &varlena);
        return OidOutputFunctionCall(output, value);
    });
    return text;
}

// An amount column's value as a numeric Datum (copied: the slot is reused) and its sign.
std::pair<Datum, posting::Amount> amount_of(std::optional<Datum> value, Oid type) {
    if (!value) {
        return {Datum(0), posting::Amount::null};
    }
    if (type != NUMERICOID) {
        int64_t number = integer_datum(*value, type);
        Datum numeric = pg_call([&] { return NumericGetDatum(int64_to_numeric(number)); });
        return {numeric, number == 0  ? posting::Amount::zero
                         : number > 0 ? posting::Amount::positive
                                      : posting::Amount::negative};
    }
    Datum original = *value;
    return pg_call([&] {
        Datum copy = datumCopy(original, false, -1);
        Numeric number = DatumGetNumeric(copy);
        if (numeric_is_nan(number) || numeric_is_inf(number)) {
            return std::make_pair(copy, posting::Amount::not_finite);
        }
        int sign = DatumGetInt32(
            DirectFunctionCall2(numeric_cmp, copy, NumericGetDatum(int64_to_numeric(0))));
        return std::make_pair(copy, sign == 0  ? posting::Amount::zero
                                    : sign > 0 ? posting::Amount::positive
                                               : posting::Amount::negative);
    });
}

// The entry's effective date: the event's date column (in the session's time zone for a
// timestamp with time zone), else today.
DateADT entry_date(TupleTableSlot* slot, const EventTable& table) {
    std::optional<Datum> value =
        table.date.attnum > 0 ? slot_value(slot, table.date.attnum) : std::nullopt;
    if (!value) {
        return pg_call([] { return GetSQLCurrentDate(); });
    }
    Oid type = table.date.type;
    Datum original = *value;
    return pg_call([&] {
        if (type == DATEOID) {
            return DatumGetDateADT(original);
        }
        return DatumGetDateADT(DirectFunctionCall1(
            type == TIMESTAMPTZOID ? timestamptz_date : timestamp_date, original));
    });
}

// The entries and lines one statement of events posts, as the columns of two INSERTs.
struct Batch {
    std::vector<Datum> entry_business, entry_id, entry_date, entry_memo, entry_source,
        entry_metadata;
    std::vector<int64_t> entry_event;
    std::vector<Datum> line_business, line_entry, line_account, line_debit, line_credit,
        line_subledger, line_memo;
    std::vector<bool> debit_null, credit_null, subledger_null, memo_null;
};

// A child row's lines wait for its parent's entry id.
struct PendingChild {
    int64_t business_id;
    int64_t parent_id;
    int64_t event_id;
    std::size_t first_line;
    std::size_t end_line;
};

// "water.sale 17", for messages.
std::string event_name(const EventTable& table, int64_t id) {
    return table.qualified_name + " " + std::to_string(id);
}

// The account a rule line posts to for this event.
int64_t line_account(const ResolvedLine& line, TupleTableSlot* slot, const EventTable& table,
                     int64_t business_id, int64_t event_id) {
    const posting::RuleLine& rule = line.rule;
    if (rule.account_id) {
        return *rule.account_id;
    }
    const Column& column = rule.account_column.empty() ? line.item : line.account;
    std::optional<int64_t> target = rule.item_id;
    if (!target) {
        std::optional<Datum> value = slot_value(slot, column.attnum);
        if (!value) {
            throw Error(ERRCODE_NOT_NULL_VIOLATION,
                        event_name(table, event_id) + ": posting rule " + table.transaction_type +
                            " line " + std::to_string(rule.line_no) + " takes its " +
                            (rule.account_column.empty() ? "item" : "account") + " from column \"" +
                            column.name + "\", which is NULL",
                        "", "Give the event a value there, or make the rule line conditional.");
        }
        target = integer_datum(*value, column.type);
    }
    if (!rule.account_column.empty()) {
        return *target;
    }
    std::optional<std::pair<int64_t, int64_t>> accounts = item_accounts(business_id, *target);
    if (!accounts) {
        Error error(ERRCODE_FOREIGN_KEY_VIOLATION,
                    event_name(table, event_id) + ": item " + std::to_string(*target) +
                        " does not exist in business " + std::to_string(business_id),
                    "", "Items are rows of erp.item.");
        error.table_name = "item";
        throw error;
    }
    return rule.item_account == posting::ItemAccount::stock ? accounts->first : accounts->second;
}

// Applies the business's rules to one event row: its entry (header rows) and lines.
void post_row(TupleTableSlot* slot, const EventTable& table, TupleDesc descriptor, Batch& batch,
              std::vector<PendingChild>& children) {
    std::optional<Datum> business = slot_value(slot, table.business_id.attnum);
    std::optional<Datum> id = slot_value(slot, table.id.attnum);
    if (!business || !id) {
        throw Error(ERRCODE_NOT_NULL_VIOLATION,
                    "an event of " + table.qualified_name + " has no business_id or id");
    }
    int64_t business_id = integer_datum(*business, table.business_id.type);
    int64_t event_id = integer_datum(*id, table.id.type);
    const RuleSet& rules = rule_set(table, descriptor, business_id);
    if (!rules.defined || !rules.active || rules.lines.empty()) {
        throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    event_name(table, event_id) + " cannot post: transaction type " +
                        table.transaction_type + " of business " + std::to_string(business_id) +
                        (!rules.defined  ? " does not exist"
                         : !rules.active ? " is inactive"
                                         : " has no posting rule lines"),
                    "",
                    "Define it in erp.transaction_type and its lines in erp.posting_rule "
                    "(erp.setup_business() does both for the built-in modules).");
    }
    int64_t entry_id = 0;
    if (table.entry_id.attnum > 0) {
        std::optional<Datum> entry = slot_value(slot, table.entry_id.attnum);
        if (!entry) {
            throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                        event_name(table, event_id) + " has no reserved entry id", "",
                        "Register the table with erp.post_on_insert(), which adds the "
                        "erp_reserve_entry trigger.");
        }
        entry_id = integer_datum(*entry, table.entry_id.type);
        batch.entry_business.push_back(Int64GetDatum(business_id));
        batch.entry_id.push_back(Int64GetDatum(entry_id));
        batch.entry_event.push_back(event_id);
        batch.entry_date.push_back(DateADTGetDatum(entry_date(slot, table)));
        batch.entry_memo.push_back(crm_core::pg::string_to_text(rules.name));
        batch.entry_source.push_back(
            crm_core::pg::string_to_text(posting::source_ref(table.qualified_name, event_id)));
        batch.entry_metadata.push_back(crm_core::pg::string_to_text(
            posting::entry_metadata(table.transaction_type, rules.version)));
    }
    std::size_t first_line = batch.line_business.size();
    for (const ResolvedLine& line : rules.lines) {
        const posting::RuleLine& rule = line.rule;
        if (line.when.attnum > 0) {
            std::optional<Datum> value = slot_value(slot, line.when.attnum);
            std::optional<std::string> text =
                value ? std::optional<std::string>(text_of(*value, line.when.type)) : std::nullopt;
            if (!posting::condition_holds(rule, text)) {
                continue;
            }
        }
        auto [amount, state] = amount_of(slot_value(slot, line.amount.attnum), line.amount.type);
        posting::Outcome outcome = posting::outcome_for(state);
        if (outcome == posting::Outcome::skip) {
            continue;
        }
        if (outcome == posting::Outcome::refuse) {
            Error error(ERRCODE_CHECK_VIOLATION,
                        event_name(table, event_id) + ": posting rule " + table.transaction_type +
                            " line " + std::to_string(rule.line_no) + " takes its amount from \"" +
                            line.amount.name + "\", which is " + text_of(amount, NUMERICOID) +
                            "; amounts must be positive or zero",
                        "", "Record a refund or return as its own event, or reverse this one.");
            error.table_name = table.qualified_name;
            throw error;
        }
        batch.line_business.push_back(Int64GetDatum(business_id));
        batch.line_entry.push_back(Int64GetDatum(entry_id));
        batch.line_account.push_back(
            Int64GetDatum(line_account(line, slot, table, business_id, event_id)));
        bool debit = rule.side == posting::Side::debit;
        batch.line_debit.push_back(debit ? amount : Datum(0));
        batch.debit_null.push_back(!debit);
        batch.line_credit.push_back(debit ? Datum(0) : amount);
        batch.credit_null.push_back(debit);
        std::optional<Datum> subledger =
            line.subledger.attnum > 0 ? slot_value(slot, line.subledger.attnum) : std::nullopt;
        batch.line_subledger.push_back(
            subledger ? Int64GetDatum(integer_datum(*subledger, line.subledger.type)) : Datum(0));
        batch.subledger_null.push_back(!subledger);
        std::optional<Datum> memo =
            line.memo.attnum > 0 ? slot_value(slot, line.memo.attnum) : std::nullopt;
        batch.line_memo.push_back(
            memo ? crm_core::pg::string_to_text(text_of(*memo, line.memo.type)) : Datum(0));
        batch.memo_null.push_back(!memo);
    }
    if (table.parent.attnum > 0) {
        std::optional<Datum> parent = slot_value(slot, table.parent.attnum);
        if (!parent) {
            throw Error(ERRCODE_NOT_NULL_VIOLATION,
                        event_name(table, event_id) + " has no \"" + table.parent.name + "\"");
        }
        children.push_back({business_id, integer_datum(*parent, table.parent.type), event_id,
                            first_line, batch.line_business.size()});
    }
}

// Puts each child row's lines into its parent's entry, which this transaction must have
// posted (a posted entry never gains lines later).
void resolve_children(const EventTable& table, std::vector<PendingChild>& children, Batch& batch) {
    // Parents this transaction posted are known; the others are looked up (for the message).
    std::map<std::pair<int64_t, int64_t>, std::optional<int64_t>> parent_entries;
    std::map<int64_t, std::vector<int64_t>> parents_by_business;
    for (const PendingChild& child : children) {
        if (std::optional<int64_t> entry =
                posted_event_entry(table.parent_relid, child.business_id, child.parent_id)) {
            parent_entries[{child.business_id, child.parent_id}] = entry;
        } else {
            parents_by_business[child.business_id].push_back(child.parent_id);
        }
    }
    for (const auto& [business_id, parent_ids] : parents_by_business) {
        std::vector<Datum> ids;
        for (int64_t parent_id : parent_ids) {
            ids.push_back(Int64GetDatum(parent_id));
        }
        Datum arguments[2] = {Int64GetDatum(business_id),
                              make_array(INT8OID, ids, std::vector<bool>(ids.size(), false))};
        // Not read-only: a parent inserted by this same query (a writable CTE) must be seen.
        uint64 rows = table.parent_entries->execute(arguments, nullptr, false);
        for (uint64 row = 0; row < rows; ++row) {
            std::optional<Datum> entry = result_value(row, 2);
            parent_entries[{business_id, DatumGetInt64(*result_value(row, 1))}] =
                entry ? std::optional<int64_t>(DatumGetInt64(*entry)) : std::nullopt;
        }
    }
    std::string parent_table = [&] {
        const char* name = pg_call([&] { return get_rel_name(table.parent_relid); });
        return std::string(name != nullptr ? name : "parent");
    }();
    for (const PendingChild& child : children) {
        auto found = parent_entries.find({child.business_id, child.parent_id});
        std::string parent = parent_table + " " + std::to_string(child.parent_id);
        std::string prefix = event_name(table, child.event_id) + ": its " + parent;
        if (found == parent_entries.end() || !found->second) {
            throw Error(
                ERRCODE_FOREIGN_KEY_VIOLATION,
                prefix + (found == parent_entries.end()
                              ? " does not exist in business " + std::to_string(child.business_id)
                              : " has no entry"));
        }
        // Only entries this transaction posted take more lines (the ledger refuses the others).
        std::optional<EntryState> state = entry_state(child.business_id, *found->second);
        if (!state) {
            throw Error(
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                prefix + " was posted by an earlier transaction; its entry takes no more lines", "",
                "Insert rows in the same transaction as their " + parent_table +
                    ", or record a new " + parent_table + ".");
        }
        if (*state == EntryState::reserved) {
            throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                        prefix + " has not posted its entry yet", "",
                        "Insert the " + parent_table + " in an earlier statement than its rows.");
        }
        for (std::size_t line = child.first_line; line < child.end_line; ++line) {
            batch.line_entry[line] = Int64GetDatum(*found->second);
        }
    }
}

// Writes the batch: entries first (the lines' foreign key), then lines.
void write_batch(const Batch& batch, Oid relid) {
    if (!batch.entry_id.empty()) {
        static CachedPlan insert_entries(
            "INSERT INTO crm_core.journal_entry "
            "(business_id, id, effective_date, memo, source_ref, metadata) "
            "SELECT u.b, u.i, u.d, u.m, u.s, u.x::pg_catalog.jsonb "
            "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), "
            "pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6)) "
            "AS u (b, i, d, m, s, x)",
            {INT8ARRAYOID, INT8ARRAYOID, DATEARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID},
            true);
        std::vector<bool> none(batch.entry_id.size(), false);
        Datum arguments[6] = {make_array(INT8OID, batch.entry_business, none),
                              make_array(INT8OID, batch.entry_id, none),
                              make_array(DATEOID, batch.entry_date, none),
                              make_array(TEXTOID, batch.entry_memo, none),
                              make_array(TEXTOID, batch.entry_source, none),
                              make_array(TEXTOID, batch.entry_metadata, none)};
        insert_entries.execute(arguments, nullptr, false);
        for (std::size_t entry = 0; entry < batch.entry_id.size(); ++entry) {
            int64_t business_id = DatumGetInt64(batch.entry_business[entry]);
            int64_t entry_id = DatumGetInt64(batch.entry_id[entry]);
            note_entry(business_id, entry_id, EntryState::posted);
            note_posted_event(relid, business_id, batch.entry_event[entry], entry_id);
        }
    }
    if (!batch.line_entry.empty()) {
        static CachedPlan insert_lines(
            "INSERT INTO crm_core.journal_line "
            "(business_id, entry_id, account_id, debit, credit, subledger, memo) "
            "SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
            "pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), "
            "pg_catalog.unnest($6), pg_catalog.unnest($7))",
            {INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, NUMERICARRAYOID, NUMERICARRAYOID,
             INT8ARRAYOID, TEXTARRAYOID},
            true);
        std::vector<bool> none(batch.line_entry.size(), false);
        Datum arguments[7] = {make_array(INT8OID, batch.line_business, none),
                              make_array(INT8OID, batch.line_entry, none),
                              make_array(INT8OID, batch.line_account, none),
                              make_array(NUMERICOID, batch.line_debit, batch.debit_null),
                              make_array(NUMERICOID, batch.line_credit, batch.credit_null),
                              make_array(INT8OID, batch.line_subledger, batch.subledger_null),
                              make_array(TEXTOID, batch.line_memo, batch.memo_null)};
        insert_lines.execute(arguments, nullptr, false);
    }
}

}  // namespace

}  // namespace crm_erp

using crm_core::pg::Error;
using crm_core::pg::pg_call;

// erp.reserve_entry(): BEFORE INSERT FOR EACH ROW on a header event table. Sets entry_id to
// a fresh journal entry id, so the row names its entry before the entry is written.
CRM_CORE_FUNCTION(crm_erp_reserve_entry) {
    TriggerData* trigger = crm_core::pg::trigger_data(fcinfo, "erp.reserve_entry()");
    if (!TRIGGER_FIRED_BEFORE(trigger->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigger->tg_event) ||
        !TRIGGER_FIRED_BY_INSERT(trigger->tg_event)) {
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "erp.reserve_entry() runs BEFORE INSERT FOR EACH ROW");
    }
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    const char* table = RelationGetRelationName(trigger->tg_relation);
    int entry_column = crm_core::pg::column_number(descriptor, "entry_id", table);
    HeapTuple tuple = trigger->tg_trigtuple;
    if (crm_core::pg::tuple_value(tuple, descriptor, entry_column)) {
        Error error(ERRCODE_GENERATED_ALWAYS,
                    std::string("entry_id of ") + table + " is set by its posting rules", "",
                    "Omit entry_id: the row's journal entry is posted for you.");
        error.column_name = "entry_id";
        error.table_name = table;
        throw error;
    }
    crm_erp::CacheUse cache_use;
    Oid sequence = crm_erp::entry_id_sequence();
    int64 entry_id = pg_call([&] { return nextval_internal(sequence, false); });
    int business_column = crm_core::pg::column_number(descriptor, "business_id", table);
    if (std::optional<Datum> business =
            crm_core::pg::tuple_value(tuple, descriptor, business_column)) {
        crm_erp::note_entry(DatumGetInt64(*business), entry_id, crm_erp::EntryState::reserved);
    }
    return pg_call([&] {
        int replaced[1] = {entry_column};
        Datum values[1] = {Int64GetDatum(entry_id)};
        bool nulls[1] = {false};
        return PointerGetDatum(
            heap_modify_tuple_by_cols(tuple, descriptor, 1, replaced, values, nulls));
    });
}

// erp.post_events(): AFTER INSERT FOR EACH STATEMENT (REFERENCING NEW TABLE) on an event
// table: posts every inserted row by its business's rules.
CRM_CORE_FUNCTION(crm_erp_post_events) {
    TriggerData* trigger = crm_core::pg::trigger_data(fcinfo, "erp.post_events()");
    if (!TRIGGER_FIRED_AFTER(trigger->tg_event) || TRIGGER_FIRED_FOR_ROW(trigger->tg_event) ||
        !TRIGGER_FIRED_BY_INSERT(trigger->tg_event)) {
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "erp.post_events() runs AFTER INSERT FOR EACH STATEMENT");
    }
    Oid relid = RelationGetRelid(trigger->tg_relation);
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    crm_erp::CacheUse cache_use;
    crm_core::pg::SpiConnection spi;
    const crm_erp::EventTable& table = crm_erp::event_table(relid, descriptor);
    crm_erp::Batch batch;
    std::vector<crm_erp::PendingChild> children;
    crm_core::pg::TransitionRows rows(trigger->tg_newtable, descriptor);
    while (rows.next()) {
        pg_call([] { CHECK_FOR_INTERRUPTS(); });
        crm_erp::post_row(rows.slot(), table, descriptor, batch, children);
    }
    rows.finish();
    if (!children.empty()) {
        crm_erp::resolve_children(table, children, batch);
    }
    crm_erp::write_batch(batch, relid);
    return PointerGetDatum(nullptr);
}

// erp.rules_changed(): AFTER ... FOR EACH STATEMENT on the posting configuration tables: every
// backend forgets its cached rules, event tables and items when this transaction commits.
CRM_CORE_FUNCTION(crm_erp_rules_changed) {
    TriggerData* trigger = crm_core::pg::trigger_data(fcinfo, "erp.rules_changed()");
    crm_erp::invalidate(RelationGetRelid(trigger->tg_relation));
    return PointerGetDatum(nullptr);
}
