// The ledger's triggers: validation of lines as they are written, balances kept in the same
// transaction, and the deferred check that every touched posted entry balances at commit.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "interrupts.hpp"
#include "crm_core/ledger.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "ledger_state.hpp"
#include "spi.hpp"
#include "trigger.hpp"

extern "C" {
#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "storage/backendid.h"
#include "utils/date.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"
}

namespace crm_core::pg::ledger {

namespace {

using crm_core::ledger::OverdraftRule;

// a + b for numerics, allocated in context.
Datum numeric_sum(Datum a, Datum b, MemoryContext context) {
    MemoryContext caller = MemoryContextSwitchTo(context);
    Datum sum = guard([&] { return DirectFunctionCall2(numeric_add, a, b); });
    MemoryContextSwitchTo(caller);
    return sum;
}

// Zero as a numeric, allocated in context.
Datum numeric_zero(MemoryContext context) {
    MemoryContext caller = MemoryContextSwitchTo(context);
    Datum zero = guard([] { return NumericGetDatum(int64_to_numeric(0)); });
    MemoryContextSwitchTo(caller);
    return zero;
}

// The sign of a - b for numerics.
int numeric_compare(Datum a, Datum b) {
    return guard([&] { return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b)); });
}

// A numeric as text, for messages.
std::string numeric_text(Datum value) {
    const char* text =
        guard([&] { return DatumGetCString(DirectFunctionCall1(numeric_out, value)); });
    return text;
}

// A date as text, for messages.
std::string date_text(DateADT day) {
    const char* text =
        guard([&] { return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day))); });
    return text;
}

// A journal line as the triggers read it.
struct LineData {
    RowKey id;
    RowKey entry;
    RowKey account;
    std::optional<Datum> debit;
    std::optional<Datum> credit;
    std::optional<std::string> currency;
};

// Attribute numbers of the journal_line columns the triggers read.
struct LineColumns {
    explicit LineColumns(TupleDesc descriptor)
        : id(column_number(descriptor, "id", "crm_core.journal_line")),
          business_id(column_number(descriptor, "business_id", "crm_core.journal_line")),
          entry_id(column_number(descriptor, "entry_id", "crm_core.journal_line")),
          account_id(column_number(descriptor, "account_id", "crm_core.journal_line")),
          debit(column_number(descriptor, "debit", "crm_core.journal_line")),
          credit(column_number(descriptor, "credit", "crm_core.journal_line")),
          currency(column_number(descriptor, "currency", "crm_core.journal_line")) {}
    int id, business_id, entry_id, account_id, debit, credit, currency;
};

// Reads one line from a slot of the transition table.
LineData read_line(TupleTableSlot* slot, const LineColumns& columns) {
    Datum values[7];
    bool nulls[7];
    const int numbers[7] = {columns.business_id, columns.entry_id, columns.account_id,
                            columns.debit,       columns.credit,   columns.currency,
                            columns.id};
    guard([&] {
        for (int i = 0; i < 7; ++i) {
            values[i] = slot_getattr(slot, numbers[i], &nulls[i]);
        }
    });
    int64 business_id = DatumGetInt64(values[0]);
    LineData line{{business_id, DatumGetInt64(values[6])},
                  {business_id, DatumGetInt64(values[1])},
                  {business_id, DatumGetInt64(values[2])},
                  std::nullopt,
                  std::nullopt,
                  std::nullopt};
    if (!nulls[3]) {
        line.debit = values[3];
    }
    if (!nulls[4]) {
        line.credit = values[4];
    }
    if (!nulls[5]) {
        line.currency = text_to_string(values[5]);
    }
    return line;
}

// Refuses a line whose account is missing, closed (for counted lines) or in another currency.
const AccountInfo& check_line_account(const LineData& line, bool counted) {
    const AccountInfo* account = find_account(line.account);
    if (account == nullptr) {
        Error error(ERRCODE_FOREIGN_KEY_VIOLATION,
                    "account " + std::to_string(line.account.second) +
                        " does not exist in business " + std::to_string(line.account.first),
                    "", "Use an account of the entry's business.");
        error.table_name = "journal_line";
        throw error;
    }
    if (line.currency && *line.currency != account->currency) {
        Error error(ERRCODE_CHECK_VIOLATION,
                    "journal line currency " + *line.currency + " differs from account " +
                        account->code + "'s currency " + account->currency,
                    "", "Omit currency on the line or give the account's currency.");
        error.table_name = "journal_line";
        error.constraint_name = "journal_line_currency_matches_account";
        throw error;
    }
    if (counted && account->closed) {
        throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "account " + account->code + " (id " + std::to_string(line.account.second) +
                        ") is closed",
                    "", "Post to an open account, or reopen it by clearing account.closed_at.");
    }
    return *account;
}

