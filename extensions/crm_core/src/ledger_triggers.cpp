// The ledger's triggers: validation of lines as they are written, balances kept in the same
// transaction, and the deferred check that every touched posted entry balances at commit.
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "interrupts.hpp"
#include "crm_core/ledger.hpp"
#include "datum.hpp"
#include "numeric.hpp"
#include "function.hpp"
#include "relation.hpp"
#include "role.hpp"
#include "trigger.hpp"
#include "ledger_balances.hpp"
#include "ledger_state.hpp"
#include "spi.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "storage/backendid.h"
#include "storage/lmgr.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"
}

namespace crm_core::pg::ledger {

namespace {

using crm_core::ledger::OverdraftRule;

// The attribute number of a column the ledger's triggers rely on (lib/pg's column_number).
int column_number(TupleDesc descriptor, const char* name) {
    return crm_core::pg::column_number(descriptor, name, "crm_core's ledger table");
}

// The same for a column a trigger reads at every call (remembered, re-checked by name).
int column_number(TupleDesc descriptor, CachedColumn& column) {
    return column.number(descriptor, "crm_core's ledger table");
}

// The sign of a - b for numerics.
int numeric_compare(Datum a, Datum b) {
    return pg_call([&] { return numeric_order(a, b); });
}

// A date as text, for messages.
std::string date_text(DateADT day) {
    const char* text = pg_call(
        [&] { return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day))); });
    return text;
}

// Calls fn(slot) for every row of the statement's transition table of new rows.
template <typename Fn>
void for_each_new_row(const TriggerData* trigger, Fn&& fn) {
    TransitionRows rows(trigger->tg_newtable, RelationGetDescr(trigger->tg_relation));
    while (rows.next()) {
        crm_core::pg::check_for_interrupts();
        fn(rows.slot());
    }
    rows.finish();
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
        : id(column_number(descriptor, id_column)),
          business_id(column_number(descriptor, business_id_column)),
          entry_id(column_number(descriptor, entry_id_column)),
          account_id(column_number(descriptor, account_id_column)),
          debit(column_number(descriptor, debit_column)),
          credit(column_number(descriptor, credit_column)),
          currency(column_number(descriptor, currency_column)) {}
    int id, business_id, entry_id, account_id, debit, credit, currency;

    static inline CachedColumn id_column{"id"}, business_id_column{"business_id"},
        entry_id_column{"entry_id"}, account_id_column{"account_id"}, debit_column{"debit"},
        credit_column{"credit"}, currency_column{"currency"};
};

