#include "configuration.hpp"

#include <map>
#include <sstream>
#include <utility>

#include "datum.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace crm_core::collections::glue {

namespace {

using crm_core::pg::result_value;

struct Caches {
    std::map<int64_t, BusinessSettings> settings;
    std::map<std::pair<int64_t, int64_t>, Product> products;
    std::map<std::pair<int64_t, std::string>, std::optional<int64_t>> product_codes;
    std::map<int64_t, std::vector<Bucket>> buckets;
    std::optional<std::string> key;
    // The tables whose changes drop the caches (known once something was loaded).
    std::vector<Oid> tables;
};

Caches& caches() {
    static Caches instance;
    return instance;
}

// Remembers the configuration tables' oids the first time anything is cached.
void note_tables() {
    Caches& cache = caches();
    if (!cache.tables.empty()) {
        return;
    }
    for (const char* name : {"business_settings", "product", "bucket", "fingerprint_key"}) {
        Oid relation = pg_call(
            [&] { return get_relname_relid(name, get_namespace_oid("collections", false)); });
        cache.tables.push_back(relation);
    }
}

void forget_everything(Datum, Oid relation) {
    Caches& cache = caches();
    bool ours = relation == InvalidOid;
    for (Oid table : cache.tables) {
        ours = ours || table == relation;
    }
    if (ours) {
        cache.settings.clear();
        cache.products.clear();
        cache.product_codes.clear();
        cache.buckets.clear();
        cache.key.reset();
        cache.tables.clear();
    }
}

int64_t int64_at(uint64 row, int column) {
    std::optional<Datum> value = result_value(row, column);
    return value ? DatumGetInt64(*value) : 0;
}

std::string text_at(uint64 row, int column) {
    std::optional<Datum> value = result_value(row, column);
    return value ? crm_core::pg::text_to_string(*value) : std::string();
}

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    std::string part;
    while (std::getline(stream, part, ',')) {
        parts.push_back(part);
    }
    return parts;
}

}  // namespace

const BusinessSettings& business_settings(int64_t business_id) {
    Caches& cache = caches();
    auto found = cache.settings.find(business_id);
    if (found != cache.settings.end()) {
        return found->second;
    }
    note_tables();
    static crm_core::pg::CachedPlan load(
        "SELECT currency, country FROM collections.business_settings WHERE business_id = $1",
        {INT8OID});
    Datum arguments[1] = {Int64GetDatum(business_id)};
    if (load.execute(arguments, nullptr, true, 1) == 0) {
        throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "business " + std::to_string(business_id) + " is not set up for collections",
                    "",
                    "Run SELECT collections.setup_business(" + std::to_string(business_id) +
                        "); (currency and phone country default to EUR and FR).");
    }
    BusinessSettings settings{text_at(0, 1), text_at(0, 2)};
    return cache.settings.emplace(business_id, settings).first->second;
}

const Product& product(int64_t business_id, int64_t product_id) {
    Caches& cache = caches();
    auto key = std::make_pair(business_id, product_id);
    auto found = cache.products.find(key);
    if (found != cache.products.end()) {
        return found->second;
    }
    note_tables();
    static crm_core::pg::CachedPlan load(
        "SELECT code, currency, array_to_string(allocation_order, ','), allocation_strategy, "
        "grace_days, cash_account_id, principal_account_id, interest_account_id, fee_account_id, "
        "penalty_account_id, interest_income_account_id, fee_income_account_id, "
        "penalty_income_account_id, write_off_account_id, credit_balance_account_id, "
        "opening_balance_account_id FROM collections.product WHERE business_id = $1 AND id = $2",
        {INT8OID, INT8OID});
    Datum arguments[2] = {Int64GetDatum(business_id), Int64GetDatum(product_id)};
    if (load.execute(arguments, nullptr, true, 1) == 0) {
        throw Error(ERRCODE_FOREIGN_KEY_VIOLATION, "product " + std::to_string(product_id) +
                                                       " does not exist in business " +
                                                       std::to_string(business_id));
    }
    Product loaded;
    loaded.id = product_id;
    loaded.code = text_at(0, 1);
    loaded.currency = text_at(0, 2);
    loaded.digits = currency_digits(loaded.currency);
    std::string problem;
    std::optional<AllocationOrder> order =
        parse_allocation_order(split_commas(text_at(0, 3)), problem);
    std::optional<AllocationStrategy> strategy = parse_allocation_strategy(text_at(0, 4));
    if (!order || !strategy) {
        throw Error(ERRCODE_DATA_CORRUPTED, "product " + loaded.code + ": " + problem);
    }
    loaded.order = *order;
    loaded.strategy = *strategy;
    loaded.grace_days = static_cast<int32_t>(DatumGetInt32(*result_value(0, 5)));
    ProductAccounts& accounts = loaded.accounts;
    accounts.cash = int64_at(0, 6);
    accounts.receivable[static_cast<int>(Component::principal)] = int64_at(0, 7);
    accounts.receivable[static_cast<int>(Component::interest)] = int64_at(0, 8);
    accounts.receivable[static_cast<int>(Component::fee)] = int64_at(0, 9);
    accounts.receivable[static_cast<int>(Component::penalty)] = int64_at(0, 10);
    accounts.income[static_cast<int>(Component::interest)] = int64_at(0, 11);
    accounts.income[static_cast<int>(Component::fee)] = int64_at(0, 12);
    accounts.income[static_cast<int>(Component::penalty)] = int64_at(0, 13);
    accounts.write_off = int64_at(0, 14);
    accounts.credit_balance = int64_at(0, 15);
    accounts.opening_balance = int64_at(0, 16);
    return cache.products.emplace(key, std::move(loaded)).first->second;
}

