#include "collections/delinquency.hpp"

#include <algorithm>

namespace crm_core::collections {

std::int32_t days_past_due(std::optional<std::int32_t> unpaid_since, std::int32_t as_of,
                           std::int32_t grace_days) noexcept {
    if (!unpaid_since) {
        return 0;
    }
    std::int64_t days = static_cast<std::int64_t>(as_of) - *unpaid_since - grace_days;
    return static_cast<std::int32_t>(std::max<std::int64_t>(days, 0));
}

BucketState bucket_state(const std::vector<Bucket>& buckets,
                         std::optional<std::int32_t> unpaid_since, std::int32_t as_of,
                         std::int32_t grace_days) noexcept {
    BucketState state;
    state.days_past_due = days_past_due(unpaid_since, as_of, grace_days);
    std::int32_t dpd = state.days_past_due;
    // The first day days past due reach n is unpaid_since + grace_days + n (while unpaid).
    std::optional<std::int32_t> next_boundary;  // smallest dpd above today's where buckets change
    for (const Bucket& bucket : buckets) {
        bool holds = bucket.min_days <= dpd && (!bucket.max_days || dpd <= *bucket.max_days);
        if (holds) {
            state.bucket_id = bucket.id;
            if (bucket.max_days) {
                next_boundary = *bucket.max_days + 1;
            }
            break;
        }
    }
    if (!state.bucket_id) {
        for (const Bucket& bucket : buckets) {
            if (bucket.min_days > dpd && (!next_boundary || bucket.min_days < *next_boundary)) {
                next_boundary = bucket.min_days;
            }
        }
    }
    if (unpaid_since && next_boundary) {
        std::int64_t day = static_cast<std::int64_t>(*unpaid_since) + grace_days + *next_boundary;
        state.changes_on = static_cast<std::int32_t>(std::max<std::int64_t>(day, as_of + 1LL));
    }
    return state;
}

}  // namespace crm_core::collections
