#include "posting_cache.hpp"

#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "datum.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "storage/proc.h"
#include "utils/lsyscache.h"
}

namespace crm_erp {

namespace {

using crm_core::pg::CachedPlan;
using crm_core::pg::Error;
using crm_core::pg::pg_call;
using crm_core::pg::result_value;
using crm_core::pg::text_to_string;

std::unordered_map<Oid, std::unique_ptr<EventTable>> tables;
std::map<std::pair<Oid, int64_t>, RuleSet> rule_sets;
std::map<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>> items;
Oid sequence = InvalidOid;

// Relations whose invalidation empties the caches: the configuration tables and every event
// table (or parent) cached so far.
std::unordered_set<Oid> watched;
bool callback_registered = false;

// A parent lookup: the plan keeps a pointer to its text, so both live together, never moved.
struct ParentPlan {
    explicit ParentPlan(std::string text)
        : sql(std::move(text)), plan(sql.c_str(), {INT8OID, INT8ARRAYOID}) {}
    std::string sql;
    CachedPlan plan;
};

// Parent lookups, one plan per parent table and query text: kept for the backend's life
// (PostgreSQL's plan cache revalidates them; a cache reset must not leak them).
std::map<std::pair<Oid, std::string>, std::unique_ptr<ParentPlan>> parent_plans;

// Set when a watched relation changed; the caches are emptied by the next outermost CacheUse,
// never in the middle of a statement that holds references into them (invalidations arrive
// whenever PostgreSQL takes a lock, e.g. inside an SPI query).
bool stale = false;

void on_relcache_invalidation(Datum, Oid relation) {
    if (relation == InvalidOid || watched.count(relation) > 0) {
        stale = true;
    }
}

void watch(Oid relation) {
    if (!callback_registered) {
        pg_call([] { CacheRegisterRelcacheCallback(on_relcache_invalidation, 0); });
        callback_registered = true;
    }
    watched.insert(relation);
}

// Watches erp's configuration tables.
void watch_configuration() {
    for (const char* name : {"event_table", "transaction_type", "posting_rule", "item"}) {
        Oid relation = pg_call([&] {
            Oid schema = get_namespace_oid("erp", false);
            return get_relname_relid(name, schema);
        });
        watch(relation);
    }
}

// "schema.table" of a relation, unquoted (for source references and messages).
std::string plain_name(Oid relid) {
    const char* schema = nullptr;
    const char* table = nullptr;
    pg_call([&] {
        schema = get_namespace_name(get_rel_namespace(relid));
        table = get_rel_name(relid);
    });
    if (schema == nullptr || table == nullptr) {
        throw Error(ERRCODE_UNDEFINED_TABLE,
                    "relation with OID " + std::to_string(relid) + " does not exist");
    }
    return std::string(schema) + "." + table;
}

// The relation's name, quoted for SQL.
std::string quoted_name(Oid relid) {
    const char* quoted = pg_call([&] {
        return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
                                          get_rel_name(relid));
    });
    return quoted;
}

// A column of the descriptor by name: attnum and type; attnum 0 when absent.
Column find_column(TupleDesc descriptor, const std::string& name) {
    Column column;
    column.name = name;
    if (name.empty()) {
        return column;
    }
    int attnum = pg_call([&] { return SPI_fnumber(descriptor, name.c_str()); });
    if (attnum > 0) {
        column.attnum = attnum;
        column.type = TupleDescAttr(descriptor, attnum - 1)->atttypid;
    }
    return column;
}

bool is_integer(Oid type) {
    return type == INT2OID || type == INT4OID || type == INT8OID;
}

// A column the table must have, of an integer type.
Column required_id_column(TupleDesc descriptor, const std::string& table, const char* name) {
    Column column = find_column(descriptor, name);
    if (column.attnum == 0) {
        throw Error(ERRCODE_UNDEFINED_COLUMN,
                    "event table " + table + " has no column \"" + name + "\"", "",
                    "An event table has business_id, id and entry_id (or its parent's id) as "
                    "bigint columns.");
    }
    if (!is_integer(column.type)) {
        throw Error(
            ERRCODE_DATATYPE_MISMATCH,
            "column \"" + std::string(name) + "\" of event table " + table + " must be an integer");
    }
    return column;
}

std::optional<std::string> optional_text(uint64 row, int column) {
    std::optional<Datum> value = result_value(row, column);
    return value ? std::optional<std::string>(text_to_string(*value)) : std::nullopt;
}

// What a rule line may read from a column.
enum class Kind { integer, number, any };

// Resolves a column a rule line reads, checking that the table has it with a usable type.
Column rule_column(TupleDesc descriptor, const EventTable& table,
                   const crm_core::posting::RuleLine& line, const std::string& name,
                   const char* role, Kind kind) {
    Column column = find_column(descriptor, name);
    if (name.empty()) {
        return column;
    }
    std::string where = "posting rule " + table.transaction_type + " line " +
                        std::to_string(line.line_no) + " (" + role + ")";
    if (column.attnum == 0) {
        throw Error(ERRCODE_UNDEFINED_COLUMN,
                    where + " reads column \"" + name + "\", which " + table.qualified_name +
                        " does not have",
                    "", "Correct the rule in erp.posting_rule.");
    }
    bool fits = kind == Kind::any || is_integer(column.type) ||
                (kind == Kind::number && column.type == NUMERICOID);
    if (!fits) {
        throw Error(ERRCODE_DATATYPE_MISMATCH,
                    where + " reads column \"" + name + "\" of " + table.qualified_name +
                        ", which is not " + (kind == Kind::integer ? "an integer" : "a number"));
    }
    return column;
}

// Triggers using the caches right now (nested ones included).
int uses = 0;

// What the current transaction (local transaction id `of`) reserved and posted.
struct TransactionPostings {
    LocalTransactionId of = InvalidLocalTransactionId;
    std::map<std::pair<int64_t, int64_t>, EntryState> entries;
    std::map<std::tuple<Oid, int64_t, int64_t>, int64_t> events;
};
TransactionPostings postings;

TransactionPostings& transaction_postings() {
    if (postings.of != MyProc->lxid) {
        postings.entries.clear();
        postings.events.clear();
        postings.of = MyProc->lxid;
    }
    return postings;
}

}  // namespace

