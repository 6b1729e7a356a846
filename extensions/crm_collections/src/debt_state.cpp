#include "debt_state.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "datum.hpp"
#include "spi.hpp"
#include "trigger_row.hpp"

extern "C" {
#include "utils/date.h"
}

namespace crm_core::collections::glue {

namespace {

using crm_core::pg::result_value;

std::optional<int64_t> optional_int64(uint64 row, int column) {
    std::optional<Datum> value = result_value(row, column);
    return value ? std::optional<int64_t>(DatumGetInt64(*value)) : std::nullopt;
}

std::optional<int32_t> optional_date(uint64 row, int column) {
    std::optional<Datum> value = result_value(row, column);
    return value ? std::optional<int32_t>(DatumGetDateADT(*value)) : std::nullopt;
}

Datum optional_datum(const std::optional<int64_t>& value) {
    return value ? Int64GetDatum(*value) : 0;
}

}  // namespace

Debt lock_debt(int64_t business_id, int64_t debt_id, const std::string& table) {
    static crm_core::pg::CachedPlan lock(
        "SELECT d.customer_id, d.external_ref, d.status, d.currency, d.active_plan_id, d.due_on, "
        "d.unpaid_since, d.bucket_id, d.bucket_as_of, d.product_id, x.changes_on "
        "FROM collections.debt_account d LEFT JOIN collections.dpd_due x "
        "ON x.business_id = d.business_id AND x.debt_account_id = d.id "
        "WHERE d.business_id = $1 AND d.id = $2 FOR NO KEY UPDATE OF d",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(business_id), Int64GetDatum(debt_id)};
    if (lock.execute(arguments, nullptr, false, 1) == 0) {
        throw table_error(ERRCODE_FOREIGN_KEY_VIOLATION, table,
                          "debt account " + std::to_string(debt_id) +
                              " does not exist in business " + std::to_string(business_id),
                          "Use a debt_account_id of the same business.");
    }
    Debt debt;
    debt.business_id = business_id;
    debt.id = debt_id;
    debt.customer_id = DatumGetInt64(*result_value(0, 1));
    debt.external_ref = crm_core::pg::text_to_string(*result_value(0, 2));
    debt.status = crm_core::pg::text_to_string(*result_value(0, 3));
    debt.currency = crm_core::pg::text_to_string(*result_value(0, 4));
    debt.active_plan_id = optional_int64(0, 5);
    debt.due_on = optional_date(0, 6);
    debt.unpaid_since = optional_date(0, 7);
    debt.bucket_id = optional_int64(0, 8);
    debt.bucket_as_of = optional_date(0, 9);
    debt.bucket_changes_on = optional_date(0, 11);
    int64_t product_id = DatumGetInt64(*result_value(0, 10));
    debt.product = product(business_id, product_id);
    return debt;
}

void require_open(const Debt& debt, const std::string& table, const std::string& what) {
    if (debt.status == "closed" || debt.status == "written_off") {
        throw table_error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, table,
                          what + " on debt account " + std::to_string(debt.id) + " (" +
                              debt.external_ref + "), which is " +
                              (debt.status == "closed" ? "closed" : "written off"),
                          debt.status == "closed"
                              ? "Reopen it first: UPDATE collections.debt_account SET status = "
                                "'active' WHERE ..."
                              : "A written-off debt takes no more money events.");
    }
}

// The balance of each receivable's subledger of a debt ($5), in the account's normal side (as
// crm_core.subledger_balance). Found by business ($6) and account: on a Citus cluster this runs
// in a trigger on the business's shard, where a lookup of an account by id alone would ask
// every shard, and a trigger may reach only its own node.
static const char* outstanding_query() {
    static const std::string query = [] {
        std::string text = "SELECT ";
        for (int c = 0; c < kComponents; ++c) {
            text += std::string(c == 0 ? "" : ", ") +
                    "(SELECT CASE a.normal_side WHEN 'debit' THEN 1 ELSE -1 END * "
                    "crm_core._subledger_net(a.business_id, a.id, $5, "
                    "'infinity'::pg_catalog.timestamptz) FROM crm_core.account a "
                    "WHERE a.business_id OPERATOR(pg_catalog.=) $6 "
                    "AND a.id OPERATOR(pg_catalog.=) $" +
                    std::to_string(c + 1) + ")";
        }
        return text;
    }();
    return query.c_str();
}

