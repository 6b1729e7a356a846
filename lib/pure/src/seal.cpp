#include "crm_core/seal.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace crm_core {

namespace {

constexpr std::string_view kBlockTag = "crm_core.block.v1";
constexpr std::string_view kDigestTag = "crm_core-ledger-v1";

// Feeds a 64-bit integer in big-endian order.
void update_int(Sha256& hash, std::uint64_t value) {
    std::uint8_t bytes[8];
    for (int i = 0; i < 8; ++i) {
        bytes[i] = static_cast<std::uint8_t>(value >> (56 - 8 * i));
    }
    hash.update(bytes, sizeof bytes);
}

// Parses a whole decimal int64 or throws.
std::int64_t parse_int(std::string_view text, std::string_view what) {
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
        throw std::invalid_argument("ledger digest: " + std::string(what) + " \"" +
                                    std::string(text) + "\" is not an integer");
    }
    return value;
}

}  // namespace

Digest row_hash(std::string_view canonical_row) {
    return sha256(canonical_row);
}

Digest block_hash(const Digest& previous, std::int64_t business_id, std::int64_t block_no,
                  const std::vector<Digest>& row_hashes) {
    Sha256 hash;
    hash.update(kBlockTag);
    hash.update(previous);
    update_int(hash, static_cast<std::uint64_t>(business_id));
    update_int(hash, static_cast<std::uint64_t>(block_no));
    update_int(hash, row_hashes.size());
    for (const Digest& row : row_hashes) {
        hash.update(row);
    }
    return hash.finish();
}

std::string format_digest(std::vector<ChainHead> heads) {
    std::sort(heads.begin(), heads.end(),
              [](const ChainHead& a, const ChainHead& b) { return a.business_id < b.business_id; });
    std::string text(kDigestTag);
    for (const ChainHead& head : heads) {
        text += ' ' + std::to_string(head.business_id) + ':' + std::to_string(head.block_no) + ':' +
                to_hex(head.hash);
    }
    return text;
}

std::vector<ChainHead> parse_digest(std::string_view text) {
    std::vector<std::string_view> words;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find(' ', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        if (end > start) {
            words.push_back(text.substr(start, end - start));
        }
        start = end + 1;
    }
    if (words.empty() || words.front() != kDigestTag) {
        throw std::invalid_argument("ledger digest must start with \"" + std::string(kDigestTag) +
                                    "\"");
    }
    std::vector<ChainHead> heads;
    for (std::size_t i = 1; i < words.size(); ++i) {
        std::string_view word = words[i];
        std::size_t first = word.find(':');
        std::size_t second = first == std::string_view::npos ? first : word.find(':', first + 1);
        if (second == std::string_view::npos) {
            throw std::invalid_argument("ledger digest: \"" + std::string(word) +
                                        "\" is not business:block:hash");
        }
        ChainHead head{parse_int(word.substr(0, first), "business id"),
                       parse_int(word.substr(first + 1, second - first - 1), "block number"),
                       {}};
        if (!digest_from_hex(word.substr(second + 1), head.hash)) {
            throw std::invalid_argument("ledger digest: \"" + std::string(word.substr(second + 1)) +
                                        "\" is not 64 hex digits");
        }
        heads.push_back(head);
    }
    return heads;
}

std::vector<Field> fields_to_seal(std::vector<Field> fields,
                                  const std::vector<std::string_view>& added_columns) {
    fields.erase(std::remove_if(fields.begin(), fields.end(),
                                [&](const Field& field) {
                                    return !field.value &&
                                           std::find(added_columns.begin(), added_columns.end(),
                                                     field.name) != added_columns.end();
                                }),
                 fields.end());
    return fields;
}

}  // namespace crm_core
