#include "ledger_state.hpp"

#include <optional>

#include "datum.hpp"
#include "function.hpp"
#include "interrupts.hpp"
#include "ledger_balances.hpp"
#include "role.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "storage/proc.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace crm_core::pg::ledger {

namespace {

using crm_core::ledger::ClosedRanges;

TransactionState state;
LocalTransactionId state_transaction = InvalidLocalTransactionId;
bool callbacks_registered = false;

std::unordered_map<RowKey, AccountInfo, RowKeyHash> account_cache;
// Businesses whose chart of accounts this backend loaded into account_cache (once each).
std::unordered_set<int64> charts_loaded;
// A chart of accounts is loaded whole up to this many accounts (the rest one by one).
constexpr long chart_load_limit = 10000;
std::unordered_map<int64, ClosedRanges> period_cache;
std::unordered_set<int64> business_cache;
// The tables whose invalidation empties the caches (looked up when the caches load).
Oid account_table = InvalidOid;
Oid period_table = InvalidOid;
Oid business_table = InvalidOid;

// Drops everything the finished transaction remembered; never throws.
void reset_state() noexcept {
    state.tallies_trusted = true;
    state.lost = false;
    state.fresh_entries.clear();
    state.entries_counted_untallied.clear();
    state.tallies.clear();
    state.lines_counted_after_posting.clear();
    state.touched_entries.clear();
    state.verified_entries.clear();
    state.ruled_accounts_touched.clear();
    state.ruled_accounts_pending.clear();
    state.open_line_statements = 0;
    state.checks_waiting.clear();
    state.checks_immediate = false;
    state.immediate_before.clear();
}

// Before COMMIT or PREPARE: what the deferred checks left (lines added to an entry after its
// check). At transaction end: the numeric Datums die with TopTransactionContext, so forget
// them now.
void on_transaction_event(XactEvent event, void*) {
    if ((event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE) &&
        state_transaction == MyProc->lxid &&
        (!state.touched_entries.empty() || !state.ruled_accounts_pending.empty() || state.lost)) {
        // The deferred triggers have run and popped their snapshot: the checks' statements
        // (an overdraft account's guard slot) run on the transaction's snapshot, as theirs did.
        // If a check throws, the abort pops it.
        report_errors([] {
            bool pushed = !ActiveSnapshotSet();
            if (pushed) {
                pg_call([] { PushActiveSnapshot(GetTransactionSnapshot()); });
            }
            check_before_commit(state);
            if (pushed) {
                pg_call([] { PopActiveSnapshot(); });
            }
        });
        return;
    }
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
        event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT) {
        reset_state();
        state_transaction = InvalidLocalTransactionId;
    }
}

// A rolled-back savepoint takes lines away and re-queues checks that ran inside it: stop
// trusting tallies and check everything (entries and overdraft accounts) again.
void on_subtransaction_event(SubXactEvent event, SubTransactionId aborted, SubTransactionId,
                             void*) {
    if (event != SUBXACT_EVENT_ABORT_SUB) {
        return;
    }
    // Lines counted inside the rolled-back savepoint (or deeper) are uncounted again.
    for (auto line = state.lines_counted_after_posting.begin();
         line != state.lines_counted_after_posting.end();) {
        line = line->second >= aborted ? state.lines_counted_after_posting.erase(line) : ++line;
    }
    // Checks queued inside it are dropped: they were due under a mode or for a statement that
    // the rollback undid (what stays touched is checked before COMMIT).
    for (auto waiting = state.checks_waiting.begin(); waiting != state.checks_waiting.end();) {
        waiting = waiting->second >= aborted ? state.checks_waiting.erase(waiting) : ++waiting;
    }
    // SET CONSTRAINTS inside the savepoint is undone: the mode its first change found.
    for (auto saved = state.immediate_before.begin(); saved != state.immediate_before.end();
         ++saved) {
        if (saved->first >= aborted) {
            state.checks_immediate = saved->second;
            state.immediate_before.erase(saved, state.immediate_before.end());
            break;
        }
    }
    state.tallies_trusted = false;
    state.verified_entries.clear();
    state.open_line_statements = 0;
    try {
        state.ruled_accounts_pending = state.ruled_accounts_touched;
    } catch (...) {
        // Out of memory: the pending set may be incomplete, so the commit must fail.
        state.lost = true;
    }
}