// Adds a line's amounts to debits and credits (numerics in context).
void add_amounts(const LineData& line, Datum& debits, Datum& credits, MemoryContext context) {
    if (line.debit) {
        debits = numeric_sum(debits, *line.debit, context);
    }
    if (line.credit) {
        credits = numeric_sum(credits, *line.credit, context);
    }
}

// Counts a line in its fresh entry's running tally (kept in TopTransactionContext).
void tally_line(EntryTally& tally, const LineData& line, const std::string& currency) {
    ++tally.lines;
    for (auto& totals : tally.totals) {
        if (totals.currency == currency) {
            add_amounts(line, totals.debits, totals.credits, TopTransactionContext);
            return;
        }
    }
    Datum zero = numeric_zero(TopTransactionContext);
    CurrencyTotals totals{currency, zero, zero};
    add_amounts(line, totals.debits, totals.credits, TopTransactionContext);
    tally.totals.push_back(std::move(totals));
}

// The lines of posted entries written by one statement, summed per account, then added to
// this backend's balance slots in one statement (accounts in key order).
class BalanceDeltas {
  public:
    // Counts a validated line of a posted entry.
    void add(const LineData& line) {
        auto found = deltas_.find(line.account);
        if (found == deltas_.end()) {
            Datum zero = numeric_zero(CurrentMemoryContext);
            found = deltas_.emplace(line.account, std::make_pair(zero, zero)).first;
        }
        add_amounts(line, found->second.first, found->second.second, CurrentMemoryContext);
    }

    // Adds the sums to the balance slots; needs an open SPI connection. The backend's slot rows
    // usually exist: a plain UPDATE by key adds to each; only an account this slot has never
    // seen is inserted (an upsert, in case a prepared transaction of a former backend holds it).
    void apply() {
        static CachedPlan update(
            "UPDATE crm_core.account_balance_slot "
            "SET debits = debits + $4, credits = credits + $5 "
            "WHERE business_id = $1 AND account_id = $2 AND slot = $3",
            {INT8OID, INT8OID, INT4OID, NUMERICOID, NUMERICOID});
        static CachedPlan upsert(
            "INSERT INTO crm_core.account_balance_slot AS s "
            "(business_id, account_id, slot, debits, credits) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (business_id, account_id, slot) DO UPDATE "
            "SET debits = s.debits + excluded.debits, credits = s.credits + excluded.credits",
            {INT8OID, INT8OID, INT4OID, NUMERICOID, NUMERICOID});
        Datum slot = Int32GetDatum(crm_core::ledger::balance_slot(MyBackendId));
        for (const auto& [account, sums] : deltas_) {
            Datum arguments[5] = {Int64GetDatum(account.first), Int64GetDatum(account.second), slot,
                                  sums.first, sums.second};
            if (update.execute(arguments, nullptr, false) == 0) {
                upsert.execute(arguments, nullptr, false);
            }
        }
    }

  private:
    std::map<RowKey, std::pair<Datum, Datum>> deltas_;
};

// Remembers that a counted line touched its entry and account (checks re-armed).
void note_counted_line(TransactionState& state, const LineData& line, const AccountInfo& account) {
    state.verified_entries.erase(line.entry);
    if (account.overdraft != OverdraftRule::none) {
        state.ruled_accounts_touched.insert(line.account);
        state.ruled_accounts_pending.insert(line.account);
    }
}

// Whether a line of an entry posted by UPDATE in this transaction is counted for the first
// time (then remembered with the current subtransaction).
bool first_count_after_posting(TransactionState& state, const LineData& line) {
    SubTransactionId counting = guard([] { return GetCurrentSubTransactionId(); });
    return state.lines_counted_after_posting.emplace(line.id, counting).second;
}