Components ledger_outstanding(const Debt& debt) {
    static crm_core::pg::CachedPlan balances(
        outstanding_query(), {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID});
    const ProductAccounts& accounts = debt.product.accounts;
    Datum arguments[6];
    for (int c = 0; c < kComponents; ++c) {
        arguments[c] = Int64GetDatum(accounts.receivable[c]);
    }
    arguments[4] = Int64GetDatum(debt.id);
    arguments[5] = Int64GetDatum(debt.business_id);
    balances.execute(arguments, nullptr, false, 1);
    Components outstanding{};
    for (int c = 0; c < kComponents; ++c) {
        std::optional<Datum> balance = result_value(0, c + 1);
        outstanding[c] =
            balance ? to_minor_units(*balance, debt.product.digits, "ledger balance") : 0;
    }
    return outstanding;
}

std::vector<OpenItem> open_items(const Debt& debt) {
    std::vector<OpenItem> items;
    if (!debt.active_plan_id) {
        Components outstanding = ledger_outstanding(debt);
        if (total(outstanding) > 0) {
            items.push_back(OpenItem{0, debt.due_on, outstanding});
        }
        return items;
    }
    static crm_core::pg::CachedPlan load(
        "SELECT id, due_on, principal_due - principal_paid - principal_written_off, "
        "interest_due - interest_paid - interest_written_off, "
        "fee_due - fee_paid - fee_written_off, penalty_due - penalty_paid - penalty_written_off "
        "FROM collections.installment WHERE business_id = $1 AND plan_id = $2 AND remaining > 0 "
        "ORDER BY due_on, seq",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(debt.business_id), Int64GetDatum(*debt.active_plan_id)};
    uint64 rows = load.execute(arguments, nullptr, false);
    items.reserve(rows);
    for (uint64 row = 0; row < rows; ++row) {
        OpenItem item;
        item.installment_id = DatumGetInt64(*result_value(row, 1));
        item.due_day = DatumGetDateADT(*result_value(row, 2));
        for (int c = 0; c < kComponents; ++c) {
            item.remaining[c] = to_minor_units(*result_value(row, c + 3), debt.product.digits,
                                               "installment amount");
        }
        items.push_back(item);
    }
    return items;
}

int64_t post_entry(const Debt& debt, int32_t effective_date, const std::string& memo,
                   const std::string& source_ref, const std::vector<PostingLine>& lines) {
    // Lines on one account and side are merged; zero amounts are left out.
    std::map<std::pair<int64_t, bool>, Minor> merged;
    for (const PostingLine& line : lines) {
        if (line.amount != 0) {
            merged[{line.account_id, line.debit}] += line.amount;
        }
    }
    std::vector<std::optional<int64_t>> accounts;
    std::vector<std::optional<Datum>> debits;
    std::vector<std::optional<Datum>> credits;
    for (const auto& [key, amount] : merged) {
        accounts.push_back(key.first);
        Datum value = to_numeric(amount, debt.product.digits);
        debits.push_back(key.second ? std::optional<Datum>(value) : std::nullopt);
        credits.push_back(key.second ? std::nullopt : std::optional<Datum>(value));
    }
    static crm_core::pg::CachedPlan post(
        "WITH entry AS ("
        " INSERT INTO crm_core.journal_entry (business_id, effective_date, memo, source_ref) "
        " VALUES ($1, $2, $3, $4) RETURNING id) "
        "INSERT INTO crm_core.journal_line (business_id, entry_id, account_id, debit, credit, "
        "subledger) "
        "SELECT $1, entry.id, line.account_id, line.debit, line.credit, $5 FROM entry, "
        "unnest($6::bigint[], $7::numeric[], $8::numeric[]) AS line(account_id, debit, credit) "
        "RETURNING entry_id",
        {INT8OID, DATEOID, TEXTOID, TEXTOID, INT8OID, INT8ARRAYOID, NUMERICARRAYOID,
         NUMERICARRAYOID});
    Datum arguments[8] = {Int64GetDatum(debt.business_id),
                          DateADTGetDatum(effective_date),
                          crm_core::pg::string_to_text(memo),
                          crm_core::pg::string_to_text(source_ref),
                          Int64GetDatum(debt.id),
                          crm_core::pg::int8_array(accounts),
                          crm_core::pg::datum_array(debits, NUMERICOID),
                          crm_core::pg::datum_array(credits, NUMERICOID)};
    if (post.execute(arguments, nullptr, false) == 0) {
        throw Error(ERRCODE_INTERNAL_ERROR, "crm_collections posted an entry without lines");
    }
    return DatumGetInt64(*result_value(0, 1));
}

