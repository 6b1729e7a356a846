// `crm-core import`: streams legacy files into collections.import_row by COPY (constant memory),
// then drives validate_import_step and apply_import_step chunk by chunk with a progress bar,
// and prints a summary of row statuses. Run again after a stop: it continues the same batch.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace crm_core::tool {

struct ImportOptions {
    std::string source;
    std::int64_t business_id = 0;
    std::optional<std::string> entity;
    std::optional<std::string> currency;
    std::optional<std::string> country;
    bool dry_run = false;
    int load_chunk = 50000;
    int validate_chunk = 10000;
    int apply_chunk = 1000;
    std::string conninfo;
    std::vector<std::string> files;
};

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;
inline constexpr int kExitRefused = 2;
inline constexpr int kExitError = 3;
inline constexpr int kExitInterrupted = 130;

int run_import(const ImportOptions& options, std::ostream& out, std::ostream& err, bool terminal);

}  // namespace crm_core::tool