// Reads one line from a slot of the transition table.
LineData read_line(TupleTableSlot* slot, const LineColumns& columns) {
    Datum values[7];
    bool nulls[7];
    const int numbers[7] = {columns.business_id, columns.entry_id, columns.account_id,
                            columns.debit,       columns.credit,   columns.currency,
                            columns.id};
    pg_call([&] {
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

// The error for a line whose account does not exist in its business.
Error missing_account(const RowKey& account) {
    Error error(ERRCODE_FOREIGN_KEY_VIOLATION,
                "account " + std::to_string(account.second) + " does not exist in business " +
                    std::to_string(account.first),
                "", "Use an account of the entry's business.");
    error.table_name = "journal_line";
    return error;
}

// The error for a row that names an entry that does not exist in its business.
Error missing_entry(const RowKey& entry, const char* table) {
    Error error(ERRCODE_FOREIGN_KEY_VIOLATION,
                "journal entry " + std::to_string(entry.second) + " does not exist in business " +
                    std::to_string(entry.first),
                "", "Insert the entry first (in the same transaction, or earlier).");
    error.table_name = table;
    return error;
}

// Whether a query on the latest snapshot, as the extension owner, returns a row; the first
// column of that row (a bigint) when there is one.
std::optional<int64> first_row_on_latest_snapshot(CachedPlan& plan, const Datum* arguments) {
    std::optional<int64> found;
    as_extension_owner([&] {
        SpiConnection spi;
        if (execute_on_latest_snapshot(plan, arguments, 1) > 0) {
            found = DatumGetInt64(*result_value(0, 1));
        }
    });
    return found;
}

// Refuses removing (or renumbering) an entry that lines or a reversal still name.
void check_entry_unreferenced(const RowKey& entry, const char* operation) {
    static CachedPlan select_line(
        "SELECT id FROM crm_core.journal_line WHERE business_id = $1 AND entry_id = $2",
        {INT8OID, INT8OID});
    static CachedPlan select_reversal(
        "SELECT id FROM crm_core.journal_entry WHERE business_id = $1 AND reverses_entry_id = $2",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(entry.first), Int64GetDatum(entry.second)};
    std::string subject = "journal entry " + std::to_string(entry.second);
    if (first_row_on_latest_snapshot(select_line, arguments)) {
        Error error(ERRCODE_FOREIGN_KEY_VIOLATION,
                    subject + " has journal lines: it cannot be " + operation, "",
                    "Delete its lines first (it is a draft).");
        error.table_name = "journal_entry";
        throw error;
    }
    if (std::optional<int64> reversal = first_row_on_latest_snapshot(select_reversal, arguments)) {
        Error error(ERRCODE_FOREIGN_KEY_VIOLATION,
                    subject + " is reversed by entry " + std::to_string(*reversal) +
                        ": it cannot be " + operation,
                    "", "Delete the reversing entry first (if it is a draft).");
        error.table_name = "journal_entry";
        throw error;
    }
}

// Whether rows the query finds exist, after waiting for the postings in flight of the business
// (crm_core._wait_for_postings: a SHARE lock on the journal tables, or on a Citus cluster on the
// business's journal shards) and looking on the latest snapshot, so that a REPEATABLE READ
// transaction sees what was committed after it began.
bool referenced_after_postings(Oid fired_on, int64 business_id, CachedPlan& plan,
                               const Datum* arguments) {
    static CachedPlan wait_for_postings("SELECT crm_core._wait_for_postings($1, $2)",
                                        {REGCLASSOID, INT8OID});
    Datum wait_arguments[2] = {ObjectIdGetDatum(fired_on), Int64GetDatum(business_id)};
    bool referenced = false;
    as_extension_owner([&] {
        SpiConnection spi;
        wait_for_postings.execute(wait_arguments, nullptr, false, 0);
        referenced = execute_on_latest_snapshot(plan, arguments, 1) > 0;
    });
    return referenced;
}

// Refuses a reference to an entry that does not exist; locks it (FOR KEY SHARE) so that it is
// not deleted before this transaction ends.
void check_entry_exists(const RowKey& entry) {
    static CachedPlan lock_entry(
        "SELECT id FROM crm_core.journal_entry WHERE business_id = $1 AND id = $2 FOR KEY SHARE",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(entry.first), Int64GetDatum(entry.second)};
    bool found = false;
    as_extension_owner([&] {
        SpiConnection spi;
        found = lock_entry.execute(arguments, nullptr, false, 1) > 0;
    });
    if (!found) {
        throw missing_entry(entry, "journal_entry");
    }
}

// Refuses a line whose account does not exist in the line's business, is closed (for counted
// lines) or has another currency.
const AccountInfo& check_line_account(const LineData& line, bool counted) {
    const AccountInfo* account = find_account(line.account);
    if (account == nullptr) {
        throw missing_account(line.account);
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

// Adds a line's amounts to debits and credits (numerics that do not fit 128 bits in context).
void add_amounts(const LineData& line, NumericSum& debits, NumericSum& credits,
                 MemoryContext context) {
    if (line.debit) {
        debits.add(*line.debit, context);
    }
    if (line.credit) {
        credits.add(*line.credit, context);
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
    CurrencyTotals totals{currency, {}, {}};
    add_amounts(line, totals.debits, totals.credits, TopTransactionContext);
    tally.totals.push_back(std::move(totals));
}

// The lines of posted entries one statement counted, summed per account, then added to this
// backend's balance slots (ledger_balances.cpp).
class StatementBalances {
  public:
    // Counts a validated line of a posted entry.
    void add(const LineData& line) {
        auto& sums = deltas_[line.account];
        add_amounts(line, sums.first, sums.second, CurrentMemoryContext);
    }

    // Writes the sums to the balance slots co-located with fired_on (the trigger's table).
    void apply(Oid fired_on) const {
        BalanceDeltas deltas;
        for (const auto& [account, sums] : deltas_) {
            deltas.emplace_hint(deltas.end(), account,
                                std::make_pair(sums.first.value(), sums.second.value()));
        }
        add_to_balance_slots(deltas, fired_on);
    }

  private:
    std::map<RowKey, std::pair<NumericSum, NumericSum>> deltas_;
};

// Remembers that a counted line touched its entry and account (checks re-armed).
void note_counted_line(TransactionState& state, const LineData& line, const AccountInfo& account) {
    state.touched_entries.insert(line.entry);
    state.verified_entries.erase(line.entry);
    if (account.overdraft != OverdraftRule::none) {
        state.ruled_accounts_touched.insert(line.account);
        state.ruled_accounts_pending.insert(line.account);
    }
}

// Whether a line of an entry posted by UPDATE in this transaction is counted for the first
// time (then remembered with the current subtransaction).
bool first_count_after_posting(TransactionState& state, const LineData& line) {
    SubTransactionId counting = pg_call([] { return GetCurrentSubTransactionId(); });
    return state.lines_counted_after_posting.emplace(line.id, counting).second;
}

// Whether lines of an entry this transaction did not insert are counted now: yes for an
// entry posted by this transaction, no for a draft; refused for an entry posted by another.
// Locks the entry (FOR SHARE) so that nobody posts a draft under lines being added.
bool existing_entry_counts(const RowKey& entry) {
    bool found = false, posted = false, posted_here = false;
    as_extension_owner([&] {
        SpiConnection spi;
        static CachedPlan lock_entry(
            "SELECT status = 'posted', xmin FROM crm_core.journal_entry "
            "WHERE business_id = $1 AND id = $2 FOR SHARE",
            {INT8OID, INT8OID});
        Datum arguments[2] = {Int64GetDatum(entry.first), Int64GetDatum(entry.second)};
        found = lock_entry.execute(arguments, nullptr, false, 1) > 0;
        if (found) {
            posted = DatumGetBool(*result_value(0, 1));
            TransactionId writer = DatumGetTransactionId(*result_value(0, 2));
            posted_here = pg_call([&] { return TransactionIdIsCurrentTransactionId(writer); });
        }
    });
    if (!found) {
        throw missing_entry(entry, "journal_line");
    }
    if (!posted) {
        return false;
    }
    if (posted_here) {
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

// The same for an entry's running totals (compared without numerics when they fit).
void check_entry_totals(const RowKey& entry, const std::string& currency, const NumericSum& debits,
                        const NumericSum& credits) {
    if (debits.compare(credits) != 0) {
        check_entry_totals(entry, currency, debits.value(), credits.value());
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

// Checks the pending overdraft accounts, if any.
void verify_ruled_accounts(TransactionState& state) {
    if (state.lost) {
        throw Error(ERRCODE_OUT_OF_MEMORY,
                    "crm_core lost track of this transaction's ledger checks", "",
                    "Roll back and retry the transaction.");
    }
    if (!state.ruled_accounts_pending.empty()) {
        as_extension_owner([&] {
            SpiConnection spi;
            check_ruled_accounts(state);
        });
    }
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
    verify_ruled_accounts(state);
}

}  // namespace

std::vector<RowKey> unchecked_entries(const TransactionState& state) {
    std::vector<RowKey> unchecked;
    unchecked.reserve(state.touched_entries.size());
    for (const RowKey& entry : state.touched_entries) {
        if (state.verified_entries.count(entry) == 0) {
            unchecked.push_back(entry);
        }
    }
    // In key order: whatever the hash order, the same entry is named when several fail.
    std::sort(unchecked.begin(), unchecked.end());
    return unchecked;
}

namespace {

// Checks each entry (in the order given) and, when there is none, the pending overdraft accounts
// (verify_entry checks them after each entry).
void verify_entries(TransactionState& state, const std::vector<RowKey>& entries) {
    for (const RowKey& entry : entries) {
        crm_core::pg::check_for_interrupts();
        verify_entry(state, entry);
    }
    if (entries.empty() && (!state.ruled_accounts_pending.empty() || state.lost)) {
        verify_ruled_accounts(state);
    }
}

}  // namespace

// Every entry is checked here, also those a statement trigger checked (they are verified and
// not checked twice): no event per entry is queued, so COMMIT is where the check cannot be
// missed, whatever ran before it (never queued: no statement is open at COMMIT).
void check_before_commit(TransactionState& state) {
    verify_entries(state, unchecked_entries(state));
}

void check_entries_now(TransactionState& state, const std::vector<RowKey>& entries) {
    if (state.open_line_statements > 0) {
        SubTransactionId queuing = pg_call([] { return GetCurrentSubTransactionId(); });
        for (const RowKey& entry : entries) {
            auto waiting = state.checks_waiting.emplace(entry, queuing).first;
            waiting->second = std::min(waiting->second, queuing);
        }
        return;
    }
    verify_entries(state, entries);
}

namespace {

// Refuses posting an entry dated inside a closed fiscal period (cache loaded on a miss).
void check_period_open(const RowKey& entry, DateADT effective_date) {
    auto closed = closed_periods(entry.first).find(effective_date);
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
        : id(column_number(descriptor, id_column)),
          business_id(column_number(descriptor, business_id_column)),
          status(column_number(descriptor, status_column)),
          effective_date(column_number(descriptor, effective_date_column)),
          reverses_entry_id(column_number(descriptor, reverses_entry_id_column)),
          posted_at(column_number(descriptor, posted_at_column)),
          posted_txid(column_number(descriptor, posted_txid_column)) {}
    int id, business_id, status, effective_date, reverses_entry_id, posted_at, posted_txid;

    static inline CachedColumn id_column{"id"}, business_id_column{"business_id"},
        status_column{"status"}, effective_date_column{"effective_date"},
        reverses_entry_id_column{"reverses_entry_id"}, posted_at_column{"posted_at"},
        posted_txid_column{"posted_txid"};
};

// The parts of a journal_entry row the triggers compare.
struct EntryRow {
    RowKey key;
    bool posted;
    DateADT effective_date;
    std::optional<int64> reverses_entry_id;
    // Whether posted_at and posted_txid already say what with_posting_stamp() would write (this
    // transaction's start and id for a posted entry, NULL for a draft): the columns' defaults
    // do for a posted entry inserted without them, so the row need not be copied.
    bool stamped;
};

// Reads an entry row (deformed once: the columns read are spread over the row).
EntryRow read_entry(HeapTuple tuple, TupleDesc descriptor, const EntryColumns& columns) {
    // On the stack (journal_entry has 15 columns), unless a DBA added many more: two
    // allocations a call were a fifth of the entry triggers' own work.
    constexpr size_t inline_columns = 32;
    std::array<Datum, inline_columns> inline_values;
    std::array<bool, inline_columns> inline_nulls;
    std::vector<Datum> many_values;
    std::unique_ptr<bool[]> many_nulls;
    Datum* value_array = inline_values.data();
    bool* null_array = inline_nulls.data();
    auto count = static_cast<size_t>(descriptor->natts);
    if (count > inline_columns) {
        many_values.resize(count);
        many_nulls = std::make_unique<bool[]>(count);
        value_array = many_values.data();
        null_array = many_nulls.get();
    }
    pg_call([&] { heap_deform_tuple(tuple, descriptor, value_array, null_array); });
    auto value = [&](int column) { return value_array[column - 1]; };
    auto is_null = [&](int column) { return null_array[column - 1]; };
    EntryRow entry{{DatumGetInt64(value(columns.business_id)), DatumGetInt64(value(columns.id))},
                   text_equals(value(columns.status), "posted"),
                   DatumGetDateADT(value(columns.effective_date)),
                   is_null(columns.reverses_entry_id)
                       ? std::nullopt
                       : std::optional<int64>(DatumGetInt64(value(columns.reverses_entry_id))),
                   false};
    if (!entry.posted) {
        entry.stamped = is_null(columns.posted_at) && is_null(columns.posted_txid);
    } else if (!is_null(columns.posted_at) && !is_null(columns.posted_txid)) {
        entry.stamped = pg_call([&] {
            return DatumGetTimestampTz(value(columns.posted_at)) ==
                       GetCurrentTransactionStartTimestamp() &&
                   FullTransactionIdEquals(DatumGetFullTransactionId(value(columns.posted_txid)),
                                           GetTopFullTransactionId());
        });
    }
    return entry;
}

// An entry's key and status, read from a transition table's slot without materializing the
// row (the columns read come first in the table: the slot deforms only those).
struct EntryKey {
    RowKey key;
    bool posted;
};

EntryKey read_entry_key(TupleTableSlot* slot, const EntryColumns& columns) {
    Datum values[3];
    bool nulls[3];
    const int numbers[3] = {columns.business_id, columns.id, columns.status};
    pg_call([&] {
        for (int i = 0; i < 3; ++i) {
            values[i] = slot_getattr(slot, numbers[i], &nulls[i]);
        }
    });
    // NOT NULL columns (the table's own constraints, checked before any AFTER trigger).
    return EntryKey{{DatumGetInt64(values[0]), DatumGetInt64(values[1])},
                    !nulls[2] && text_equals(values[2], "posted")};
}

// The row with posted_at / posted_txid set for a posted entry, or cleared for a draft (the row
// itself when they already are).
HeapTuple with_posting_stamp(HeapTuple tuple, TupleDesc descriptor, const EntryColumns& columns,
                             const EntryRow& entry) {
    if (entry.stamped) {
        return tuple;
    }
    bool posted = entry.posted;
    return pg_call([&] {
        int replaced[2] = {columns.posted_at, columns.posted_txid};
        Datum values[2] = {TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
                           FullTransactionIdGetDatum(GetTopFullTransactionId())};
        bool nulls[2] = {!posted, !posted};
        return heap_modify_tuple_by_cols(tuple, descriptor, 2, replaced, values, nulls);
    });
}

}  // namespace

}  // namespace crm_core::pg::ledger

using namespace crm_core::pg;
using namespace crm_core::pg::ledger;

// BEFORE INSERT OR UPDATE OR DELETE ON journal_entry, per row: stamps postings and refuses
// postings dated in a closed period. (crm_core_guard_posted, which fires first, refuses any
// change to a posted entry.) It only ever forgets what the transaction knew about an entry:
// a BEFORE trigger also sees rows that are never written (INSERT ... ON CONFLICT DO NOTHING),
// so the entries this transaction inserted are recorded after the fact, from the rows
// themselves (crm_core_ledger_entries_inserted).
CRM_CORE_FUNCTION(crm_core_ledger_entry_before_write) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core ledger trigger");
    TransactionState& state = transaction_state();
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    EntryColumns columns(descriptor);
    if (TRIGGER_FIRED_BY_DELETE(trigger->tg_event)) {
        RowKey entry = read_entry(trigger->tg_trigtuple, descriptor, columns).key;
        check_entry_unreferenced(entry, "deleted");
        state.fresh_entries.erase(entry);
        return PointerGetDatum(trigger->tg_trigtuple);
    }
    bool inserting = TRIGGER_FIRED_BY_INSERT(trigger->tg_event);
    HeapTuple tuple = inserting ? trigger->tg_trigtuple : trigger->tg_newtuple;
    EntryRow entry = read_entry(tuple, descriptor, columns);
    std::optional<int64> reversed_before;
    if (!inserting) {
        EntryRow before = read_entry(trigger->tg_trigtuple, descriptor, columns);
        if (before.key != entry.key) {
            check_entry_unreferenced(before.key, "renumbered");
        }
        reversed_before = before.reverses_entry_id;
        for (const RowKey& key : {before.key, entry.key}) {
            state.fresh_entries.erase(key);
            state.verified_entries.erase(key);
        }
    }
    if (!business_exists(entry.key.first)) {
        Error error(ERRCODE_FOREIGN_KEY_VIOLATION,
                    "business " + std::to_string(entry.key.first) + " does not exist", "",
                    "Insert the business first.");
        error.table_name = "journal_entry";
        throw error;
    }
    if (entry.reverses_entry_id && entry.reverses_entry_id != reversed_before) {
        check_entry_exists(RowKey{entry.key.first, *entry.reverses_entry_id});
    }
    if (entry.posted) {
        check_period_open(entry.key, entry.effective_date);
    }
    return PointerGetDatum(with_posting_stamp(tuple, descriptor, columns, entry));
}

// AFTER INSERT ON journal_entry FOR EACH STATEMENT (transition table new_entries): the entries
// this statement really inserted become this transaction's fresh entries, whose lines are
// tallied as they are inserted so that the commit check reads no table. An entry whose lines
// were counted before this runs (one query inserting lines before the entry's statement
// trigger fires) stays checked from the table.
CRM_CORE_FUNCTION(crm_core_ledger_entries_inserted) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core ledger trigger");
    TransactionState& state = transaction_state();
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    EntryColumns columns(descriptor);
    std::vector<RowKey> posted;  // checked now under SET CONSTRAINTS ... IMMEDIATE
    for_each_new_row(trigger, [&](TupleTableSlot* slot) {
        EntryKey entry = read_entry_key(slot, columns);
        if (entry.posted && state.checks_immediate) {
            posted.push_back(entry.key);
        }
        if (state.entries_counted_untallied.count(entry.key) > 0) {
            return;
        }
        state.fresh_entries.insert_or_assign(entry.key, entry.posted);
        state.tallies.erase(entry.key);
        state.verified_entries.erase(entry.key);
        if (entry.posted) {
            state.touched_entries.insert(entry.key);
        }
    });
    if (state.checks_immediate) {
        std::sort(posted.begin(), posted.end());
        check_entries_now(state, posted);
    }
    return PointerGetDatum(nullptr);
}

// AFTER UPDATE ON journal_entry, per row, when a draft becomes posted: validates its lines
// and adds them to the balances.
CRM_CORE_FUNCTION(crm_core_ledger_entry_posted) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core ledger trigger");
    TransactionState& state = transaction_state();
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    EntryRow entry = read_entry(trigger->tg_newtuple, descriptor, EntryColumns(descriptor));
    state.touched_entries.insert(entry.key);
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
        StatementBalances deltas;
        for (const LineData& line : lines) {
            crm_core::pg::check_for_interrupts();
            const AccountInfo& account = check_line_account(line, true);
            if (!first_count_after_posting(state, line)) {
                continue;
            }
            deltas.add(line);
            note_counted_line(state, line, account);
        }
        deltas.apply(RelationGetRelid(trigger->tg_relation));
    });
    if (state.checks_immediate) {
        check_entries_now(state, {entry.key});
    }
    return PointerGetDatum(nullptr);
}

// AFTER INSERT ON journal_line FOR EACH STATEMENT (transition table new_lines): validates the
// lines, adds those of posted entries to the balances in one statement, and keeps running
// tallies for the entries this transaction created, so the commit check reads no table.
CRM_CORE_FUNCTION(crm_core_ledger_lines_inserted) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core ledger trigger");
    TransactionState& state = transaction_state();
    LineColumns columns(RelationGetDescr(trigger->tg_relation));
    {
        StatementBalances deltas;
        std::unordered_map<RowKey, bool, RowKeyHash> existing_entries;
        for_each_new_row(trigger, [&](TupleTableSlot* slot) {
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
                return;
            }
            deltas.add(line);
            note_counted_line(state, line, account);
            if (fresh == state.fresh_entries.end()) {
                state.entries_counted_untallied.insert(line.entry);
            } else if (state.tallies_trusted) {
                tally_line(state.tallies[line.entry], line, account.currency);
            }
        });
        deltas.apply(RelationGetRelid(trigger->tg_relation));
    }
    if (state.open_line_statements > 0) {
        --state.open_line_statements;
    }
    if (state.open_line_statements == 0) {
        while (!state.checks_waiting.empty()) {
            crm_core::pg::check_for_interrupts();
            RowKey entry = state.checks_waiting.begin()->first;
            state.checks_waiting.erase(state.checks_waiting.begin());
            verify_entry(state, entry);
        }
    }
    return PointerGetDatum(nullptr);
}

// BEFORE INSERT ON journal_line FOR EACH STATEMENT: the lines about to be written are not
// counted until the AFTER statement trigger runs; checks that fire earlier wait for it.
CRM_CORE_FUNCTION(crm_core_ledger_lines_inserting) {
    trigger_data(fcinfo, "crm_core ledger trigger");
    ++transaction_state().open_line_statements;
    return PointerGetDatum(nullptr);
}

// Constraint trigger journal_entry_balanced on journal_entry. It carries the name that SET
// CONSTRAINTS uses and is disabled, so it queues nothing: an event per posted entry cost every
// posting more than the rest of its commit. The check runs before COMMIT or PREPARE, and at the
// end of each statement under SET CONSTRAINTS ... IMMEDIATE (ledger_constraints.cpp). Should a
// superuser enable it, it checks its entry a second time, as it did.
CRM_CORE_FUNCTION(crm_core_ledger_check_entry) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core ledger trigger");
    TransactionState& state = transaction_state();
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    HeapTuple tuple =
        TRIGGER_FIRED_BY_UPDATE(trigger->tg_event) ? trigger->tg_newtuple : trigger->tg_trigtuple;
    EntryRow row = read_entry(tuple, descriptor, EntryColumns(descriptor));
    if (row.posted) {
        check_entries_now(state, {row.key});
    }
    return PointerGetDatum(nullptr);
}

