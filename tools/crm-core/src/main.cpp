// crm-core: the command-line tools of crm_core.
//   crm-core import --source SOURCE --business ID [options] FILE...
//   crm-core demo-data --customers N --out DIR [--country FR|IN] [--seed S] [--voice-only]
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "collections/import_mapping.hpp"
#include "demo_data.hpp"
#include "import_command.hpp"

namespace {

using namespace crm_core::tool;

const char* kUsage =
    "usage:\n"
    "  crm-core import --source SOURCE --business ID [--entity NAME] [--currency CUR] [--country "
    "CC]\n"
    "                  [--dry-run] [--dsn CONNINFO] [--load-chunk N] [--validate-chunk N] "
    "[--apply-chunk N]\n"
    "                  FILE...\n"
    "      Imports legacy files into crm_collections (see docs/migration.md). SOURCE is "
    "voice_csv,\n"
    "      debt_accounts_json, recouvrement or erp_ledger; a source with several entities takes "
    "its\n"
    "      files in any order (named after their entity: clients.csv, invoices.csv ...). The\n"
    "      connection comes from --dsn or the PG* environment variables. Run the same command\n"
    "      again after an interruption: it continues the same batch.\n"
    "      Exit: 0 imported (rows may be invalid: see the summary), 1 usage, 2 file refused,\n"
    "      3 database error, 130 interrupted.\n"
    "  crm-core demo-data --customers N --out DIR [--country FR|IN] [--seed S] [--voice-only]\n"
    "      Writes a collection agency's legacy files in the four shapes, with their mess, and\n"
    "      DIR/expected.tsv: what importing each file gives.\n";

bool parse_number(const std::string& text, long long& value) {
    char* end = nullptr;
    value = std::strtoll(text.c_str(), &end, 10);
    return !text.empty() && end != nullptr && *end == '\0';
}

int usage_error(const std::string& message) {
    std::cerr << "crm-core: " << message << "\n" << kUsage;
    return kExitUsage;
}

int import_main(const std::vector<std::string>& args) {
    ImportOptions options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&](std::string& into) {
            if (i + 1 >= args.size()) {
                return false;
            }
            into = args[++i];
            return true;
        };
        auto number = [&](long long& into) {
            std::string text;
            return value(text) && parse_number(text, into);
        };
        std::string text;
        long long n = 0;
        if (arg == "--source") {
            if (!value(options.source))
                return usage_error("--source needs a value");
        } else if (arg == "--business") {
            if (!number(n) || n <= 0)
                return usage_error("--business needs a business id");
            options.business_id = n;
        } else if (arg == "--entity") {
            if (!value(text))
                return usage_error("--entity needs a value");
            options.entity = text;
        } else if (arg == "--currency") {
            if (!value(text))
                return usage_error("--currency needs a value");
            options.currency = text;
        } else if (arg == "--country") {
            if (!value(text))
                return usage_error("--country needs a value");
            options.country = text;
        } else if (arg == "--dsn") {
            if (!value(options.conninfo))
                return usage_error("--dsn needs a connection string");
        } else if (arg == "--dry-run") {
            options.dry_run = true;
        } else if (arg == "--load-chunk" || arg == "--validate-chunk" || arg == "--apply-chunk") {
            if (!number(n) || n < 1 || n > 1000000)
                return usage_error(arg + " needs a number from 1 to 1000000");
            (arg == "--load-chunk"       ? options.load_chunk
             : arg == "--validate-chunk" ? options.validate_chunk
                                         : options.apply_chunk) = static_cast<int>(n);
        } else if (!arg.empty() && arg[0] == '-') {
            return usage_error("unknown option " + arg);
        } else {
            options.files.push_back(arg);
        }
    }
    if (options.source.empty() || options.business_id == 0 || options.files.empty()) {
        return usage_error("import needs --source, --business and at least one FILE");
    }
    return run_import(options, std::cout, std::cerr, isatty(STDERR_FILENO) == 1);
}

int demo_main(const std::vector<std::string>& args) {
    DemoOptions options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        long long n = 0;
        bool has_value = i + 1 < args.size();
        if (arg == "--customers" && has_value && parse_number(args[i + 1], n) && n > 0) {
            options.customers = static_cast<std::uint64_t>(n);
            ++i;
        } else if (arg == "--seed" && has_value && parse_number(args[i + 1], n) && n >= 0) {
            options.seed = static_cast<std::uint64_t>(n);
            ++i;
        } else if (arg == "--out" && has_value) {
            options.out_dir = args[++i];
        } else if (arg == "--country" && has_value) {
            options.country = args[++i];
        } else if (arg == "--voice-only") {
            options.voice_only = true;
        } else {
            return usage_error("demo-data: bad or incomplete option " + arg);
        }
    }
    if (options.out_dir.empty()) {
        return usage_error("demo-data needs --out DIR");
    }
    try {
        DemoResult result = write_demo_data(options);
        for (const auto& [path, expected] : result.files) {
            std::uint64_t rows = 0;
            for (const auto& [status, count] : expected.statuses) {
                rows += count;
            }
            std::cout << options.out_dir << "/" << path << "  (" << rows << " rows)\n";
        }
        std::cout << options.out_dir << "/expected.tsv\n";
    } catch (const std::exception& error) {
        std::cerr << "crm-core demo-data: " << error.what() << "\n";
        return kExitError;
    }
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << kUsage;
        return args.empty() ? kExitUsage : kExitOk;
    }
    std::string command = args[0];
    args.erase(args.begin());
    if (command == "import") {
        return import_main(args);
    }
    if (command == "demo-data") {
        return demo_main(args);
    }
    return usage_error("unknown command " + command);
}
