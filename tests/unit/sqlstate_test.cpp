#include <boost/test/unit_test.hpp>

#include "crm_core/sqlstate.hpp"

BOOST_AUTO_TEST_SUITE(sqlstate)

// Values PostgreSQL 15's errcodes.h defines with MAKE_SQLSTATE.
BOOST_AUTO_TEST_CASE(packs_like_postgresql) {
    BOOST_TEST(crm_core::pack_sqlstate("00000") == 0);
    // '2'-'0'=2, '2'=2, '0'=0, '1'=1, '2'=2 -> 2 + (2<<6) + (0<<12) + (1<<18) + (2<<24)
    BOOST_TEST(crm_core::pack_sqlstate("22012") ==
               2 + (2 << 6) + (0 << 12) + (1 << 18) + (2 << 24));
    // 'X'-'0' = 40, '0'=0 -> XX000
    BOOST_TEST(crm_core::pack_sqlstate("XX000") == 40 + (40 << 6));
}

BOOST_AUTO_TEST_CASE(round_trips) {
    for (const char* code : {"00000", "22012", "23505", "40001", "P0001", "XX000", "2BP01"}) {
        BOOST_TEST(crm_core::unpack_sqlstate(crm_core::pack_sqlstate(code)) == code);
    }
}

BOOST_AUTO_TEST_CASE(rejects_malformed_codes) {
    BOOST_TEST(crm_core::pack_sqlstate("") == -1);
    BOOST_TEST(crm_core::pack_sqlstate("2201") == -1);
    BOOST_TEST(crm_core::pack_sqlstate("220123") == -1);
    BOOST_TEST(crm_core::pack_sqlstate("22o12") == -1);
    BOOST_TEST(crm_core::pack_sqlstate("22 12") == -1);
    BOOST_TEST(!crm_core::is_valid_sqlstate("abcde"));
    BOOST_TEST(crm_core::is_valid_sqlstate("HV00R"));
}

BOOST_AUTO_TEST_SUITE_END()
