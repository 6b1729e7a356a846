#include "crm_core/reconcile.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace crm_core::reconcile {

namespace {

int64_t distance(const Candidate& a, const Candidate& b) {
    return std::llabs(static_cast<int64_t>(a.day) - static_cast<int64_t>(b.day));
}

// Free ledger lines of one amount on one day, in id order: (ledger id, index).
using FreeLines = std::set<std::pair<int64_t, std::size_t>>;

}  // namespace

std::string reference_key(const std::string& reference) {
    std::size_t first = 0;
    std::size_t last = reference.size();
    while (first < last && std::isspace(static_cast<unsigned char>(reference[first]))) {
        ++first;
    }
    while (last > first && std::isspace(static_cast<unsigned char>(reference[last - 1]))) {
        --last;
    }
    std::string key = reference.substr(first, last - first);
    for (char& c : key) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return key;
}

std::vector<Match> match_lines(const std::vector<Candidate>& statement,
                               const std::vector<Candidate>& ledger, int32_t window_days) {
    std::vector<std::string> ledger_keys;
    ledger_keys.reserve(ledger.size());
    for (const Candidate& line : ledger) {
        ledger_keys.push_back(reference_key(line.reference));
    }
    // Statement lines in id order: ties go to the lowest statement id.
    std::vector<std::size_t> statement_order(statement.size());
    std::vector<std::string> statement_keys(statement.size());
    for (std::size_t s = 0; s < statement.size(); ++s) {
        statement_order[s] = s;
        statement_keys[s] = reference_key(statement[s].reference);
    }
    std::sort(statement_order.begin(), statement_order.end(),
              [&](std::size_t a, std::size_t b) { return statement[a].id < statement[b].id; });
    std::vector<bool> statement_used(statement.size(), false);
    std::vector<bool> ledger_used(ledger.size(), false);
    std::vector<Match> matches;

    // 1. By reference: every pair with equal keys and amounts, nearest dates first.
    std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> ledger_by_key;
    for (std::size_t l = 0; l < ledger.size(); ++l) {
        if (!ledger_keys[l].empty()) {
            ledger_by_key[{ledger_keys[l], ledger[l].amount}].push_back(l);
        }
    }
    std::vector<std::tuple<int64_t, int64_t, int64_t, std::size_t, std::size_t>> pairs;
    for (std::size_t s = 0; s < statement.size(); ++s) {
        if (statement_keys[s].empty()) {
            continue;
        }
        auto found = ledger_by_key.find({statement_keys[s], statement[s].amount});
        if (found == ledger_by_key.end()) {
            continue;
        }
        for (std::size_t l : found->second) {
            pairs.emplace_back(distance(statement[s], ledger[l]), statement[s].id, ledger[l].id, s,
                               l);
        }
    }
    std::sort(pairs.begin(), pairs.end());
    for (const auto& pair : pairs) {
        std::size_t s = std::get<3>(pair);
        std::size_t l = std::get<4>(pair);
        if (!statement_used[s] && !ledger_used[l]) {
            statement_used[s] = ledger_used[l] = true;
            matches.push_back({statement[s].id, ledger[l].id, Method::reference});
        }
    }

    // 2. By amount and date: gap by gap (0, 1, ... window), statement lines in id order, each
    //    taking the free ledger line of lowest id at that distance whose reference agrees.
    std::map<std::pair<std::string, int32_t>, FreeLines> free_lines;
    for (std::size_t l = 0; l < ledger.size(); ++l) {
        if (!ledger_used[l]) {
            free_lines[{ledger[l].amount, ledger[l].day}].emplace(ledger[l].id, l);
        }
    }
    auto compatible = [&](std::size_t s, std::size_t l) {
        return statement_keys[s].empty() || ledger_keys[l].empty() ||
               statement_keys[s] == ledger_keys[l];
    };
    for (int32_t gap = 0; gap <= window_days; ++gap) {
        for (std::size_t s : statement_order) {
            if (statement_used[s]) {
                continue;
            }
            const Candidate& line = statement[s];
            FreeLines* best_set = nullptr;
            FreeLines::iterator best;
            const int64_t days[2] = {static_cast<int64_t>(line.day) - gap,
                                     static_cast<int64_t>(line.day) + gap};
            for (int side = 0; side < (gap == 0 ? 1 : 2); ++side) {
                auto bucket = free_lines.find({line.amount, static_cast<int32_t>(days[side])});
                if (bucket == free_lines.end()) {
                    continue;
                }
                for (auto candidate = bucket->second.begin(); candidate != bucket->second.end();
                     ++candidate) {
                    if (compatible(s, candidate->second)) {
                        if (best_set == nullptr || candidate->first < best->first) {
                            best_set = &bucket->second;
                            best = candidate;
                        }
                        break;
                    }
                }
            }
            if (best_set != nullptr) {
                statement_used[s] = ledger_used[best->second] = true;
                matches.push_back({line.id, best->first, Method::amount_date});
                best_set->erase(best);
            }
        }
    }
    std::sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) {
        return std::tie(a.statement_id, a.ledger_id) < std::tie(b.statement_id, b.ledger_id);
    });
    return matches;
}

}  // namespace crm_core::reconcile