// Empties the caches when their table changes (or on a full invalidation); never throws.
void on_relcache_invalidation(Datum, Oid relation) {
    if (relation == InvalidOid || relation == account_table) {
        // charts_loaded stays: a chart is loaded once per backend, so that an application
        // that opens accounts all day does not make every backend load its chart again
        // after each one (later misses are looked up one by one).
        account_cache.clear();
    }
    if (relation == InvalidOid || relation == period_table) {
        period_cache.clear();
    }
    if (relation == InvalidOid || relation == business_table) {
        business_cache.clear();
    }
    // One callback for all the ledger's caches: a backend has ten relcache callbacks in all,
    // shared with Citus and the other extensions.
    forget_ledger_tables(relation);
}

// Remembers the OIDs of the ledger's reference tables for the invalidation callback.
void remember_reference_tables() {
    pg_call([] {
        Oid schema = get_namespace_oid("crm_core", false);
        account_table = get_relname_relid("account", schema);
        period_table = get_relname_relid("fiscal_period", schema);
        business_table = get_relname_relid("business", schema);
    });
}

}  // namespace

void register_ledger_callbacks() {
    if (!callbacks_registered) {
        pg_call([] {
            RegisterXactCallback(on_transaction_event, nullptr);
            RegisterSubXactCallback(on_subtransaction_event, nullptr);
            CacheRegisterRelcacheCallback(on_relcache_invalidation, 0);
        });
        callbacks_registered = true;
    }
}

TransactionState& transaction_state() {
    register_ledger_callbacks();
    if (state_transaction != MyProc->lxid) {
        reset_state();
        state_transaction = MyProc->lxid;
    }
    return state;
}

// An account from the current SPI result row: columns first..first+3 are code, currency,
// closed_at IS NOT NULL and overdraft.
static AccountInfo account_from_result(uint64 row, int first) {
    AccountInfo info;
    info.code = text_to_string(*result_value(row, first));
    info.currency = text_to_string(*result_value(row, first + 1));
    info.closed = DatumGetBool(*result_value(row, first + 2));
    info.overdraft =
        crm_core::ledger::parse_overdraft_rule(text_to_string(*result_value(row, first + 3)))
            .value_or(crm_core::ledger::OverdraftRule::none);
    return info;
}

// Loads the business's chart of accounts (up to chart_load_limit accounts) into the cache: a
// backend's first postings would otherwise look their accounts up one query each.
static void load_chart(int64 business_id) {
    as_extension_owner([&] {
        SpiConnection spi;
        static CachedPlan select_chart(
            "SELECT id, code, currency, closed_at IS NOT NULL, overdraft FROM crm_core.account "
            "WHERE business_id = $1",
            {INT8OID});
        Datum arguments[1] = {Int64GetDatum(business_id)};
        uint64 rows = execute_on_latest_snapshot(select_chart, arguments, chart_load_limit);
        for (uint64 row = 0; row < rows; ++row) {
            crm_core::pg::check_for_interrupts();
            RowKey key{business_id, DatumGetInt64(*result_value(row, 1))};
            account_cache.insert_or_assign(key, account_from_result(row, 2));
        }
    });
    charts_loaded.insert(business_id);
}

const AccountInfo* find_account(const RowKey& account) {
    auto cached = account_cache.find(account);
    if (cached != account_cache.end()) {
        return &cached->second;
    }
    remember_reference_tables();
    if (charts_loaded.count(account.first) == 0) {
        load_chart(account.first);
        cached = account_cache.find(account);
        if (cached != account_cache.end()) {
            return &cached->second;
        }
    }
    // Not in the chart as loaded: opened since, or beyond the limit, or not there at all.
    std::optional<AccountInfo> loaded;
    as_extension_owner([&] {
        SpiConnection spi;
        static CachedPlan select_account(
            "SELECT code, currency, closed_at IS NOT NULL, overdraft FROM crm_core.account "
            "WHERE business_id = $1 AND id = $2",
            {INT8OID, INT8OID});
        Datum arguments[2] = {Int64GetDatum(account.first), Int64GetDatum(account.second)};
        if (execute_on_latest_snapshot(select_account, arguments, 1) == 0) {
            return;
        }
        loaded = account_from_result(0, 1);
    });
    if (!loaded) {
        return nullptr;
    }
    return &account_cache.insert_or_assign(account, std::move(*loaded)).first->second;
}