// BEFORE UPDATE (of its business, id or currency) OR DELETE ON account, per row: refused once
// the account has lines (their entries balance per currency, their keys name the account).
CRM_CORE_FUNCTION(crm_core_ledger_account_before_update) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core ledger trigger");
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    HeapTuple before = trigger->tg_trigtuple;
    RowKey account{
        DatumGetInt64(*tuple_value(before, descriptor, column_number(descriptor, "business_id"))),
        DatumGetInt64(*tuple_value(before, descriptor, column_number(descriptor, "id")))};
    static crm_core::pg::CachedPlan select_line(
        "SELECT 1 FROM crm_core.journal_line WHERE business_id = $1 AND account_id = $2",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(account.first), Int64GetDatum(account.second)};
    if (referenced_after_postings(RelationGetRelid(trigger->tg_relation), account.first,
                                  select_line, arguments)) {
        bool deleting = TRIGGER_FIRED_BY_DELETE(trigger->tg_event);
        std::string code =
            text_to_string(*tuple_value(before, descriptor, column_number(descriptor, "code")));
        throw Error(
            deleting ? ERRCODE_FOREIGN_KEY_VIOLATION : ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "account " + code + " (id " + std::to_string(account.second) + ") has journal lines: " +
                (deleting ? "it cannot be deleted" : "its business, id and currency cannot change"),
            "", "Close the account and open a new one.");
    }
    return PointerGetDatum(TRIGGER_FIRED_BY_DELETE(trigger->tg_event) ? before
                                                                      : trigger->tg_newtuple);
}

