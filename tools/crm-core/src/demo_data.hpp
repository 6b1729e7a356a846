// `crm-core demo-data`: a collection agency's legacy files in the four shapes the importer reads
// (seed 003's daily loan CSV, seed 000's debt accounts as JSON lines, seed 001's recouvrement
// tables, seed 002's chart of accounts and journal), with names and phone numbers of a country,
// and the mess real files have: bad phones, missing amounts, impossible dates, repeated lines,
// the same customer spelled differently, payment histories. Deterministic for a seed; writes
// expected.tsv, what importing each file must give, per row status.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace crm_core::tool {

struct DemoOptions {
    std::uint64_t customers = 1000;
    std::string country = "FR";  // FR or IN
    std::uint64_t seed = 2026;
    std::string out_dir;
    // Only the voice_csv files (the 1M-row benchmark needs no other shape).
    bool voice_only = false;
};

// What importing one file must give: rows per final status, and customers it creates.
struct Expected {
    std::map<std::string, std::uint64_t> statuses;  // applied, duplicate, invalid, skipped
    std::uint64_t new_customers = 0;
};

// The files written (paths relative to out_dir) and what each must import as, in import order.
struct DemoResult {
    std::vector<std::pair<std::string, Expected>> files;
};

// Writes the files; throws std::runtime_error when a file cannot be written or the country is
// not one the generator knows.
DemoResult write_demo_data(const DemoOptions& options);

// The countries the generator knows (their names, phones, ids and currency).
std::vector<std::string> demo_countries();

}  // namespace crm_core::tool
