// What the ledger triggers remember: per transaction (fresh entries, running tallies, which
// entries and overdraft accounts are verified) and per backend (accounts, closed periods).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "crm_core/ledger.hpp"
#include "numeric.hpp"
#include "pg_call.hpp"
#include "spi.hpp"

namespace crm_core::pg::ledger {

// A ledger row's identity: (business_id, id), the tables' primary keys.
using RowKey = std::pair<int64, int64>;

// Hashes a RowKey for the unordered containers.
struct RowKeyHash {
    size_t operator()(const RowKey& key) const noexcept {
        return std::hash<int64>()(key.first) * 31 + std::hash<int64>()(key.second);
    }
};

// What the triggers need to know about an account (cached per backend).
struct AccountInfo {
    std::string code;
    std::string currency;
    bool closed = false;
    crm_core::ledger::OverdraftRule overdraft = crm_core::ledger::OverdraftRule::none;
};

// Debit and credit totals of one currency (numerics that do not fit 128 bits in
// TopTransactionContext).
struct CurrencyTotals {
    std::string currency;
    NumericSum debits;
    NumericSum credits;
};

// The running totals of an entry created in this transaction: every line it has.
struct EntryTally {
    int64 lines = 0;
    std::vector<CurrencyTotals> totals;
};

// This transaction's ledger work. Reset when a new transaction starts.
struct TransactionState {
    // False once a subtransaction rolled back: tallies may then count lost lines.
    bool tallies_trusted = true;
    // True when memory ran out while re-arming checks: this transaction may not commit.
    bool lost = false;
    // Entries inserted by this transaction (rows that exist: recorded after the insert):
    // true when inserted as posted. Their lines are tallied as they come.
    std::unordered_map<RowKey, bool, RowKeyHash> fresh_entries;
    // Entries whose lines were counted without a tally (not fresh when they came): never
    // fresh afterwards, their check reads the table.
    std::unordered_set<RowKey, RowKeyHash> entries_counted_untallied;
    std::unordered_map<RowKey, EntryTally, RowKeyHash> tallies;
    // Posted entries this transaction touched (inserted, posted, or given counted lines): each
    // is checked before commit unless it was checked since its last change.
    std::unordered_set<RowKey, RowKeyHash> touched_entries;
    // Entries checked since their last change (an entry is checked once per commit).
    std::unordered_set<RowKey, RowKeyHash> verified_entries;
    // Accounts with an overdraft rule written by this transaction, and those not yet checked.
    std::set<RowKey> ruled_accounts_touched;
    std::set<RowKey> ruled_accounts_pending;
    // INSERT/COPY statements on journal_line whose statement trigger has not run yet. Row
    // events of an IMMEDIATE constraint fire before it: their entries wait in checks_waiting
    // and are checked when the statement trigger has counted the lines. Each waits with the
    // oldest subtransaction that queued it: a rolled-back savepoint drops what it queued (its
    // SET CONSTRAINTS ... IMMEDIATE is undone with it; the commit check still runs).
    int open_line_statements = 0;
    std::map<RowKey, SubTransactionId> checks_waiting;
    // Lines of entries this transaction posted by UPDATE that are in the balances already,
    // with the subtransaction that counted them. Posting a draft counts the lines it finds;
    // the statement trigger counts the lines a statement inserts; when one query does both
    // (a writable CTE), whichever runs second must not count a line again.
    std::unordered_map<RowKey, SubTransactionId, RowKeyHash> lines_counted_after_posting;
    // SET CONSTRAINTS journal_entry_balanced (or ALL) IMMEDIATE is in effect: an entry is
    // checked at the end of the statement that inserts or posts it (ledger_constraints.cpp).
    bool checks_immediate = false;
    // The mode each subtransaction found when it first changed it, oldest first: a rolled-back
    // savepoint restores what its first change found, as PostgreSQL restores SET CONSTRAINTS.
    std::vector<std::pair<SubTransactionId, bool>> immediate_before;
};

// Registers the ledger's transaction, subtransaction and relcache callbacks (once).
void register_ledger_callbacks();

// The current transaction's state (registers the callbacks on first use).
TransactionState& transaction_state();

// Checks what the transaction's deferred checks have not (ledger_triggers.cpp): every touched
// entry not checked since its last change and every pending overdraft account. Runs just
// before COMMIT and PREPARE TRANSACTION, after the deferred triggers.
void check_before_commit(TransactionState& state);
// Checks the given entries now, or, while a journal_line statement has not counted its lines
// yet, as soon as it has (ledger_triggers.cpp). For SET CONSTRAINTS ... IMMEDIATE: the entries
// of the statement that inserted or posted them, or every touched entry not yet checked.
void check_entries_now(TransactionState& state, const std::vector<RowKey>& entries);
// Installs the hook that applies SET CONSTRAINTS journal_entry_balanced (or ALL) to the ledger's
// check (ledger_constraints.cpp); called once, when the library loads.
void watch_set_constraints();
// The touched entries not checked since their last change, in key order.
std::vector<RowKey> unchecked_entries(const TransactionState& state);

// The account, loaded (as the extension owner, on the latest snapshot) on a cache miss; nullptr
// when it does not exist.
const AccountInfo* find_account(const RowKey& account);

// Whether the business exists (cached; looked up as the extension owner, on the latest
// snapshot, on a miss).
bool business_exists(int64 business_id);

// The business's closed fiscal periods, loaded (as the extension owner, on the latest
// snapshot) on a cache miss.
const crm_core::ledger::ClosedRanges& closed_periods(int64 business_id);

// Runs a read-only plan on the latest committed snapshot, as foreign key checks do. A
// REPEATABLE READ transaction must see an account or period closed after its snapshot (the
// closer waited for postings in flight, this one came after), and the lines of an entry it
// posts or checks as they are now: the entry's row lock keeps other writers out of them, but
// their earlier commits may postdate the snapshot. If the plan throws, abort cleanup pops the
// snapshot. Needs an open SPI connection.
uint64 execute_on_latest_snapshot(CachedPlan& plan, const Datum* arguments, long row_limit = 0);

// Forgets the cached businesses, accounts and periods in every backend once this transaction
// commits. All three caches go, by the tables' names: on a Citus cluster the change fires on a
// shard, whose OID the caches do not know.
void invalidate_reference_caches();

// The owner of schema crm_core (the role the ledger's own statements run as).
Oid extension_owner();

// Runs fn as the owner of schema crm_core with search_path pinned to pg_catalog, pg_temp and
// generic plans, like a SECURITY DEFINER function. If fn throws, the (sub)transaction abort
// restores both.
void as_extension_owner(const std::function<void()>& fn);

}  // namespace crm_core::pg::ledger