std::optional<int64_t> product_by_code(int64_t business_id, const std::string& code) {
    Caches& cache = caches();
    auto key = std::make_pair(business_id, code);
    auto found = cache.product_codes.find(key);
    if (found != cache.product_codes.end()) {
        return found->second;
    }
    note_tables();
    static crm_core::pg::CachedPlan load(
        "SELECT id FROM collections.product WHERE business_id = $1 AND code = $2",
        {INT8OID, TEXTOID});
    Datum arguments[2] = {Int64GetDatum(business_id), crm_core::pg::string_to_text(code)};
    std::optional<int64_t> id;
    if (load.execute(arguments, nullptr, true, 1) > 0) {
        id = int64_at(0, 1);
    }
    return cache.product_codes.emplace(key, id).first->second;
}

const std::vector<Bucket>* cached_buckets(int64_t business_id) {
    Caches& cache = caches();
    auto found = cache.buckets.find(business_id);
    return found == cache.buckets.end() ? nullptr : &found->second;
}

const std::vector<Bucket>& buckets(int64_t business_id) {
    Caches& cache = caches();
    auto found = cache.buckets.find(business_id);
    if (found != cache.buckets.end()) {
        return found->second;
    }
    note_tables();
    static crm_core::pg::CachedPlan load(
        "SELECT id, min_days, max_days FROM collections.bucket WHERE business_id = $1 "
        "ORDER BY min_days",
        {INT8OID});
    Datum arguments[1] = {Int64GetDatum(business_id)};
    uint64 rows = load.execute(arguments, nullptr, true);
    std::vector<Bucket> loaded;
    for (uint64 row = 0; row < rows; ++row) {
        Bucket bucket;
        bucket.id = int64_at(row, 1);
        bucket.min_days = DatumGetInt32(*result_value(row, 2));
        std::optional<Datum> max_days = result_value(row, 3);
        if (max_days) {
            bucket.max_days = DatumGetInt32(*max_days);
        }
        loaded.push_back(bucket);
    }
    return cache.buckets.emplace(business_id, std::move(loaded)).first->second;
}

const std::string& fingerprint_key() {
    Caches& cache = caches();
    if (cache.key) {
        return *cache.key;
    }
    note_tables();
    static crm_core::pg::CachedPlan load("SELECT key FROM collections.fingerprint_key WHERE id = 1",
                                         {});
    if (load.execute(nullptr, nullptr, true, 1) == 0) {
        throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "this database has no customer fingerprint key yet", "",
                    "Run SELECT collections.setup_business(<business id>); it creates the key.");
    }
    // bytea and text are the same varlena: its bytes as they are.
    cache.key = crm_core::pg::text_to_string(*result_value(0, 1));
    return *cache.key;
}

void register_configuration_invalidation() {
    // From _PG_init, outside any C++ frame with a destructor: no guard needed.
    CacheRegisterRelcacheCallback(forget_everything, 0);
}

}  // namespace crm_core::collections::glue
