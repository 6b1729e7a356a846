// Sealed ledger blocks: how a block's hash chains to the previous one, and the digest text a
// DBA keeps outside the database. Formats are frozen (version-tagged): sealed blocks depend on
// them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crm_core/canonical.hpp"
#include "crm_core/sha256.hpp"

namespace crm_core {

// The previous-block hash of every business's first block.
inline constexpr Digest kGenesisHash{};

// Hash of one canonical row (see encode_row).
Digest row_hash(std::string_view canonical_row);

// The fields of a row to seal: a column added to a sealed table after its format was frozen
// (added_columns, e.g. journal_line.subledger in 0.2.0) is encoded only when it is not NULL,
// so that every row sealed before the column existed keeps its hash.
std::vector<Field> fields_to_seal(std::vector<Field> fields,
                                  const std::vector<std::string_view>& added_columns);

// Hash of a block: domain tag, previous hash, business, block number, row count, and the
// row hashes in block order; any change to any of them changes the result.
Digest block_hash(const Digest& previous, std::int64_t business_id, std::int64_t block_no,
                  const std::vector<Digest>& row_hashes);

// The last block of one business's chain: what a digest pins.
struct ChainHead {
    std::int64_t business_id;
    std::int64_t block_no;
    Digest hash;
};

// Digest text "crm_core-ledger-v1 business:block:hex ..." (heads sorted by business id).
std::string format_digest(std::vector<ChainHead> heads);

// Parses a digest text; throws std::invalid_argument saying what is wrong.
std::vector<ChainHead> parse_digest(std::string_view text);

}  // namespace crm_core
