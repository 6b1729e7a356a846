#include <boost/test/unit_test.hpp>

#include "collections/money.hpp"

using namespace crm_core::collections;

BOOST_AUTO_TEST_SUITE(collections_money)

BOOST_AUTO_TEST_CASE(decimals_become_minor_units) {
    AmountProblem problem;
    BOOST_TEST(*to_minor("12.50", 2, problem) == 1250);
    BOOST_TEST(*to_minor("12.5", 2, problem) == 1250);
    BOOST_TEST(*to_minor("12", 2, problem) == 1200);
    BOOST_TEST(*to_minor("-0.01", 2, problem) == -1);
    BOOST_TEST(*to_minor("3.1000", 2, problem) == 310);
    BOOST_TEST(*to_minor("1000", 0, problem) == 1000);
    BOOST_TEST(*to_minor("1.234", 3, problem) == 1234);
    BOOST_TEST(*to_minor(".5", 2, problem) == 50);
    BOOST_TEST((problem == AmountProblem::none));
}

BOOST_AUTO_TEST_CASE(what_a_currency_cannot_hold_is_refused_with_its_reason) {
    AmountProblem problem;
    BOOST_TEST(!to_minor("10.005", 2, problem));
    BOOST_TEST((problem == AmountProblem::too_precise));
    BOOST_TEST(!to_minor("0.5", 0, problem));
    BOOST_TEST((problem == AmountProblem::too_precise));
    BOOST_TEST(!to_minor("NaN", 2, problem));
    BOOST_TEST((problem == AmountProblem::not_a_number));
    BOOST_TEST(!to_minor("Infinity", 2, problem));
    BOOST_TEST((problem == AmountProblem::not_a_number));
    BOOST_TEST(!to_minor("", 2, problem));
    BOOST_TEST((problem == AmountProblem::not_a_number));
    BOOST_TEST(!to_minor("1.2.3", 2, problem));
    BOOST_TEST((problem == AmountProblem::not_a_number));
    BOOST_TEST(!to_minor("99999999999999999999", 2, problem));
    BOOST_TEST((problem == AmountProblem::out_of_range));
    BOOST_TEST(!to_minor("92233720368547758.08", 2, problem));
    BOOST_TEST((problem == AmountProblem::out_of_range));
}

BOOST_AUTO_TEST_CASE(minor_units_print_with_the_currency_decimals) {
    BOOST_TEST(from_minor(1250, 2) == "12.50");
    BOOST_TEST(from_minor(5, 2) == "0.05");
    BOOST_TEST(from_minor(-5, 2) == "-0.05");
    BOOST_TEST(from_minor(0, 2) == "0.00");
    BOOST_TEST(from_minor(1000, 0) == "1000");
    BOOST_TEST(from_minor(1234, 3) == "1.234");
    BOOST_TEST(from_minor(INT64_MIN, 2) == "-92233720368547758.08");
}

BOOST_AUTO_TEST_CASE(currency_decimals_come_from_icu) {
    BOOST_TEST(*currency_fraction_digits("EUR") == 2);
    BOOST_TEST(*currency_fraction_digits("JPY") == 0);
    BOOST_TEST(*currency_fraction_digits("BHD") == 3);
    BOOST_TEST(!currency_fraction_digits("eur"));
    BOOST_TEST(!currency_fraction_digits("EURO"));
}

BOOST_AUTO_TEST_SUITE_END()
