// Per-backend caches of what rarely changes and every trigger reads: business settings,
// products, buckets and the fingerprint key. A change to any of those tables drops the caches
// of every backend (a relcache invalidation sent by the tables' statement triggers).
// The loaders run statements: call them inside glue::as_owner().
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collections/allocation.hpp"
#include "collections/delinquency.hpp"
#include "glue.hpp"

namespace crm_core::collections::glue {

struct BusinessSettings {
    std::string currency;
    std::string country;
};

// The ledger accounts of a product, receivables and incomes indexed by Component.
struct ProductAccounts {
    int64_t cash = 0;
    std::array<int64_t, kComponents> receivable{};
    std::array<int64_t, kComponents> income{};  // principal has none (0)
    int64_t write_off = 0;
    int64_t credit_balance = 0;
    int64_t opening_balance = 0;
};

struct Product {
    int64_t id = 0;
    std::string code;
    std::string currency;
    int digits = 2;
    AllocationOrder order = default_allocation_order();
    AllocationStrategy strategy = AllocationStrategy::installment_first;
    int32_t grace_days = 0;
    ProductAccounts accounts;
};

// The business's collections settings; refuses (55000) a business not set up.
const BusinessSettings& business_settings(int64_t business_id);

// A product; refuses (23503) one that does not exist in the business.
const Product& product(int64_t business_id, int64_t product_id);

// The id of the product with this code, if any.
std::optional<int64_t> product_by_code(int64_t business_id, const std::string& code);

// The business's buckets (maybe none).
const std::vector<Bucket>& buckets(int64_t business_id);

// The business's buckets if cached (no statement run), else nullptr.
const std::vector<Bucket>* cached_buckets(int64_t business_id);

// The database's fingerprint key; refuses (55000) when no business was ever set up.
const std::string& fingerprint_key();

// Registers the cache invalidation callback (from _PG_init).
void register_configuration_invalidation();

}  // namespace crm_core::collections::glue
