// The generator's files against the importer's own rules: mapping every generated record with
// collections::import::map_row finds exactly the invalid rows expected.tsv announces, and
// repeated lines are exact repeats. A fixed seed gives fixed counts.
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "collections/import_mapping.hpp"
#include "csv.hpp"
#include "demo_data.hpp"
#include "records.hpp"

using namespace crm_core::tool;
namespace import = crm_core::collections::import;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char pattern[] = "/tmp/crm_core_demo_XXXXXX";
        path = mkdtemp(pattern);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// Maps every record of a CSV file; returns (invalid rows, exact repeats of an earlier valid row).
std::pair<int, int> map_csv(const std::filesystem::path& file, import::Source source,
                            const std::string& entity, const std::string& country) {
    std::ifstream in(file, std::ios::binary);
    CsvReader reader(in);
    CsvRecord header;
    BOOST_REQUIRE(reader.next(header));
    CsvRecord record;
    int invalid = 0;
    int repeats = 0;
    std::set<std::vector<std::string>> seen;
    import::Settings settings{country, country == "FR" ? "EUR" : "INR"};
    while (reader.next(record)) {
        import::RawRow raw;
        for (std::size_t i = 0; i < header.fields.size() && i < record.fields.size(); ++i) {
            raw[header.fields[i]] = record.fields[i];
        }
        import::MappedRow row = import::map_row(source, entity, raw, settings);
        if (!row.error.empty()) {
            ++invalid;
        } else if (!seen.insert(record.fields).second) {
            ++repeats;
        }
    }
    return {invalid, repeats};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(demo_data)

BOOST_AUTO_TEST_CASE(voice_files_are_as_announced, *boost::unit_test::timeout(60)) {
    for (const std::string country : {"FR", "IN"}) {
        TempDir dir;
        DemoResult result =
            write_demo_data(DemoOptions{2000, country, 7, dir.path.string(), false});
        const Expected& day1 = result.files[0].second;
        BOOST_TEST(result.files[0].first == "voice_csv/loans.csv");
        auto [invalid, repeats] =
            map_csv(dir.path / "voice_csv/loans.csv", import::Source::voice_csv, "loans", country);
        BOOST_TEST(invalid == static_cast<int>(day1.statuses.at("invalid")));
        BOOST_TEST(repeats == static_cast<int>(day1.statuses.at("duplicate")));
        BOOST_TEST(day1.statuses.at("applied") > 2400u);
        BOOST_TEST(day1.new_customers <= 2000u);
        BOOST_TEST(day1.new_customers > 1900u);
        auto [invalid2, repeats2] = map_csv(dir.path / "voice_csv/loans-day2.csv",
                                            import::Source::voice_csv, "loans", country);
        BOOST_TEST(invalid2 == static_cast<int>(result.files[1].second.statuses.at("invalid")));
        BOOST_TEST(repeats2 == 0);
        BOOST_TEST(std::filesystem::exists(dir.path / "expected.tsv"));
    }
}

BOOST_AUTO_TEST_CASE(other_shapes_are_as_announced) {
    TempDir dir;
    DemoResult result = write_demo_data(DemoOptions{2000, "FR", 11, dir.path.string(), false});
    std::map<std::string, Expected> files(result.files.begin(), result.files.end());
    BOOST_TEST(map_csv(dir.path / "recouvrement/clients.csv", import::Source::recouvrement,
                       "clients", "FR")
                   .first ==
               static_cast<int>(files["recouvrement/clients.csv"].statuses["invalid"]));
    BOOST_TEST(map_csv(dir.path / "recouvrement/invoices.csv", import::Source::recouvrement,
                       "invoices", "FR")
                   .first ==
               static_cast<int>(files["recouvrement/invoices.csv"].statuses["invalid"]));
    BOOST_TEST(
        map_csv(dir.path / "erp_ledger/accounts.csv", import::Source::erp_ledger, "accounts", "FR")
            .first == 0);
    BOOST_TEST(map_csv(dir.path / "erp_ledger/journal_lines.csv", import::Source::erp_ledger,
                       "journal_lines", "FR")
                   .first == 0);
    // Every JSON line is an object except the ones cut short on purpose.
    std::ifstream in(dir.path / "debt_accounts_json/debt_accounts.jsonl");
    std::string line;
    int broken = 0;
    int lines = 0;
    while (std::getline(in, line)) {
        ++lines;
        std::string error;
        broken += is_json_object(line, error) ? 0 : 1;
    }
    const Expected& json = files["debt_accounts_json/debt_accounts.jsonl"];
    std::uint64_t total = 0;
    for (const auto& [status, count] : json.statuses) {
        total += count;
    }
    BOOST_TEST(static_cast<std::uint64_t>(lines) == total);
    BOOST_TEST(broken > 0);
    BOOST_TEST(static_cast<std::uint64_t>(broken) < json.statuses.at("invalid"));
}

BOOST_AUTO_TEST_CASE(a_seed_gives_the_same_counts_and_unknown_countries_are_refused) {
    TempDir first;
    TempDir second;
    DemoResult a = write_demo_data(DemoOptions{500, "FR", 3, first.path.string(), true});
    DemoResult b = write_demo_data(DemoOptions{500, "FR", 3, second.path.string(), true});
    BOOST_TEST(a.files[0].second.statuses == b.files[0].second.statuses);
    BOOST_TEST(a.files.size() == 2u);
    BOOST_CHECK_THROW(write_demo_data(DemoOptions{10, "ZZ", 1, first.path.string(), true}),
                      std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