std::map<int64_t, Components> per_installment(const std::vector<AllocatedAmount>& amounts,
                                              int sign) {
    std::map<int64_t, Components> grouped;
    for (const AllocatedAmount& amount : amounts) {
        grouped[amount.installment_id][static_cast<int>(amount.component)] += sign * amount.amount;
    }
    return grouped;
}

void add_to_installments(const Debt& debt, const std::vector<AllocatedAmount>& amounts,
                         InstallmentColumn column, int sign) {
    // Per installment, the four components' deltas: one UPDATE for all of them.
    std::map<int64_t, Components> deltas = per_installment(amounts, sign);
    deltas.erase(0);
    if (deltas.empty()) {
        return;
    }
    std::vector<std::optional<int64_t>> ids;
    std::vector<Components> rows;
    for (const auto& [id, delta] : deltas) {
        ids.push_back(id);
        rows.push_back(delta);
    }
    // One statement per column kind: "UPDATE ... SET principal_paid = principal_paid + u.p ...".
    static const std::array<std::string, 3> statements = [] {
        std::array<std::string, 3> sql;
        const char* kinds[3] = {"paid", "written_off", "due"};
        for (int k = 0; k < 3; ++k) {
            std::string set;
            const char* letters[kComponents] = {"p", "i", "f", "n"};
            for (int c = 0; c < kComponents; ++c) {
                std::string column =
                    std::string(component_name(static_cast<Component>(c))) + "_" + kinds[k];
                set += (c ? ", " : "") + column + " = " + column + " + u." + letters[c];
            }
            sql[static_cast<std::size_t>(k)] =
                "UPDATE collections.installment i SET " + set +
                " FROM unnest($2::bigint[], $3::numeric[], $4::numeric[], $5::numeric[], "
                "$6::numeric[]) AS u(id, p, i, f, n) WHERE i.business_id = $1 AND i.id = u.id";
        }
        return sql;
    }();
    static std::array<crm_core::pg::CachedPlan, 3> updates = {
        crm_core::pg::CachedPlan(statements[0].c_str(),
                                 {INT8OID, INT8ARRAYOID, NUMERICARRAYOID, NUMERICARRAYOID,
                                  NUMERICARRAYOID, NUMERICARRAYOID}),
        crm_core::pg::CachedPlan(statements[1].c_str(),
                                 {INT8OID, INT8ARRAYOID, NUMERICARRAYOID, NUMERICARRAYOID,
                                  NUMERICARRAYOID, NUMERICARRAYOID}),
        crm_core::pg::CachedPlan(statements[2].c_str(),
                                 {INT8OID, INT8ARRAYOID, NUMERICARRAYOID, NUMERICARRAYOID,
                                  NUMERICARRAYOID, NUMERICARRAYOID})};
    std::array<Datum, kComponents> amounts_by_component =
        component_arrays(rows, debt.product.digits);
    Datum arguments[6] = {Int64GetDatum(debt.business_id), crm_core::pg::int8_array(ids),
                          amounts_by_component[0],         amounts_by_component[1],
                          amounts_by_component[2],         amounts_by_component[3]};
    updates[static_cast<std::size_t>(column)].execute(arguments, nullptr, false);
}

std::array<Datum, kComponents> component_arrays(const std::vector<Components>& rows, int digits) {
    std::array<Datum, kComponents> arrays{};
    for (int c = 0; c < kComponents; ++c) {
        std::vector<std::optional<Datum>> column;
        column.reserve(rows.size());
        for (const Components& row : rows) {
            column.push_back(to_numeric(row[c], digits));
        }
        arrays[static_cast<std::size_t>(c)] = crm_core::pg::datum_array(column, NUMERICOID);
    }
    return arrays;
}

Minor owed_by(const std::vector<OpenItem>& items) {
    Minor owed = 0;
    for (const OpenItem& item : items) {
        owed += total(item.remaining);
    }
    return owed;
}

std::optional<int64_t> charge_target(const Debt& debt) {
    if (!debt.active_plan_id) {
        return std::nullopt;
    }
    static crm_core::pg::CachedPlan target(
        "SELECT id FROM collections.installment WHERE business_id = $1 AND plan_id = $2 "
        "ORDER BY remaining > 0 DESC, CASE WHEN remaining > 0 THEN due_on END, seq DESC LIMIT 1",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(debt.business_id), Int64GetDatum(*debt.active_plan_id)};
    if (target.execute(arguments, nullptr, false, 1) == 0) {
        return std::nullopt;
    }
    return DatumGetInt64(*result_value(0, 1));
}

