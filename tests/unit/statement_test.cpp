#include <boost/test/unit_test.hpp>

#include "crm_core/statement.hpp"

using namespace crm_core::statement;

BOOST_AUTO_TEST_SUITE(statement)

BOOST_AUTO_TEST_CASE(csv_reads_quotes_commas_line_breaks_and_crlf) {
    CsvReader reader(
        "\xEF\xBB\xBF"
        "a,\"b,c\",\"say \"\"hi\"\"\"\r\n\r\n1,\"two\nlines\", x \n");
    std::vector<std::string> fields;
    BOOST_TEST(reader.next(fields));
    BOOST_TEST(reader.line() == 1);
    BOOST_TEST((fields == std::vector<std::string>{"a", "b,c", "say \"hi\""}));
    BOOST_TEST(reader.next(fields));
    BOOST_TEST(reader.line() == 3);
    BOOST_TEST((fields == std::vector<std::string>{"1", "two\nlines", " x "}));
    BOOST_TEST(!reader.next(fields));
}

BOOST_AUTO_TEST_CASE(csv_refuses_broken_quotes_with_their_line) {
    std::vector<std::string> fields;
    CsvReader unclosed("a,b\nc,\"d\n");
    BOOST_TEST(unclosed.next(fields));
    try {
        unclosed.next(fields);
        BOOST_FAIL("an unclosed quote was accepted");
    } catch (const FormatError& error) {
        BOOST_TEST(error.line() == 2);
        BOOST_TEST(std::string(error.what()) == "a quoted field is not closed");
    }
    CsvReader stray("a b\"c\n");
    BOOST_CHECK_THROW(stray.next(fields), FormatError);
    CsvReader trailing("\"a\"b\n");
    BOOST_CHECK_THROW(trailing.next(fields), FormatError);
}

