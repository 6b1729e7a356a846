#include "crm_core/hmac.hpp"

#include <array>
#include <cstdint>

namespace crm_core {

Digest hmac_sha256(std::string_view key, std::string_view message) {
    constexpr std::size_t kBlock = 64;
    std::array<std::uint8_t, kBlock> block{};
    if (key.size() > kBlock) {
        Digest hashed = sha256(key);
        std::copy(hashed.begin(), hashed.end(), block.begin());
    } else {
        std::copy(key.begin(), key.end(), block.begin());
    }
    std::array<std::uint8_t, kBlock> inner_pad{};
    std::array<std::uint8_t, kBlock> outer_pad{};
    for (std::size_t i = 0; i < kBlock; ++i) {
        inner_pad[i] = block[i] ^ 0x36;
        outer_pad[i] = block[i] ^ 0x5c;
    }
    Sha256 inner;
    inner.update(inner_pad.data(), inner_pad.size());
    inner.update(message);
    Digest inner_digest = inner.finish();
    Sha256 outer;
    outer.update(outer_pad.data(), outer_pad.size());
    outer.update(inner_digest);
    return outer.finish();
}

}  // namespace crm_core