// Whether lines of an entry this transaction did not insert are counted now: yes for an
// entry posted by this transaction, no for a draft; refused for an entry posted by another.
// Locks the entry (FOR SHARE) so that nobody posts a draft under lines being added.
bool existing_entry_counts(const RowKey& entry) {
    static CachedPlan lock_entry(
        "SELECT status = 'posted', xmin FROM crm_core.journal_entry "
        "WHERE business_id = $1 AND id = $2 FOR SHARE",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(entry.first), Int64GetDatum(entry.second)};
    if (lock_entry.execute(arguments, nullptr, false, 1) == 0) {
        return false;
    }
    if (!DatumGetBool(*result_value(0, 1))) {
        return false;
    }
    TransactionId writer = DatumGetTransactionId(*result_value(0, 2));
    if (guard([&] { return TransactionIdIsCurrentTransactionId(writer); })) {
        return true;
    }
    throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "journal entry " + std::to_string(entry.second) +
                    " is already posted; lines cannot be added to it",
                "", "Post a new entry, or reverse this one with crm_core.reverse_entry().");
}

// Throws when an entry does not balance in one currency.
void check_entry_totals(const RowKey& entry, const std::string& currency, Datum debits,
                        Datum credits) {
    if (numeric_compare(debits, credits) != 0) {
        Error error(ERRCODE_CHECK_VIOLATION,
                    "journal entry " + std::to_string(entry.second) + " does not balance in " +
                        currency + ": debits " + numeric_text(debits) + ", credits " +
                        numeric_text(credits),
                    "", "A posted entry needs equal debits and credits per currency at commit.");
        error.table_name = "journal_entry";
        error.constraint_name = "journal_entry_balanced";
        throw error;
    }
}

// Throws when a posted entry has fewer than two lines.
void check_line_count(const RowKey& entry, int64 lines) {
    if (lines < 2) {
        Error error(ERRCODE_CHECK_VIOLATION,
                    "journal entry " + std::to_string(entry.second) + " has " +
                        std::to_string(lines) + " line(s); a posted entry needs at least two",
                    "", "Add the missing lines before commit, or insert the entry as a draft.");
        error.table_name = "journal_entry";
        error.constraint_name = "journal_entry_min_lines";
        throw error;
    }
}

// Checks a posted entry from its lines in the table (entries this transaction did not create,
// or after a rolled-back savepoint). Needs an open SPI connection.
void check_entry_from_table(const RowKey& entry) {
    static CachedPlan select_status(
        "SELECT status = 'posted' FROM crm_core.journal_entry WHERE business_id = $1 AND id = $2",
        {INT8OID, INT8OID});
    static CachedPlan select_totals(
        "SELECT a.currency, count(*), COALESCE(sum(l.debit), 0), COALESCE(sum(l.credit), 0) "
        "FROM crm_core.journal_line l JOIN crm_core.account a "
        "ON a.business_id = l.business_id AND a.id = l.account_id "
        "WHERE l.business_id = $1 AND l.entry_id = $2 GROUP BY a.currency ORDER BY a.currency",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(entry.first), Int64GetDatum(entry.second)};
    if (execute_on_latest_snapshot(select_status, arguments, 1) == 0 ||
        !DatumGetBool(*result_value(0, 1))) {
        return;
    }
    uint64 currencies = execute_on_latest_snapshot(select_totals, arguments);
    int64 lines = 0;
    for (uint64 row = 0; row < currencies; ++row) {
        lines += DatumGetInt64(*result_value(row, 2));
    }
    check_line_count(entry, lines);
    for (uint64 row = 0; row < currencies; ++row) {
        check_entry_totals(entry, text_to_string(*result_value(row, 1)), *result_value(row, 3),
                           *result_value(row, 4));
    }
}