CacheUse::CacheUse() {
    if (uses++ == 0 && stale) {
        tables.clear();
        rule_sets.clear();
        items.clear();
        sequence = InvalidOid;
        stale = false;
    }
}

CacheUse::~CacheUse() {
    --uses;
}

const EventTable& event_table(Oid relid, TupleDesc descriptor) {
    auto cached = tables.find(relid);
    if (cached != tables.end()) {
        return *cached->second;
    }
    watch_configuration();
    static CachedPlan select_table(
        "SELECT transaction_type, parent, parent_column::pg_catalog.text, "
        "date_column::pg_catalog.text FROM erp.event_table WHERE relid OPERATOR(pg_catalog.=) $1",
        {OIDOID});
    Datum arguments[1] = {ObjectIdGetDatum(relid)};
    auto table = std::make_unique<EventTable>();
    table->relid = relid;
    table->qualified_name = plain_name(relid);
    if (select_table.execute(arguments, nullptr, true, 1) == 0) {
        throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    table->qualified_name + " is not a registered event table", "",
                    "Register it with erp.post_on_insert().");
    }
    table->transaction_type = text_to_string(*result_value(0, 1));
    std::optional<Datum> parent = result_value(0, 2);
    std::optional<std::string> parent_column = optional_text(0, 3);
    std::optional<std::string> date_column = optional_text(0, 4);
    table->business_id = required_id_column(descriptor, table->qualified_name, "business_id");
    table->id = required_id_column(descriptor, table->qualified_name, "id");
    if (parent) {
        table->parent_relid = DatumGetObjectId(*parent);
        table->parent =
            required_id_column(descriptor, table->qualified_name, parent_column->c_str());
        std::string sql = "SELECT p.id, p.entry_id FROM " + quoted_name(table->parent_relid) +
                          " AS p WHERE p.business_id OPERATOR(pg_catalog.=) $1 "
                          "AND p.id OPERATOR(pg_catalog.=) ANY ($2)";
        auto& plan = parent_plans[{table->parent_relid, sql}];
        if (!plan) {
            plan = std::make_unique<ParentPlan>(sql);
        }
        table->parent_entries = &plan->plan;
        watch(table->parent_relid);
    } else {
        table->entry_id = required_id_column(descriptor, table->qualified_name, "entry_id");
    }
    if (date_column) {
        table->date = find_column(descriptor, *date_column);
        if (table->date.attnum == 0 ||
            (table->date.type != DATEOID && table->date.type != TIMESTAMPTZOID &&
             table->date.type != TIMESTAMPOID)) {
            throw Error(ERRCODE_DATATYPE_MISMATCH,
                        "date column \"" + *date_column + "\" of event table " +
                            table->qualified_name + " is missing or not a date or timestamp");
        }
    }
    watch(relid);
    return *tables.emplace(relid, std::move(table)).first->second;
}

