// SET CONSTRAINTS for the ledger's commit check. The constraint trigger journal_entry_balanced
// gives the check its name but is disabled, so it queues no event: an event per posted entry,
// fetched again and fired at commit, cost each posting more than the rest of its commit. The
// check runs from the ledger's own bookkeeping instead, before COMMIT or PREPARE
// (check_before_commit), and this hook keeps what SET CONSTRAINTS promises:
// - SET CONSTRAINTS journal_entry_balanced (or ALL) IMMEDIATE checks at once every entry the
//   transaction touched and has not checked since, and from then on each entry at the end of
//   the statement that inserts or posts it;
// - ... DEFERRED puts the check back to commit;
// - a rolled-back savepoint restores the mode it found (ledger_state.cpp).
// The hook is installed when the library loads: a SET CONSTRAINTS issued earlier in the
// session's first transaction that writes the ledger leaves that transaction's checks at
// commit (docs/ledger.md).
#include <cstring>

#include "function.hpp"
#include "ledger_state.hpp"
#include "spi.hpp"

extern "C" {
#include "access/xact.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
}

namespace crm_core::pg::ledger {

namespace {

constexpr const char* kSchema = "crm_core";
constexpr const char* kCheck = "journal_entry_balanced";

ProcessUtility_hook_type previous_process_utility = nullptr;

// Whether SET CONSTRAINTS resolves the unqualified name to crm_core's constraint: like
// PostgreSQL, the first schema of the search path that has a constraint of that name.
bool unqualified_name_is_ours() {
    static CachedPlan first_schema(
        "SELECT s.name OPERATOR(pg_catalog.=) 'crm_core' "
        "FROM pg_catalog.unnest(pg_catalog.current_schemas(true)) WITH ORDINALITY AS s(name, n) "
        "WHERE EXISTS (SELECT FROM pg_catalog.pg_constraint AS c "
        "JOIN pg_catalog.pg_namespace AS ns ON ns.oid OPERATOR(pg_catalog.=) c.connamespace "
        "WHERE ns.nspname OPERATOR(pg_catalog.=) s.name "
        "AND c.conname OPERATOR(pg_catalog.=) $1) "
        "ORDER BY s.n LIMIT 1",
        {NAMEOID});
    SpiConnection spi;
    Datum name = pg_call([] { return DirectFunctionCall1(namein, CStringGetDatum(kCheck)); });
    Datum arguments[1] = {name};
    return first_schema.execute(arguments, nullptr, true, 1) > 0 &&
           DatumGetBool(*result_value(0, 1));
}

// Whether the statement sets the mode of journal_entry_balanced (ALL does).
bool names_the_ledger_check(const ConstraintsSetStmt* statement) {
    if (statement->constraints == NIL) {
        return true;
    }
    ListCell* cell = nullptr;
    foreach (cell, statement->constraints) {
        const auto* name = static_cast<const RangeVar*>(lfirst(cell));
        if (strcmp(name->relname, kCheck) != 0) {
            continue;
        }
        if (name->schemaname != nullptr ? strcmp(name->schemaname, kSchema) == 0
                                        : unqualified_name_is_ours()) {
            return true;
        }
    }
    return false;
}

// After PostgreSQL accepted the statement (its names exist, its constraints are deferrable).
void constraints_set(const ConstraintsSetStmt* statement) {
    if (!names_the_ledger_check(statement)) {
        return;
    }
    TransactionState& state = transaction_state();
    SubTransactionId current = GetCurrentSubTransactionId();
    if (current != TopSubTransactionId) {
        state.immediate_before.emplace_back(current, state.checks_immediate);
    }
    state.checks_immediate = !statement->deferred;
    if (state.checks_immediate) {
        check_entries_now(state, unchecked_entries(state));
    }
}

// No C++ object lives in this frame while PostgreSQL runs the statement (its errors longjmp
// through here); the ledger's part runs inside the error boundary.
void process_utility(PlannedStmt* statement, const char* query, bool read_only_tree,
                     ProcessUtilityContext context, ParamListInfo parameters,
                     QueryEnvironment* environment, DestReceiver* destination,
                     QueryCompletion* completion) {
    if (previous_process_utility != nullptr) {
        previous_process_utility(statement, query, read_only_tree, context, parameters, environment,
                                 destination, completion);
    } else {
        standard_ProcessUtility(statement, query, read_only_tree, context, parameters, environment,
                                destination, completion);
    }
    if (IsA(statement->utilityStmt, ConstraintsSetStmt)) {
        const auto* set = reinterpret_cast<const ConstraintsSetStmt*>(statement->utilityStmt);
        report_errors([set] { constraints_set(set); });
    }
}

}  // namespace

void watch_set_constraints() {
    previous_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = process_utility;
}

}  // namespace crm_core::pg::ledger
