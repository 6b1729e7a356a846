#include <boost/test/unit_test.hpp>

#include "records.hpp"

using namespace crm_core::tool;

BOOST_AUTO_TEST_SUITE(records)

BOOST_AUTO_TEST_CASE(csv_record_as_json_object) {
    CsvRecord record{{"Jeanne \"J\" Martin", "06 12"}, 2, ""};
    BOOST_TEST(csv_record_json({"customer_name", "phone"}, record) ==
               "{\"customer_name\": \"Jeanne \\\"J\\\" Martin\", \"phone\": \"06 12\"}");
}

BOOST_AUTO_TEST_CASE(wrong_value_count_and_bad_bytes_are_shape_errors) {
    CsvRecord extra{{"a", "b", "c"}, 7, ""};
    BOOST_TEST(csv_record_json({"x", "y"}, extra)
                   .find("\"_shape_error\": \"the line has 3 values; the header has 2\"") !=
               std::string::npos);
    CsvRecord bad{{"caf\xE9"}, 8, ""};  // Latin-1, not UTF-8
    std::string json = csv_record_json({"x"}, bad);
    BOOST_TEST(json.find("not UTF-8") != std::string::npos);
    BOOST_TEST(json.find("caf\xEF\xBF\xBD") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(make_storable_keeps_utf8_and_replaces_the_rest) {
    std::string good = "Léa Éloïse 🙂";
    BOOST_TEST(!make_storable(good));
    std::string nul = std::string("a\0b", 3);
    BOOST_TEST(make_storable(nul));
    BOOST_TEST(nul ==
               "a\xEF\xBF\xBD"
               "b");
    std::string overlong = "\xC0\xAF";
    BOOST_TEST(make_storable(overlong));
    std::string surrogate = "\xED\xA0\x80";
    BOOST_TEST(make_storable(surrogate));
}

BOOST_AUTO_TEST_CASE(json_lines) {
    std::string error;
    BOOST_TEST(is_json_object(R"({"a":[1,-2.5e3,true,null,{"b":"\u00e9\n"}]})", error));
    BOOST_TEST(!is_json_object(R"({"a":1)", error));
    BOOST_TEST(!is_json_object(R"({"a":01})", error));
    BOOST_TEST(!is_json_object(R"([1])", error));
    BOOST_TEST(!is_json_object(R"({"a":1} x)", error));
    BOOST_TEST(!is_json_object("{\"a\":\"tab\there\"}", error));
    BOOST_TEST(json_line_record(R"({"a":1})") == R"({"a":1})");
    BOOST_TEST(json_line_record(R"({"a":"\u0000"})").find("_shape_error") != std::string::npos);
    BOOST_TEST(json_line_record(R"({"cut":)").find("the line is not a JSON object") !=
               std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
