// crm-core-service: entry point. Parses the configuration and runs the daemon or one job.
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "config.hpp"
#include "crm_core/version.hpp"
#include "service.hpp"

extern char** environ;

namespace {

// The CRM_CORE_* variables (the loader ignores the rest).
std::map<std::string, std::string> service_environment() {
    std::map<std::string, std::string> variables;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string text(*entry);
        auto equals = text.find('=');
        if (text.rfind("CRM_CORE_", 0) == 0 && equals != std::string::npos) {
            variables[text.substr(0, equals)] = text.substr(equals + 1);
        }
    }
    return variables;
}

}  // namespace

// Exit codes: see crm_core::service::ExitCode.
int main(int argc, char** argv) {
    using namespace crm_core::service;
    std::vector<std::string> args(argv + 1, argv + argc);
    std::map<std::string, std::string> environment = service_environment();
    Invocation invocation;
    try {
        invocation = load_invocation(args, environment, read_whole_file);
    } catch (const ConfigError& error) {
        std::cerr << "crm-core-service: " << error.what() << '\n';
        return kExitUsage;
    }
    if (invocation.help) {
        std::cout << help_text();
        return kExitOk;
    }
    if (invocation.version) {
        std::cout << "crm-core-service " << crm_core::kVersion << '\n';
        return kExitOk;
    }
    // A dead server connection must surface as an error, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    // Bound how long a connection attempt may hang unless the operator chose otherwise.
    setenv("PGCONNECT_TIMEOUT", "10", 0);
    if (invocation.once) {
        return run_once(invocation.config, *invocation.once);
    }
    try {
        return run_service(args, environment, invocation.config);
    } catch (const std::exception& error) {
        log_line(std::string("fatal: ") + error.what());
        return kExitFailed;
    }
}