const RuleSet& rule_set(const EventTable& table, TupleDesc descriptor, int64_t business_id) {
    auto key = std::make_pair(table.relid, business_id);
    auto cached = rule_sets.find(key);
    if (cached != rule_sets.end()) {
        return cached->second;
    }
    static CachedPlan select_type(
        "SELECT name, rule_version, active FROM erp.transaction_type "
        "WHERE business_id OPERATOR(pg_catalog.=) $1 AND code OPERATOR(pg_catalog.=) $2",
        {INT8OID, TEXTOID});
    static CachedPlan select_lines(
        "SELECT line_no, side, account_id, account_column::pg_catalog.text, item_id, "
        "item_column::pg_catalog.text, item_account, amount_column::pg_catalog.text, "
        "subledger_column::pg_catalog.text, memo_column::pg_catalog.text, "
        "when_column::pg_catalog.text, when_value FROM erp.posting_rule "
        "WHERE business_id OPERATOR(pg_catalog.=) $1 "
        "AND transaction_type OPERATOR(pg_catalog.=) $2 ORDER BY line_no",
        {INT8OID, TEXTOID});
    Datum arguments[2] = {Int64GetDatum(business_id),
                          crm_core::pg::string_to_text(table.transaction_type)};
    RuleSet rules;
    if (select_type.execute(arguments, nullptr, true, 1) > 0) {
        rules.defined = true;
        rules.name = text_to_string(*result_value(0, 1));
        rules.version = DatumGetInt32(*result_value(0, 2));
        rules.active = DatumGetBool(*result_value(0, 3));
        uint64 count = select_lines.execute(arguments, nullptr, true);
        std::vector<crm_core::posting::RuleLine> lines;
        for (uint64 row = 0; row < count; ++row) {
            crm_core::posting::RuleLine line;
            line.line_no = DatumGetInt16(*result_value(row, 1));
            line.side = *crm_core::posting::parse_side(text_to_string(*result_value(row, 2)));
            if (auto account = result_value(row, 3)) {
                line.account_id = DatumGetInt64(*account);
            }
            line.account_column = optional_text(row, 4).value_or("");
            if (auto item = result_value(row, 5)) {
                line.item_id = DatumGetInt64(*item);
            }
            line.item_column = optional_text(row, 6).value_or("");
            if (auto item_account = optional_text(row, 7)) {
                line.item_account = *crm_core::posting::parse_item_account(*item_account);
            }
            line.amount_column = text_to_string(*result_value(row, 8));
            line.subledger_column = optional_text(row, 9).value_or("");
            line.memo_column = optional_text(row, 10).value_or("");
            line.when_column = optional_text(row, 11).value_or("");
            line.when_value = optional_text(row, 12).value_or("");
            lines.push_back(std::move(line));
        }
        for (const auto& line : lines) {
            ResolvedLine resolved;
            resolved.rule = line;
            resolved.amount = rule_column(descriptor, table, line, line.amount_column,
                                          "amount_column", Kind::number);
            resolved.account = rule_column(descriptor, table, line, line.account_column,
                                           "account_column", Kind::integer);
            resolved.item = rule_column(descriptor, table, line, line.item_column, "item_column",
                                        Kind::integer);
            resolved.subledger = rule_column(descriptor, table, line, line.subledger_column,
                                             "subledger_column", Kind::integer);
            resolved.memo =
                rule_column(descriptor, table, line, line.memo_column, "memo_column", Kind::any);
            resolved.when =
                rule_column(descriptor, table, line, line.when_column, "when_column", Kind::any);
            rules.lines.push_back(std::move(resolved));
        }
    }
    return rule_sets.emplace(key, std::move(rules)).first->second;
}

std::optional<std::pair<int64_t, int64_t>> item_accounts(int64_t business_id, int64_t item_id) {
    auto key = std::make_pair(business_id, item_id);
    auto cached = items.find(key);
    if (cached != items.end()) {
        return cached->second;
    }
    watch_configuration();
    static CachedPlan select_item(
        "SELECT stock_account_id, movement_account_id FROM erp.item "
        "WHERE business_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(business_id), Int64GetDatum(item_id)};
    if (select_item.execute(arguments, nullptr, true, 1) == 0) {
        return std::nullopt;
    }
    std::pair<int64_t, int64_t> accounts{DatumGetInt64(*result_value(0, 1)),
                                         DatumGetInt64(*result_value(0, 2))};
    items.emplace(key, accounts);
    return accounts;
}

void note_entry(int64_t business_id, int64_t entry_id, EntryState state) {
    transaction_postings().entries[{business_id, entry_id}] = state;
}

std::optional<EntryState> entry_state(int64_t business_id, int64_t entry_id) {
    auto& known = transaction_postings().entries;
    auto found = known.find({business_id, entry_id});
    if (found == known.end()) {
        return std::nullopt;
    }
    return found->second;
}

void note_posted_event(Oid relid, int64_t business_id, int64_t event_id, int64_t entry_id) {
    transaction_postings().events[{relid, business_id, event_id}] = entry_id;
}

std::optional<int64_t> posted_event_entry(Oid relid, int64_t business_id, int64_t event_id) {
    auto& known = transaction_postings().events;
    auto found = known.find({relid, business_id, event_id});
    if (found == known.end()) {
        return std::nullopt;
    }
    return found->second;
}

Oid entry_id_sequence() {
    if (sequence != InvalidOid) {
        return sequence;
    }
    watch_configuration();
    Oid found = pg_call([] {
        Oid schema = get_namespace_oid("crm_core", false);
        return get_relname_relid("journal_entry_id_seq", schema);
    });
    if (found == InvalidOid) {
        throw Error(ERRCODE_UNDEFINED_OBJECT, "sequence crm_core.journal_entry_id_seq is missing");
    }
    watch(found);
    sequence = found;
    return sequence;
}

void invalidate(Oid changed_table) {
    pg_call([&] { CacheInvalidateRelcacheByRelid(changed_table); });
}

}  // namespace crm_erp