// Checks every pending overdraft account in key order: serializes with other writers of the
// account on its guard slot (-1), then compares the committed-plus-own totals with the rule.
void check_ruled_accounts(TransactionState& state) {
    static CachedPlan lock_account(
        "INSERT INTO crm_core.account_balance_slot AS s (business_id, account_id, slot) "
        "VALUES ($1, $2, -1) ON CONFLICT (business_id, account_id, slot) "
        "DO UPDATE SET debits = s.debits",
        {INT8OID, INT8OID});
    static CachedPlan select_totals(
        "SELECT COALESCE(sum(debits), 0), COALESCE(sum(credits), 0) "
        "FROM crm_core.account_balance_slot WHERE business_id = $1 AND account_id = $2",
        {INT8OID, INT8OID});
    for (const RowKey& account : state.ruled_accounts_pending) {
        const AccountInfo* info = find_account(account);
        if (info == nullptr) {
            continue;
        }
        Datum arguments[2] = {Int64GetDatum(account.first), Int64GetDatum(account.second)};
        lock_account.execute(arguments, nullptr, false);
        select_totals.execute(arguments, nullptr, false, 1);
        Datum debits = *result_value(0, 1);
        Datum credits = *result_value(0, 2);
        if (crm_core::ledger::breaks_overdraft_rule(info->overdraft,
                                                    numeric_compare(debits, credits))) {
            bool debit_rule = info->overdraft == OverdraftRule::debits_must_not_exceed_credits;
            Error error(ERRCODE_CHECK_VIOLATION,
                        "account " + info->code + " (id " + std::to_string(account.second) +
                            ") would have " + (debit_rule ? "debits " : "credits ") +
                            numeric_text(debit_rule ? debits : credits) + " exceeding " +
                            (debit_rule ? "credits " : "debits ") +
                            numeric_text(debit_rule ? credits : debits),
                        std::string("The account's overdraft rule is ") +
                            (debit_rule ? "debits_must_not_exceed_credits."
                                        : "credits_must_not_exceed_debits."),
                        "Post less, or fund the account first.");
            error.table_name = "account";
            error.constraint_name = "account_overdraft";
            throw error;
        }
    }
    state.ruled_accounts_pending.clear();
}

// The deferred check for one entry: once per commit unless it changes again. Entries this
// transaction created are checked from their running tallies, others from the table.
void verify_entry(TransactionState& state, const RowKey& entry) {
    if (state.lost) {
        throw Error(ERRCODE_OUT_OF_MEMORY,
                    "crm_core lost track of this transaction's ledger checks", "",
                    "Roll back and retry the transaction.");
    }
    if (state.verified_entries.count(entry) == 0) {
        auto fresh = state.fresh_entries.find(entry);
        if (fresh != state.fresh_entries.end() && state.tallies_trusted) {
            if (fresh->second) {
                const EntryTally& tally = state.tallies[entry];
                check_line_count(entry, tally.lines);
                for (const auto& totals : tally.totals) {
                    check_entry_totals(entry, totals.currency, totals.debits, totals.credits);
                }
            }
        } else {
            as_extension_owner([&] {
                SpiConnection spi;
                check_entry_from_table(entry);
            });
        }
        state.verified_entries.insert(entry);
    }
    if (!state.ruled_accounts_pending.empty()) {
        as_extension_owner([&] {
            SpiConnection spi;
            check_ruled_accounts(state);
        });
    }
}

// Refuses posting an entry dated inside a closed fiscal period (cache loaded on a miss).
void check_period_open(const RowKey& entry, DateADT effective_date) {
    const crm_core::ledger::ClosedRanges* periods = cached_closed_periods(entry.first);
    if (periods == nullptr) {
        as_extension_owner([&] {
            SpiConnection spi;
            periods = &closed_periods(entry.first);
        });
    }
    auto closed = periods->find(effective_date);
    if (closed) {
        throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "journal entry " + std::to_string(entry.second) + " is dated " +
                        date_text(effective_date) + ", inside a closed fiscal period (" +
                        date_text(closed->first) + " to " + date_text(closed->second) + ")",
                    "", "Date the entry in an open period, or reopen the period.");
    }
}

// Attribute numbers of the journal_entry columns the triggers read or set.
struct EntryColumns {
    explicit EntryColumns(TupleDesc descriptor)
        : id(column_number(descriptor, "id", "crm_core.journal_entry")),
          business_id(column_number(descriptor, "business_id", "crm_core.journal_entry")),
          status(column_number(descriptor, "status", "crm_core.journal_entry")),
          effective_date(column_number(descriptor, "effective_date", "crm_core.journal_entry")),
          reverses_entry_id(
              column_number(descriptor, "reverses_entry_id", "crm_core.journal_entry")),
          posted_at(column_number(descriptor, "posted_at", "crm_core.journal_entry")),
          posted_txid(column_number(descriptor, "posted_txid", "crm_core.journal_entry")) {}
    int id, business_id, status, effective_date, reverses_entry_id, posted_at, posted_txid;
};