bool business_exists(int64 business_id) {
    if (business_cache.count(business_id) > 0) {
        return true;
    }
    remember_reference_tables();
    bool found = false;
    as_extension_owner([&] {
        SpiConnection spi;
        static CachedPlan select_business("SELECT 1 FROM crm_core.business WHERE id = $1",
                                          {INT8OID});
        Datum arguments[1] = {Int64GetDatum(business_id)};
        found = execute_on_latest_snapshot(select_business, arguments, 1) > 0;
    });
    if (found) {
        business_cache.insert(business_id);
    }
    return found;
}

// The business's closed fiscal periods if cached, else nullptr.
static const ClosedRanges* cached_closed_periods(int64 business_id) {
    auto cached = period_cache.find(business_id);
    return cached == period_cache.end() ? nullptr : &cached->second;
}

const ClosedRanges& closed_periods(int64 business_id) {
    if (const ClosedRanges* cached = cached_closed_periods(business_id)) {
        return *cached;
    }
    remember_reference_tables();
    ClosedRanges ranges;
    as_extension_owner([&] {
        SpiConnection spi;
        static CachedPlan select_periods(
            "SELECT starts_on, ends_on FROM crm_core.fiscal_period "
            "WHERE business_id = $1 AND closed_at IS NOT NULL",
            {INT8OID});
        Datum arguments[1] = {Int64GetDatum(business_id)};
        uint64 rows = execute_on_latest_snapshot(select_periods, arguments);
        for (uint64 row = 0; row < rows; ++row) {
            ranges.add(DatumGetDateADT(*result_value(row, 1)),
                       DatumGetDateADT(*result_value(row, 2)));
        }
    });
    return period_cache.insert_or_assign(business_id, std::move(ranges)).first->second;
}

uint64 execute_on_latest_snapshot(CachedPlan& plan, const Datum* arguments, long row_limit) {
    pg_call([] {
        // As SPI does before a read-write statement: this query's own writes so far are seen.
        CommandCounterIncrement();
        PushActiveSnapshot(GetLatestSnapshot());
    });
    uint64 rows = plan.execute(arguments, nullptr, true, row_limit);
    pg_call([] { PopActiveSnapshot(); });
    return rows;
}

void invalidate_reference_caches() {
    remember_reference_tables();
    pg_call([] {
        CacheInvalidateRelcacheByRelid(account_table);
        CacheInvalidateRelcacheByRelid(period_table);
        CacheInvalidateRelcacheByRelid(business_table);
    });
}

Oid extension_owner() {
    return pg_call([] {
        Oid schema = get_namespace_oid("crm_core", false);
        HeapTuple tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(schema));
        if (!HeapTupleIsValid(tuple)) {
            elog(ERROR, "cache lookup failed for schema crm_core");
        }
        Oid owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
        ReleaseSysCache(tuple);
        return owner;
    });
}

void as_extension_owner(const std::function<void()>& fn) {
    Oid saved_user = InvalidOid;
    int saved_context = 0;
    Oid owner = extension_owner();
    // The ledger's statements are key lookups and small array upserts.
    const char* plan_mode = crm_core::pg::fixed_statements_plan_mode();
    int guc_level = pg_call([&] {
        GetUserIdAndSecContext(&saved_user, &saved_context);
        SetUserIdAndSecContext(
            owner, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
        int level = NewGUCNestLevel();
        set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
        set_config_option("plan_cache_mode", plan_mode, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                          true, 0, false);
        return level;
    });
    fn();
    pg_call([&] {
        AtEOXact_GUC(true, guc_level);
        SetUserIdAndSecContext(saved_user, saved_context);
    });
}

}  // namespace crm_core::pg::ledger
