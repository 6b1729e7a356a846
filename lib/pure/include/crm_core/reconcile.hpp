// Reconciliation matching: pairs statement lines (a till's or a bank's) with ledger lines of
// the account they reconcile, one to one, first by reference, then by amount and date.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crm_core::reconcile {

// A line on either side. amount is canonical decimal text (see statement::parse_amount),
// signed from the account's point of view: money in > 0. day counts days from any fixed epoch.
struct Candidate {
    int64_t id = 0;
    int32_t day = 0;
    std::string amount;
    std::string reference;  // "" when the line has none
};

enum class Method { reference, amount_date };

struct Match {
    int64_t statement_id;
    int64_t ledger_id;
    Method method;
};

// References compare without case and surrounding spaces ("qft3xk9l2p " = "QFT3XK9L2P").
std::string reference_key(const std::string& reference);

// Matches one to one, every line at most once:
//  1. reference: equal non-empty references and equal amounts (the date does not matter:
//     a receipt number names one payment); among several, the nearest date, then lowest ids.
//  2. amount_date: equal amounts, dates at most window_days apart, and references that do not
//     contradict each other (one side empty, or both equal); the nearest dates pair first,
//     ties broken by the lowest statement id, then the lowest ledger id.
// The result is ordered by statement id. Deterministic for the same input in any order.
std::vector<Match> match_lines(const std::vector<Candidate>& statement,
                               const std::vector<Candidate>& ledger, int32_t window_days);

}  // namespace crm_core::reconcile