// The parts of a journal_entry row the triggers compare.
struct EntryRow {
    RowKey key;
    bool posted;
    DateADT effective_date;
    std::optional<int64> reverses_entry_id;
};

// Reads an entry row.
EntryRow read_entry(HeapTuple tuple, TupleDesc descriptor, const EntryColumns& columns) {
    std::optional<Datum> reverses = tuple_value(tuple, descriptor, columns.reverses_entry_id);
    return EntryRow{{DatumGetInt64(*tuple_value(tuple, descriptor, columns.business_id)),
                     DatumGetInt64(*tuple_value(tuple, descriptor, columns.id))},
                    text_to_string(*tuple_value(tuple, descriptor, columns.status)) == "posted",
                    DatumGetDateADT(*tuple_value(tuple, descriptor, columns.effective_date)),
                    reverses ? std::optional<int64>(DatumGetInt64(*reverses)) : std::nullopt};
}

// The row with posted_at / posted_txid set for a posted entry, or cleared for a draft.
HeapTuple with_posting_stamp(HeapTuple tuple, TupleDesc descriptor, const EntryColumns& columns,
                             bool posted) {
    return guard([&] {
        int replaced[2] = {columns.posted_at, columns.posted_txid};
        Datum values[2] = {TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
                           FullTransactionIdGetDatum(GetTopFullTransactionId())};
        bool nulls[2] = {!posted, !posted};
        return heap_modify_tuple_by_cols(tuple, descriptor, 2, replaced, values, nulls);
    });
}

// Refuses an update that changes what a posted entry means.
void check_posted_entry_update(const EntryRow& before, const EntryRow& after) {
    if (!after.posted || before.key != after.key || before.effective_date != after.effective_date ||
        before.reverses_entry_id != after.reverses_entry_id) {
        throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "posted journal entry " + std::to_string(before.key.second) +
                        " cannot change its status, business, id, date or reversal link",
                    "", "Correct a posted entry with crm_core.reverse_entry() and a new entry.");
    }
}

}  // namespace

}  // namespace crm_core::pg::ledger

using namespace crm_core::pg;
using namespace crm_core::pg::ledger;

// BEFORE INSERT OR UPDATE OR DELETE ON journal_entry, per row: stamps postings, refuses closed
// periods and changes to posted entries, and remembers the entries this transaction creates.
CRM_CORE_FUNCTION(crm_core_ledger_entry_before_write) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core.ledger_entry_before_write()");
    TransactionState& state = transaction_state();
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    EntryColumns columns(descriptor);
    if (TRIGGER_FIRED_BY_DELETE(trigger->tg_event)) {
        // A deleted entry has no lines (their foreign key): its pending check reads the table.
        state.fresh_entries.erase(read_entry(trigger->tg_trigtuple, descriptor, columns).key);
        return PointerGetDatum(trigger->tg_trigtuple);
    }
    bool inserting = TRIGGER_FIRED_BY_INSERT(trigger->tg_event);
    HeapTuple tuple = inserting ? trigger->tg_trigtuple : trigger->tg_newtuple;
    EntryRow entry = read_entry(tuple, descriptor, columns);
    bool was_posted = false;
    if (!inserting) {
        EntryRow before = read_entry(trigger->tg_trigtuple, descriptor, columns);
        was_posted = before.posted;
        if (was_posted) {
            check_posted_entry_update(before, entry);
        }
        state.fresh_entries.erase(before.key);
        state.fresh_entries.erase(entry.key);
        state.verified_entries.erase(entry.key);
    }
    if (entry.posted && !was_posted) {
        check_period_open(entry.key, entry.effective_date);
    }
    if (inserting) {
        state.fresh_entries.insert_or_assign(entry.key, entry.posted);
        state.tallies.erase(entry.key);
        state.verified_entries.erase(entry.key);
    }
    if (was_posted) {
        return PointerGetDatum(tuple);
    }
    return PointerGetDatum(with_posting_stamp(tuple, descriptor, columns, entry.posted));
}

