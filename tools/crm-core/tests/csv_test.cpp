#include <boost/test/unit_test.hpp>
#include <sstream>

#include "csv.hpp"

using crm_core::tool::CsvReader;
using crm_core::tool::CsvRecord;

namespace {

std::vector<CsvRecord> read_all(const std::string& text, std::size_t max_bytes = 1 << 20) {
    std::istringstream in(text);
    CsvReader reader(in, max_bytes);
    std::vector<CsvRecord> records;
    CsvRecord record;
    while (reader.next(record)) {
        records.push_back(record);
    }
    return records;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(csv_reader)

BOOST_AUTO_TEST_CASE(plain_quoted_and_empty_fields) {
    auto records = read_all("a,b,c\n1,\"two, with comma\",\n\"say \"\"hi\"\"\",x,\"\"\n");
    BOOST_REQUIRE_EQUAL(records.size(), 3u);
    BOOST_TEST(records[1].fields == (std::vector<std::string>{"1", "two, with comma", ""}));
    BOOST_TEST(records[2].fields == (std::vector<std::string>{"say \"hi\"", "x", ""}));
    BOOST_TEST(records[2].line == 3u);
}

BOOST_AUTO_TEST_CASE(crlf_blank_lines_bom_and_no_final_newline) {
    auto records = read_all("\xEF\xBB\xBFh1,h2\r\n\r\nx,y\r\n\nlast,row");
    BOOST_REQUIRE_EQUAL(records.size(), 3u);
    BOOST_TEST(records[0].fields[0] == "h1");
    BOOST_TEST(records[1].fields == (std::vector<std::string>{"x", "y"}));
    BOOST_TEST(records[1].line == 3u);
    BOOST_TEST(records[2].line == 5u);
    BOOST_TEST(records[2].fields[1] == "row");
}

BOOST_AUTO_TEST_CASE(line_breaks_inside_quotes_keep_line_numbers) {
    auto records = read_all("h\n\"two\nlines\"\nnext\n");
    BOOST_REQUIRE_EQUAL(records.size(), 3u);
    BOOST_TEST(records[1].fields[0] == "two\nlines");
    BOOST_TEST(records[1].line == 2u);
    BOOST_TEST(records[2].line == 4u);
}

BOOST_AUTO_TEST_CASE(unterminated_quote_and_oversized_record_are_reported) {
    auto records = read_all("h\n\"open,never closed\n");
    BOOST_REQUIRE_EQUAL(records.size(), 2u);
    BOOST_TEST(records[1].problem.find("not closed") != std::string::npos);
    auto long_records = read_all("h\n" + std::string(100, 'x') + "\nshort\n", 50);
    BOOST_REQUIRE_EQUAL(long_records.size(), 3u);
    BOOST_TEST(long_records[1].problem.find("longer than 50") != std::string::npos);
    BOOST_TEST(long_records[2].fields[0] == "short");
    BOOST_TEST(long_records[2].line == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
