// Posting rules: how a business event row (a water sale, a laundry payment, an LPG exchange)
// turns into the lines of one balanced journal entry. The database glue reads the rules and
// the event's columns; this decides which lines apply, on which side, and names the entry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crm_core::posting {

enum class Side { debit, credit };

// Which of an item's two accounts a quantity line moves: its stock on hand, or the account
// that counts what entered or left the stock (production, sales, consumption).
enum class ItemAccount { stock, movement };

// One line of a posting rule (a row of erp.posting_rule). Exactly one target: a fixed account,
// an account id read from a column, a fixed item or an item id read from a column.
struct RuleLine {
    int32_t line_no = 0;
    Side side = Side::debit;
    std::optional<int64_t> account_id;
    std::string account_column;
    std::optional<int64_t> item_id;
    std::string item_column;
    ItemAccount item_account = ItemAccount::stock;
    std::string amount_column;
    std::string subledger_column;  // "" = no subledger
    std::string memo_column;       // "" = no memo
    std::string when_column;       // "" = always applies
    std::string when_value;
};

// The names the erp.posting_rule columns use; std::nullopt for anything else.
std::optional<Side> parse_side(std::string_view name) noexcept;
std::optional<ItemAccount> parse_item_account(std::string_view name) noexcept;

// Every event column the lines read, each once, in first-use order.
std::vector<std::string> columns_read(const std::vector<RuleLine>& lines);

// Whether a line applies to an event whose when_column reads value (its text form; NULL never
// equals when_value). A line without a condition always applies.
bool condition_holds(const RuleLine& line, const std::optional<std::string>& value);

// An event's amount as the rule finds it.
enum class Amount { null, zero, positive, negative, not_finite };

// What becomes of a line with that amount: NULL and zero post nothing (an LPG exchange with
// no deposit has no deposit line), a positive amount posts, the rest is refused.
enum class Outcome { skip, post, refuse };
Outcome outcome_for(Amount amount) noexcept;

// The entry's source reference: "schema.table:id" ("water.sale:17").
std::string source_ref(std::string_view qualified_table, int64_t event_id);

// The entry's metadata: {"transaction_type": "water_sale", "rule_version": "3"}.
std::string entry_metadata(std::string_view transaction_type, int32_t rule_version);

}  // namespace crm_core::posting