// AFTER UPDATE ON journal_entry, per row, when a draft becomes posted: validates its lines
// and adds them to the balances.
CRM_CORE_FUNCTION(crm_core_ledger_entry_posted) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core.ledger_entry_posted()");
    TransactionState& state = transaction_state();
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    EntryRow entry = read_entry(trigger->tg_newtuple, descriptor, EntryColumns(descriptor));
    as_extension_owner([&] {
        SpiConnection spi;
        static crm_core::pg::CachedPlan select_lines(
            "SELECT account_id, debit, credit, currency, id FROM crm_core.journal_line "
            "WHERE business_id = $1 AND entry_id = $2",
            {INT8OID, INT8OID});
        Datum arguments[2] = {Int64GetDatum(entry.key.first), Int64GetDatum(entry.key.second)};
        uint64 count = execute_on_latest_snapshot(select_lines, arguments);
        std::vector<LineData> lines;
        for (uint64 row = 0; row < count; ++row) {
            crm_core::pg::check_for_interrupts();
            std::optional<Datum> currency = result_value(row, 4);
            lines.push_back(LineData{
                {entry.key.first, DatumGetInt64(*result_value(row, 5))},
                entry.key,
                {entry.key.first, DatumGetInt64(*result_value(row, 1))},
                result_value(row, 2),
                result_value(row, 3),
                currency ? std::optional<std::string>(text_to_string(*currency)) : std::nullopt});
        }
        BalanceDeltas deltas;
        for (const LineData& line : lines) {
            crm_core::pg::check_for_interrupts();
            const AccountInfo& account = check_line_account(line, true);
            if (!first_count_after_posting(state, line)) {
                continue;
            }
            deltas.add(line);
            note_counted_line(state, line, account);
        }
        deltas.apply();
    });
    return PointerGetDatum(nullptr);
}

// AFTER INSERT ON journal_line FOR EACH STATEMENT (transition table new_lines): validates the
// lines, adds those of posted entries to the balances in one statement, and keeps running
// tallies for the entries this transaction created, so the commit check reads no table.
CRM_CORE_FUNCTION(crm_core_ledger_lines_inserted) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core.ledger_lines_inserted()");
    Tuplestorestate* rows = trigger->tg_newtable;
    if (rows == nullptr) {
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "crm_core_ledger_lines_inserted needs REFERENCING NEW TABLE");
    }
    TransactionState& state = transaction_state();
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    LineColumns columns(descriptor);
    as_extension_owner([&] {
        SpiConnection spi;
        BalanceDeltas deltas;
        std::unordered_map<RowKey, bool, RowKeyHash> existing_entries;
        TupleTableSlot* slot = guard([&] {
            TupleTableSlot* made = MakeSingleTupleTableSlot(descriptor, &TTSOpsMinimalTuple);
            tuplestore_select_read_pointer(rows,
                                           tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND));
            tuplestore_rescan(rows);
            return made;
        });
        while (guard([&] { return tuplestore_gettupleslot(rows, true, false, slot); })) {
            crm_core::pg::check_for_interrupts();
            LineData line = read_line(slot, columns);
            auto fresh = state.fresh_entries.find(line.entry);
            bool counted;
            if (fresh != state.fresh_entries.end()) {
                counted = fresh->second;
            } else {
                auto known = existing_entries.find(line.entry);
                if (known == existing_entries.end()) {
                    known = existing_entries.emplace(line.entry, existing_entry_counts(line.entry))
                                .first;
                }
                counted = known->second;
            }
            const AccountInfo& account = check_line_account(line, counted);
            if (!counted ||
                (fresh == state.fresh_entries.end() && !first_count_after_posting(state, line))) {
                continue;
            }
            deltas.add(line);
            note_counted_line(state, line, account);
            if (fresh != state.fresh_entries.end() && state.tallies_trusted) {
                tally_line(state.tallies[line.entry], line, account.currency);
            }
        }
        guard([&] {
            ExecDropSingleTupleTableSlot(slot);
            tuplestore_select_read_pointer(rows, 0);
        });
        deltas.apply();
    });
    if (state.open_line_statements > 0) {
        --state.open_line_statements;
    }
    if (state.open_line_statements == 0) {
        while (!state.checks_waiting.empty()) {
            crm_core::pg::check_for_interrupts();
            RowKey entry = *state.checks_waiting.begin();
            state.checks_waiting.erase(state.checks_waiting.begin());
            verify_entry(state, entry);
        }
    }
    return PointerGetDatum(nullptr);
}