Position position_after(const Debt& debt, const std::vector<OpenItem>& items) {
    Position position;
    position.unpaid_since = unpaid_since(items);
    position.as_of = std::max(today(), debt.bucket_as_of.value_or(INT32_MIN));
    position.bucket = bucket_state(buckets(debt.business_id), position.unpaid_since, position.as_of,
                                   debt.product.grace_days);
    return position;
}

void record_bucket_change(const Debt& debt, const Position& position, const char* cause) {
    if (position.bucket.changes_on != debt.bucket_changes_on) {
        static crm_core::pg::CachedPlan schedule(
            "INSERT INTO collections.dpd_due AS x (business_id, debt_account_id, changes_on) "
            "VALUES ($1, $2, $3) ON CONFLICT (business_id, debt_account_id) "
            "DO UPDATE SET changes_on = excluded.changes_on",
            {INT8OID, INT8OID, DATEOID});
        static crm_core::pg::CachedPlan unschedule(
            "DELETE FROM collections.dpd_due WHERE business_id = $1 AND debt_account_id = $2",
            {INT8OID, INT8OID});
        Datum arguments[3] = {Int64GetDatum(debt.business_id), Int64GetDatum(debt.id),
                              DateADTGetDatum(position.bucket.changes_on.value_or(0))};
        (position.bucket.changes_on ? schedule : unschedule).execute(arguments, nullptr, false);
    }
    if (position.bucket.bucket_id == debt.bucket_id && debt.bucket_as_of) {
        return;
    }
    static crm_core::pg::CachedPlan history(
        "INSERT INTO collections.dpd_history (business_id, debt_account_id, as_of, days_past_due, "
        "old_bucket_id, new_bucket_id, cause) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {INT8OID, INT8OID, DATEOID, INT4OID, INT8OID, INT8OID, TEXTOID});
    Datum values[7] = {
        Int64GetDatum(debt.business_id),    Int64GetDatum(debt.id),
        DateADTGetDatum(position.as_of),    Int32GetDatum(position.bucket.days_past_due),
        optional_datum(debt.bucket_id),     optional_datum(position.bucket.bucket_id),
        crm_core::pg::string_to_text(cause)};
    char nulls[8] = "       ";
    nulls[4] = debt.bucket_id ? ' ' : 'n';
    nulls[5] = position.bucket.bucket_id ? ' ' : 'n';
    history.execute(values, nulls, false);
}

void settle_position(const Debt& debt, const std::vector<OpenItem>& items,
                     const std::string& status, const char* cause) {
    Position position = position_after(debt, items);
    static crm_core::pg::CachedPlan update(
        "UPDATE collections.debt_account SET revision = revision + 1, unpaid_since = $3, "
        "status = $4, bucket_id = $5, bucket_as_of = $6 WHERE business_id = $1 AND id = $2",
        {INT8OID, INT8OID, DATEOID, TEXTOID, INT8OID, DATEOID});
    Datum arguments[6] = {Int64GetDatum(debt.business_id),
                          Int64GetDatum(debt.id),
                          position.unpaid_since ? DateADTGetDatum(*position.unpaid_since) : 0,
                          crm_core::pg::string_to_text(status),
                          optional_datum(position.bucket.bucket_id),
                          DateADTGetDatum(position.as_of)};
    char nulls[7] = "      ";
    nulls[2] = position.unpaid_since ? ' ' : 'n';
    nulls[4] = position.bucket.bucket_id ? ' ' : 'n';
    update.execute(arguments, nulls, false);
    record_bucket_change(debt, position, cause);
}

MoneyEvent money_event(FunctionCallInfo fcinfo, const char* function) {
    TriggerData* data = crm_core::pg::trigger_data(fcinfo, function);
    MoneyEvent event{crm_core::pg::TriggerRow(data->tg_trigtuple, data->tg_relation->rd_att)};
    event.business_id = event.row.get_int64("business_id").value_or(0);
    event.id = event.row.get_int64("id").value_or(0);
    event.debt_id = event.row.get_int64("debt_account_id").value_or(0);
    event.amount = *event.row.get("amount");
    return event;
}

}  // namespace crm_core::collections::glue
