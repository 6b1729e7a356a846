#include <boost/test/unit_test.hpp>

#include "crm_core/posting.hpp"

using namespace crm_core::posting;

BOOST_AUTO_TEST_SUITE(posting)

BOOST_AUTO_TEST_CASE(sides_and_item_accounts_by_their_column_names) {
    BOOST_TEST((parse_side("debit") == Side::debit));
    BOOST_TEST((parse_side("credit") == Side::credit));
    BOOST_TEST(!parse_side("Debit").has_value());
    BOOST_TEST((parse_item_account("stock") == ItemAccount::stock));
    BOOST_TEST((parse_item_account("movement") == ItemAccount::movement));
    BOOST_TEST(!parse_item_account("").has_value());
}

BOOST_AUTO_TEST_CASE(columns_read_once_in_first_use_order) {
    RuleLine cash;
    cash.when_column = "payment_method";
    cash.amount_column = "total_amount";
    RuleLine stock;
    stock.item_column = "product_size_id";
    stock.amount_column = "quantity";
    RuleLine sales;
    sales.amount_column = "total_amount";
    sales.subledger_column = "customer_id";
    sales.memo_column = "mpesa_receipt";
    BOOST_TEST((columns_read({cash, stock, sales}) ==
                std::vector<std::string>{"payment_method", "total_amount", "product_size_id",
                                         "quantity", "customer_id", "mpesa_receipt"}));
}

BOOST_AUTO_TEST_CASE(conditions_compare_text_and_never_match_null) {
    RuleLine always;
    BOOST_TEST(condition_holds(always, std::nullopt));
    RuleLine mpesa;
    mpesa.when_column = "payment_method";
    mpesa.when_value = "mpesa";
    BOOST_TEST(condition_holds(mpesa, std::string("mpesa")));
    BOOST_TEST(!condition_holds(mpesa, std::string("cash")));
    BOOST_TEST(!condition_holds(mpesa, std::string("MPESA")));
    BOOST_TEST(!condition_holds(mpesa, std::nullopt));
}

BOOST_AUTO_TEST_CASE(only_positive_amounts_post) {
    BOOST_TEST((outcome_for(Amount::null) == Outcome::skip));
    BOOST_TEST((outcome_for(Amount::zero) == Outcome::skip));
    BOOST_TEST((outcome_for(Amount::positive) == Outcome::post));
    BOOST_TEST((outcome_for(Amount::negative) == Outcome::refuse));
    BOOST_TEST((outcome_for(Amount::not_finite) == Outcome::refuse));
}

BOOST_AUTO_TEST_CASE(entries_name_their_event_and_rule_version) {
    BOOST_TEST(source_ref("water.sale", 17) == "water.sale:17");
    BOOST_TEST(entry_metadata("water_sale", 3) ==
               "{\"transaction_type\": \"water_sale\", \"rule_version\": \"3\"}");
}

BOOST_AUTO_TEST_SUITE_END()
