// crm-core-service's runtime: the main loop, the two database lanes, shutdown and reload.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config.hpp"

namespace crm_core::service {

// Exit codes of --once (also listed in --help and docs/operations.md).
enum ExitCode : int {
    kExitOk = 0,
    kExitFailed = 1,
    kExitUsage = 2,
    kExitNotInstalled = 3,
    kExitUnavailable = 69,  // sysexits EX_UNAVAILABLE
    kExitNotLeader = 75,    // sysexits EX_TEMPFAIL: another instance holds the leader lock
};

// Runs the daemon until SIGTERM or SIGINT; `args` and `environment` are kept for SIGHUP.
int run_service(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& environment, const Config& config);
// Runs one job once (a built-in job or a registered one, by name) and returns its exit code.
int run_once(const Config& config, const std::string& name);
// Writes a timestamped line to stderr (thread-safe).
void log_line(const std::string& line);
// Reads a whole file for the configuration loader.
std::optional<std::string> read_whole_file(const std::string& path);

}  // namespace crm_core::service
