#include "crm_core/sqlstate.hpp"

namespace crm_core {

namespace {

constexpr int kSixBits = 0x3F;

// PostgreSQL's PGSIXBIT: six bits per character, offset from '0'.
constexpr int six_bits(char ch) {
    return (ch - '0') & kSixBits;
}

// PostgreSQL's PGUNSIXBIT.
constexpr char from_six_bits(int value) {
    return static_cast<char>((value & kSixBits) + '0');
}

}  // namespace

bool is_valid_sqlstate(std::string_view code) noexcept {
    if (code.size() != 5) {
        return false;
    }
    for (char ch : code) {
        bool digit = ch >= '0' && ch <= '9';
        bool upper = ch >= 'A' && ch <= 'Z';
        if (!digit && !upper) {
            return false;
        }
    }
    return true;
}

int pack_sqlstate(std::string_view code) noexcept {
    if (!is_valid_sqlstate(code)) {
        return -1;
    }
    int packed = 0;
    for (int i = 0; i < 5; ++i) {
        packed += six_bits(code[i]) << (6 * i);
    }
    return packed;
}

std::string unpack_sqlstate(int packed) {
    std::string code(5, '0');
    for (int i = 0; i < 5; ++i) {
        code[i] = from_six_bits(packed >> (6 * i));
    }
    return code;
}

}  // namespace crm_core
