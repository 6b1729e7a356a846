// A debt's money state, as every money event (payment, reversal, charge, write-off, plan)
// reads and moves it: the debt row locked first (so events on one debt serialize), its open
// items, the ledger entry the event posts, the installments it pays or extends, and the
// debt's position afterwards (unpaid since, bucket, status, history). Call inside as_owner().
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collections/allocation.hpp"
#include "configuration.hpp"
#include "trigger_row.hpp"

namespace crm_core::collections::glue {

// The row a money event's BEFORE INSERT trigger fires for (payment, adjustment), and the columns
// every money event table has.
struct MoneyEvent {
    crm_core::pg::TriggerRow row;
    int64_t business_id = 0;
    int64_t id = 0;
    int64_t debt_id = 0;  // debt_account_id
    Datum amount = 0;     // numeric, NOT NULL
};
MoneyEvent money_event(FunctionCallInfo fcinfo, const char* function);

// The debt row as money events need it.
struct Debt {
    int64_t business_id = 0;
    int64_t id = 0;
    int64_t customer_id = 0;
    std::string external_ref;
    std::string status;
    std::string currency;
    std::optional<int64_t> active_plan_id;
    std::optional<int32_t> due_on;
    std::optional<int32_t> unpaid_since;
    std::optional<int64_t> bucket_id;
    std::optional<int32_t> bucket_as_of;
    std::optional<int32_t> bucket_changes_on;  // its dpd_due row
    // A copy: the cache may be dropped by an invalidation while statements run.
    Product product;
};

// Locks the debt (FOR NO KEY UPDATE) and reads it; refuses (23503, naming table) a debt that
// does not exist in the business.
Debt lock_debt(int64_t business_id, int64_t debt_id, const std::string& table);

// Refuses (55000) a money event on a debt that is closed or written off.
void require_open(const Debt& debt, const std::string& table, const std::string& what);

// What the ledger says the debt owes per component (its subledger on the receivables).
Components ledger_outstanding(const Debt& debt);

// What the debt owes, as the waterfall walks it: the active plan's unpaid installments, oldest
// first, or, without a plan, one undated-or-due_on item holding the ledger's outstanding.
std::vector<OpenItem> open_items(const Debt& debt);

// One line of a journal entry.
struct PostingLine {
    int64_t account_id;
    bool debit;
    Minor amount;
};

// Posts one balanced entry, every line tagged with the debt as subledger; returns its id.
int64_t post_entry(const Debt& debt, int32_t effective_date, const std::string& memo,
                   const std::string& source_ref, const std::vector<PostingLine>& lines);

// Amounts per installment (0: the unscheduled balance) and component, each times sign.
std::map<int64_t, Components> per_installment(const std::vector<AllocatedAmount>& amounts,
                                              int sign);

// Per component, a numeric[] Datum of the amounts of each row (for unnest($n::numeric[])).
std::array<Datum, kComponents> component_arrays(const std::vector<Components>& rows, int digits);

// What a list of open items owes in all.
Minor owed_by(const std::vector<OpenItem>& items);

// Which installment column an allocation moves.
enum class InstallmentColumn { paid, written_off, due };

// Adds sign * each amount to the installments' column of its component (installment 0, the
// unscheduled balance, is skipped). The table's checks refuse more paid than due.
void add_to_installments(const Debt& debt, const std::vector<AllocatedAmount>& amounts,
                         InstallmentColumn column, int sign);

// The installment a charge joins: the oldest unpaid one of the active plan, else its last.
std::optional<int64_t> charge_target(const Debt& debt);

// Where a debt stands after an event, given its open items then: the date days past due count
// from, and its bucket as of today (or its last evaluation, if later: never back in time).
struct Position {
    std::optional<int32_t> unpaid_since;
    int32_t as_of = 0;
    BucketState bucket;
};
Position position_after(const Debt& debt, const std::vector<OpenItem>& items);

// Writes a dpd_history row when the position's bucket differs from the debt's (or the debt
// had none yet: it opens), and the debt's dpd_due row when the day its bucket changes moved.
void record_bucket_change(const Debt& debt, const Position& position, const char* cause);

// After an event on an existing debt: writes its unpaid_since, status and bucket, bumps its
// revision, and records a bucket change with cause. items are the open items after the event.
void settle_position(const Debt& debt, const std::vector<OpenItem>& items,
                     const std::string& status, const char* cause);

}  // namespace crm_core::collections::glue
