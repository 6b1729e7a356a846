// Exact decimal sums in PostgreSQL's numeric storage format, without PostgreSQL's arithmetic.
// The ledger sums every line's amount twice (the entry's tally, the account's delta); numeric_add
// allocates and normalizes a result for each addition, about a tenth of a posting's trigger
// work. A numeric as a table stores it (a 16-bit header, then base-10000 digits; PostgreSQL's
// numeric.c, unchanged since 9.1 because it is what data files hold) is read here into an
// integer count of 10^-scale units, summed in 128 bits, and written back as PostgreSQL's own
// make_result() writes it. Anything this cannot hold (NaN, infinities, more than 34 digits)
// is left to PostgreSQL's numeric arithmetic by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace crm_core::decimal {

// value = units / 10^scale; scale is numeric's display scale (digits after the point), which
// a sum takes from the larger of its terms, as numeric_add does.
struct Decimal {
    __int128 units = 0;
    int scale = 0;
};

// The largest scale and magnitude of units this type holds (|units| < 10^34): the encoder pads
// units by up to three decimal digits and stays within unsigned 128 bits.
constexpr int kMaxScale = 34;

// Reads a numeric's payload (the bytes after its varlena length word). std::nullopt for NaN
// and infinities, a malformed payload, or a value out of range.
std::optional<Decimal> decode(const unsigned char* payload, std::size_t size) noexcept;

// a + b exactly, with the larger scale; std::nullopt when it would leave the range.
std::optional<Decimal> add(const Decimal& a, const Decimal& b) noexcept;

// The sign of a - b: -1, 0 or 1.
int compare(const Decimal& a, const Decimal& b) noexcept;

// The most bytes encode() writes: two header words and ten base-10000 digits.
constexpr std::size_t kMaxEncodedSize = 24;

// Writes the payload PostgreSQL writes for this value (header and digits, in this machine's
// byte order, as numeric's storage is) to out, which holds kMaxEncodedSize bytes; returns its
// size. No allocation: callable where a PostgreSQL error may unwind the caller.
std::size_t encode(const Decimal& value, unsigned char* out) noexcept;

}  // namespace crm_core::decimal
