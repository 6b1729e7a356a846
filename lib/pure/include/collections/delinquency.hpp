// Days past due and delinquency buckets (Fineract's delinquency ranges). A debt is past due
// from the day after its oldest unpaid due date plus the product's grace days; buckets are
// configured, non-overlapping ranges of days past due.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace crm_core::collections {

// Days past due on as_of for a debt unpaid since unpaid_since (days since any fixed epoch):
// 0 until unpaid_since + grace_days, then one more each day; 0 when nothing is unpaid.
std::int32_t days_past_due(std::optional<std::int32_t> unpaid_since, std::int32_t as_of,
                           std::int32_t grace_days) noexcept;

// A bucket: days past due from min_days to max_days inclusive (no max_days: open-ended).
struct Bucket {
    std::int64_t id = 0;
    std::int32_t min_days = 0;
    std::optional<std::int32_t> max_days;
};

// Where a debt stands on a day, and the first day on which that changes by itself.
struct BucketState {
    std::int32_t days_past_due = 0;
    std::optional<std::int64_t> bucket_id;   // none when no bucket holds days_past_due
    std::optional<std::int32_t> changes_on;  // none: never without a payment or charge
};

// The bucket holding the debt's days past due on as_of, and the day it moves to another bucket
// (or out of every bucket) if nothing is paid. Buckets must not overlap.
BucketState bucket_state(const std::vector<Bucket>& buckets,
                         std::optional<std::int32_t> unpaid_since, std::int32_t as_of,
                         std::int32_t grace_days) noexcept;

}  // namespace crm_core::collections
