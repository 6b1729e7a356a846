// SHA-256 (FIPS 180-4), self-contained so the pure library needs no crypto dependency.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace crm_core {

using Digest = std::array<std::uint8_t, 32>;

// An incremental SHA-256: update() any number of times, then finish() once.
class Sha256 {
  public:
    Sha256();

    // Feeds bytes into the hash.
    void update(const void* data, std::size_t size);
    void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
    void update(const Digest& digest) { update(digest.data(), digest.size()); }

    // Pads, returns the digest; the object must not be updated afterwards.
    Digest finish();

  private:
    void compress(const std::uint8_t* block);

    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_bytes_ = 0;
};

// The SHA-256 digest of bytes in one call.
Digest sha256(std::string_view bytes);

// Lower-case hexadecimal of any byte string (digests, encodings in tests).
std::string to_hex(std::string_view bytes);
std::string to_hex(const Digest& digest);

// Parses 64 hex digits into a digest; returns false when the text is not exactly that.
bool digest_from_hex(std::string_view hex, Digest& digest);

}  // namespace crm_core