// BEFORE INSERT ON journal_line FOR EACH STATEMENT: the lines about to be written are not
// counted until the AFTER statement trigger runs; checks that fire earlier wait for it.
CRM_CORE_FUNCTION(crm_core_ledger_lines_inserting) {
    trigger_data(fcinfo, "crm_core.ledger_lines_inserting()");
    ++transaction_state().open_line_statements;
    return PointerGetDatum(nullptr);
}

// Deferred constraint trigger on journal_line (AFTER INSERT) and journal_entry (AFTER INSERT
// OR UPDATE): at commit, or at SET CONSTRAINTS ... IMMEDIATE, checks the row's entry once
// and every overdraft account the transaction wrote.
CRM_CORE_FUNCTION(crm_core_ledger_check_entry) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core.ledger_check_entry()");
    TransactionState& state = transaction_state();
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    HeapTuple tuple =
        TRIGGER_FIRED_BY_UPDATE(trigger->tg_event) ? trigger->tg_newtuple : trigger->tg_trigtuple;
    bool is_line = guard([&] { return SPI_fnumber(descriptor, "entry_id"); }) > 0;
    const char* table = is_line ? "crm_core.journal_line" : "crm_core.journal_entry";
    int entry_column = column_number(descriptor, is_line ? "entry_id" : "id", table);
    int business_column = column_number(descriptor, "business_id", table);
    RowKey entry{DatumGetInt64(*tuple_value(tuple, descriptor, business_column)),
                 DatumGetInt64(*tuple_value(tuple, descriptor, entry_column))};
    if (state.open_line_statements > 0) {
        state.checks_waiting.insert(entry);
    } else {
        verify_entry(state, entry);
    }
    return PointerGetDatum(nullptr);
}

// BEFORE UPDATE OR DELETE ON journal_line, per row: lines of posted entries never change
// (balances count them); lines of drafts stay editable.
CRM_CORE_FUNCTION(crm_core_ledger_line_before_change) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core.ledger_line_before_change()");
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    LineColumns columns(descriptor);
    std::vector<HeapTuple> versions{trigger->tg_trigtuple};
    if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event)) {
        versions.push_back(trigger->tg_newtuple);
    }
    as_extension_owner([&] {
        SpiConnection spi;
        static crm_core::pg::CachedPlan select_status(
            "SELECT status = 'posted' FROM crm_core.journal_entry "
            "WHERE business_id = $1 AND id = $2 FOR SHARE",
            {INT8OID, INT8OID});
        for (HeapTuple version : versions) {
            crm_core::pg::check_for_interrupts();
            Datum arguments[2] = {*tuple_value(version, descriptor, columns.business_id),
                                  *tuple_value(version, descriptor, columns.entry_id)};
            if (select_status.execute(arguments, nullptr, false, 1) > 0 &&
                DatumGetBool(*result_value(0, 1))) {
                throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                            "lines of posted journal entry " +
                                std::to_string(DatumGetInt64(arguments[1])) + " cannot change",
                            "", "Correct it with crm_core.reverse_entry() and a new entry.");
            }
        }
    });
    return PointerGetDatum(versions.back());
}

// AFTER ... FOR EACH STATEMENT on account and fiscal_period: tells every backend to forget its
// cached accounts and periods when this transaction commits.
CRM_CORE_FUNCTION(crm_core_ledger_reference_changed) {
    trigger_data(fcinfo, "crm_core.ledger_reference_changed()");
    invalidate_reference_caches();
    return PointerGetDatum(nullptr);
}

// BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON account_balance_slot FOR EACH STATEMENT:
// only the ledger (running as the extension owner) or a superuser (a restore) writes the kept
// balances; a non-superuser owner of the table would otherwise make account_balance() lie.
CRM_CORE_FUNCTION(crm_core_ledger_slots_guard) {
    trigger_data(fcinfo, "crm_core.ledger_slots_guard()");
    Oid writer = guard([] { return GetUserId(); });
    if (writer != extension_owner() && !guard([&] { return superuser_arg(writer); })) {
        throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "crm_core.account_balance_slot is written only by the ledger", "",
                    "Post journal entries; balances follow their lines.");
    }
    return PointerGetDatum(nullptr);
}