// BEFORE UPDATE (of its id) OR DELETE ON business, per row: refused once the business has
// journal entries.
CRM_CORE_FUNCTION(crm_core_ledger_business_before_change) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core ledger trigger");
    TupleDesc descriptor = RelationGetDescr(trigger->tg_relation);
    HeapTuple before = trigger->tg_trigtuple;
    int64 business =
        DatumGetInt64(*tuple_value(before, descriptor, column_number(descriptor, "id")));
    static crm_core::pg::CachedPlan select_entry(
        "SELECT 1 FROM crm_core.journal_entry WHERE business_id = $1", {INT8OID});
    Datum arguments[1] = {Int64GetDatum(business)};
    bool deleting = TRIGGER_FIRED_BY_DELETE(trigger->tg_event);
    if (referenced_after_postings(RelationGetRelid(trigger->tg_relation), business, select_entry,
                                  arguments)) {
        throw Error(ERRCODE_FOREIGN_KEY_VIOLATION,
                    "business " + std::to_string(business) + " has journal entries: " +
                        (deleting ? "it cannot be deleted" : "its id cannot change"),
                    "", "A business with a ledger stays; stop using it instead.");
    }
    return PointerGetDatum(deleting ? before : trigger->tg_newtuple);
}

// BEFORE TRUNCATE ON business and account: refused; journal entries and lines name their rows
// (TRUNCATE would skip the row checks above).
CRM_CORE_FUNCTION(crm_core_ledger_reference_truncate) {
    TriggerData* trigger = trigger_data(fcinfo, "crm_core ledger trigger");
    throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "TRUNCATE on " + qualified_name(trigger->tg_relation) +
                    " is refused: journal entries and lines name its rows",
                "", "Delete the rows you mean to remove; those the ledger names stay.");
}

// AFTER ... FOR EACH STATEMENT on account and fiscal_period: tells every backend to forget its
// cached accounts and periods when this transaction commits.
CRM_CORE_FUNCTION(crm_core_ledger_reference_changed) {
    trigger_data(fcinfo, "crm_core ledger trigger");
    invalidate_reference_caches();
    return PointerGetDatum(nullptr);
}

// BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON account_balance_slot FOR EACH STATEMENT:
// only the ledger (running as the extension owner) or a superuser (a restore) writes the kept
// balances; a non-superuser owner of the table would otherwise make account_balance() lie.
CRM_CORE_FUNCTION(crm_core_ledger_slots_guard) {
    trigger_data(fcinfo, "crm_core ledger trigger");
    Oid writer = pg_call([] { return GetUserId(); });
    if (writer != extension_owner() && !pg_call([&] { return superuser_arg(writer); })) {
        throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "crm_core.account_balance_slot is written only by the ledger", "",
                    "Post journal entries; balances follow their lines.");
    }
    return PointerGetDatum(nullptr);
}
