// What the posting triggers keep per backend: registered event tables resolved against their
// columns, each business's posting rules for them, and items' accounts. Emptied when any of
// erp.event_table, erp.transaction_type, erp.posting_rule, erp.item or a cached event table
// changes (relcache invalidation, sent by their statement triggers or by DDL).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crm_core/posting.hpp"
#include "pg_call.hpp"
#include "spi.hpp"

namespace crm_erp {

// A column of an event table: attribute number and type (attnum 0 = not used).
struct Column {
    int attnum = 0;
    Oid type = InvalidOid;
    std::string name;
};

// A registered event table, resolved against its tuple descriptor.
struct EventTable {
    Oid relid = InvalidOid;
    std::string qualified_name;  // "water.sale", the prefix of source_ref
    std::string transaction_type;
    Column business_id;
    Column id;
    Column entry_id;  // header tables: the entry the row's lines go into
    Column parent;    // child tables: the column naming the parent row
    Column date;      // the entry's effective date (date or timestamptz), or unused
    Oid parent_relid = InvalidOid;
    // Child tables: (parent id, entry id) of the parents given (business, ids).
    crm_core::pg::CachedPlan* parent_entries = nullptr;
};

// A rule line with the event columns it reads resolved.
struct ResolvedLine {
    crm_core::posting::RuleLine rule;
    Column amount, account, item, subledger, memo, when;
};

// A business's rules for one event table's transaction type.
struct RuleSet {
    bool defined = false;  // the transaction type exists in the business
    bool active = false;
    std::string name;
    int32_t version = 0;
    std::vector<ResolvedLine> lines;
};

// Held by each trigger while it uses the caches: the outermost one first empties them if
// something they hold changed; references into them stay valid until it is destroyed, even
// when an invalidation arrives meanwhile (inside an SPI query) or a trigger nests.
class CacheUse {
  public:
    CacheUse();
    ~CacheUse();
    CacheUse(const CacheUse&) = delete;
    CacheUse& operator=(const CacheUse&) = delete;
};

// The event table registered for relid; throws when it is not registered. Needs SPI.
const EventTable& event_table(Oid relid, TupleDesc descriptor);

// The business's rules for the table's transaction type. Needs SPI.
const RuleSet& rule_set(const EventTable& table, TupleDesc descriptor, int64_t business_id);

// An item's (stock account, movement account), or std::nullopt for an unknown item. Needs SPI.
std::optional<std::pair<int64_t, int64_t>> item_accounts(int64_t business_id, int64_t item_id);

// What this transaction did with an entry id: reserved it for an event row (BEFORE trigger),
// then posted the entry (AFTER trigger). An id it never reserved was posted by an earlier
// transaction (or never).
enum class EntryState { reserved, posted };
void note_entry(int64_t business_id, int64_t entry_id, EntryState state);
std::optional<EntryState> entry_state(int64_t business_id, int64_t entry_id);

// The entry this transaction posted for an event row of a header table (children find their
// parent's entry here without a query); std::nullopt when it posted none.
void note_posted_event(Oid relid, int64_t business_id, int64_t event_id, int64_t entry_id);
std::optional<int64_t> posted_event_entry(Oid relid, int64_t business_id, int64_t event_id);

// crm_core.journal_entry's id sequence (entry ids are reserved before the entry is written).
Oid entry_id_sequence();

// Forgets everything cached, in every backend, when this transaction commits (and in this one
// at the next command).
void invalidate(Oid changed_table);

}  // namespace crm_erp
