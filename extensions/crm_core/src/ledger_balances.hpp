// The kept balances: what one statement adds to this backend's balance slots.
#pragma once

#include <map>
#include <utility>

#include "ledger_state.hpp"

namespace crm_core::pg::ledger {

// Debit and credit totals per account (numeric Datums in the statement's memory context).
using BalanceDeltas = std::map<RowKey, std::pair<Datum, Datum>>;

// Adds each account's totals to this backend's balance slot of that account (slot = backend
// number: no two running transactions write the same row), inserting the slot the first time
// this backend number meets the account. Direct index and heap access, as logical replication
// applies rows: no SQL, no plan, no permission or policy check on the way (crm_core alone
// writes these rows). Waits for a prepared transaction of a former backend with the same
// number that holds the row. fired_on: the journal table (or, on Citus, its shard) whose
// trigger counted the lines; the slots written are those co-located with it.
void add_to_balance_slots(const BalanceDeltas& deltas, Oid fired_on);

// Forgets the journal and slot tables' OIDs when one of them (or every relation, InvalidOid)
// is invalidated; called by the ledger's relcache callback (ledger_state.cpp). Never throws.
void forget_ledger_tables(Oid relation) noexcept;

}  // namespace crm_core::pg::ledger