BOOST_AUTO_TEST_CASE(amounts_become_canonical_decimals) {
    BOOST_TEST(*parse_amount("1,250.50") == "1250.5");
    BOOST_TEST(*parse_amount(" 007.000 ") == "7");
    BOOST_TEST(*parse_amount("-0.10") == "-0.1");
    BOOST_TEST(*parse_amount("(30.00)") == "-30");
    BOOST_TEST(*parse_amount("+5") == "5");
    BOOST_TEST(*parse_amount("-0") == "0");
    BOOST_TEST(*parse_amount(".5") == "0.5");
    BOOST_TEST(*parse_amount("1,000,000") == "1000000");
    BOOST_TEST(!parse_amount("").has_value());
    BOOST_TEST(!parse_amount(" - ").has_value());
    BOOST_CHECK_THROW(parse_amount("12,3"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_amount("1,2345"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_amount("1.2.3"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_amount("KES 10"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_amount("."), std::invalid_argument);
    BOOST_TEST(negate_amount("12.5") == "-12.5");
    BOOST_TEST(negate_amount("-3") == "3");
    BOOST_TEST(negate_amount("0") == "0");
}

BOOST_AUTO_TEST_CASE(timestamps_in_both_day_orders) {
    BOOST_TEST(parse_timestamp("2024-01-15 10:32:11") == "2024-01-15 10:32:11");
    BOOST_TEST(parse_timestamp("2024/01/15") == "2024-01-15 00:00:00");
    BOOST_TEST(parse_timestamp("15/01/2024 09:05") == "2024-01-15 09:05:00");
    BOOST_TEST(parse_timestamp("29-02-2024") == "2024-02-29 00:00:00");
    BOOST_CHECK_THROW(parse_timestamp("29/02/2023"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_timestamp("2024-13-01"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_timestamp("2024-01-15 24:00"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_timestamp("yesterday"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_timestamp("2024-01-15T10:32"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(mpesa_statement_lines_money_in_and_out_completed_only) {
    Statement statement = read_statement(
        Layout::mpesa,
        "Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\n"
        "QFT3XK9L2P,2024-01-15 10:32:11,Payment from 0712 345678,Completed,300.00,,1300.00\n"
        "QFT3XK9L2Q,2024-01-15 11:00:00,Pending thing,Pending,50.00,,1350.00\n"
        "QFT3XK9L2R,2024-01-15 12:00:00,Withdrawal,Completed,,-1000.00,300.00\n"
        "QFT3XK9L2S,2024-01-15 13:00:00,Charge,Completed,,\"1,000.00\",-700.00\n");
    BOOST_TEST(statement.lines.size() == 3u);
    BOOST_TEST(statement.skipped == 1);
    BOOST_TEST(statement.lines[0].reference == "QFT3XK9L2P");
    BOOST_TEST(statement.lines[0].amount == "300");
    BOOST_TEST(statement.lines[0].booked_at == "2024-01-15 10:32:11");
    BOOST_TEST(*statement.lines[0].balance == "1300");
    BOOST_TEST(statement.lines[0].line_no == 2);
    BOOST_TEST(statement.lines[1].amount == "-1000");
    BOOST_TEST(statement.lines[2].amount == "-1000");
    BOOST_TEST(statement.lines[2].line_no == 5);
}

BOOST_AUTO_TEST_CASE(bank_statement_with_signed_amounts_or_two_columns) {
    Statement signed_amounts =
        read_statement(Layout::bank,
                       "Value Date,Narrative,Ref,Amount\n02/01/2024,Deposit,DEP1,500\n"
                       "03/01/2024,Fee,,-25.5\n04/01/2024,Nothing,,0\n");
    BOOST_TEST(signed_amounts.lines.size() == 2u);
    BOOST_TEST(signed_amounts.skipped == 1);
    BOOST_TEST(signed_amounts.lines[0].booked_at == "2024-01-02 00:00:00");
    BOOST_TEST(signed_amounts.lines[0].reference == "DEP1");
    BOOST_TEST(signed_amounts.lines[1].amount == "-25.5");
    BOOST_TEST(!signed_amounts.lines[1].balance.has_value());
    Statement two_columns = read_statement(
        Layout::bank, "Date,Description,Debit,Credit,Balance\n2024-01-02,Rent,1000,,0\n");
    BOOST_TEST(two_columns.lines[0].amount == "-1000");
    BOOST_TEST(two_columns.lines[0].description == "Rent");
}

BOOST_AUTO_TEST_CASE(statement_errors_name_the_line_and_what_is_wrong) {
    auto message_of = [](Layout layout, const char* csv) {
        try {
            read_statement(layout, csv);
        } catch (const FormatError& error) {
            return std::to_string(error.line()) + ": " + error.what();
        }
        return std::string("no error");
    };
    BOOST_TEST(message_of(Layout::mpesa, "") ==
               "0: the statement is empty: a header row is needed");
    BOOST_TEST(message_of(Layout::mpesa, "Receipt No.,Paid In\n") ==
               "1: the header row lacks \"Completion Time\" \"Withdrawn\"");
    BOOST_TEST(message_of(Layout::bank, "Date,Narrative\n") ==
               "1: the header row lacks \"Amount\" (or \"Credit\" and \"Debit\")");
    BOOST_TEST(message_of(Layout::bank, "Date,Amount\n2024-01-02,12x\n") ==
               "2: amount \"12x\" is not an amount");
    BOOST_TEST(message_of(Layout::bank, "Date,Amount\n2024-01-02\n") ==
               "2: the row has 1 fields, the header 2");
    BOOST_TEST(message_of(Layout::bank, "Date,Amount\n31/04/2024,5\n") ==
               "2: date \"31/04/2024\" is not a date (YYYY-MM-DD or DD/MM/YYYY)");
    BOOST_TEST(message_of(Layout::bank, "Date,Credit,Debit\n2024-01-02,5,6\n") ==
               "2: the row has both money in and money out");
    BOOST_TEST(message_of(Layout::bank, "Date,Credit,Debit\n2024-01-02,-5,\n") ==
               "2: money in \"-5\" is negative");
}

BOOST_AUTO_TEST_CASE(layouts_by_name) {
    BOOST_TEST((parse_layout("mpesa") == Layout::mpesa));
    BOOST_TEST((parse_layout("bank") == Layout::bank));
    BOOST_TEST(!parse_layout("MPESA").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
