// Configuration parsing for crm-core-service. One table of options serves the config file,
// the environment (CRM_CORE_<NAME>) and the flags (--name), so the three never drift apart.
#include "config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

namespace crm_core::service {
namespace {

struct Option {
    const char* name;     // flag and config-file key; the environment name is derived
    const char* metavar;  // what the value looks like
    const char* help;
    std::function<void(Config&, const std::string&)> apply;  // throws ConfigError
};

[[noreturn]] void invalid(const std::string& name, const std::string& value,
                          const std::string& expected) {
    throw ConfigError("invalid value '" + value + "' for " + name + ": expected " + expected);
}

// A setter for a duration field that must be positive.
std::function<void(Config&, const std::string&)> duration_setter(const char* name,
                                                                 Duration Config::*field) {
    return [name, field](Config& config, const std::string& value) {
        auto duration = parse_duration(value);
        if (!duration || duration->count() <= 0) {
            invalid(name, value, "a positive duration such as 250ms, 30s, 5m, 2h");
        }
        config.*field = *duration;
    };
}

// A setter for one job's interval.
std::function<void(Config&, const std::string&)> interval_setter(const char* name, Job job) {
    return [name, job](Config& config, const std::string& value) {
        auto duration = parse_duration(value);
        if (!duration || duration->count() <= 0) {
            invalid(name, value, "a positive duration such as 30s, 5m, 1h");
        }
        config.interval[static_cast<std::size_t>(job)] = *duration;
    };
}

// Parses a whole string as an integer in [low, high].
template <typename Integer>
std::optional<Integer> parse_integer(const std::string& text, Integer low, Integer high) {
    Integer value{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < low || value > high) {
        return std::nullopt;
    }
    return value;
}

// Parses a whole string as a finite number in [low, high].
std::optional<double> parse_number(const std::string& text, double low, double high) {
    std::istringstream stream(text);
    double value = 0;
    stream >> value;
    if (!stream || !stream.eof() || !std::isfinite(value) || value < low || value > high) {
        return std::nullopt;
    }
    return value;
}

// A setter for an integer field that must lie in [low, high].
template <typename Integer>
std::function<void(Config&, const std::string&)> integer_setter(const char* name, Integer low,
                                                                Integer high,
                                                                Integer Config::*field) {
    return [=](Config& config, const std::string& value) {
        auto number = parse_integer<Integer>(value, low, high);
        if (!number) {
            invalid(name, value,
                    "an integer from " + std::to_string(low) + " to " + std::to_string(high));
        }
        config.*field = *number;
    };
}

// A setter for a real-number field that must lie in [low, high].
std::function<void(Config&, const std::string&)> number_setter(const char* name, double low,
                                                               double high, double Config::*field) {
    return [=](Config& config, const std::string& value) {
        auto number = parse_number(value, low, high);
        if (!number) {
            std::ostringstream expected;
            expected << "a number from " << low << " to " << high;
            invalid(name, value, expected.str());
        }
        config.*field = *number;
    };
}

// Every setting, in --help order.
const std::vector<Option>& options() {
    static const std::vector<Option> table = {
        {"dsn", "CONNINFO",
         "libpq conninfo or URI; empty: the PG* environment variables (PGHOST, PGDATABASE ...)",
         [](Config& c, const std::string& v) { c.conninfo = v; }},
        {"application-name", "NAME", "application_name of the service's sessions",
         [](Config& c, const std::string& v) {
             if (v.empty() || v.size() > 63) {
                 invalid("application-name", v, "1 to 63 characters");
             }
             c.application_name = v;
         }},
        {"listen", "ADDRESS", "HTTP listen address (restart to change)",
         [](Config& c, const std::string& v) {
             in6_addr address{};
             if (inet_pton(AF_INET, v.c_str(), &address) != 1 &&
                 inet_pton(AF_INET6, v.c_str(), &address) != 1) {
                 invalid("listen", v, "an IP address such as 127.0.0.1 or ::1");
             }
             c.listen_address = v;
         }},
        {"port", "PORT", "HTTP port, 0 picks a free one (restart to change)",
         integer_setter<std::uint16_t>("port", 0, 65535, &Config::port)},
        {"maintenance-interval", "DURATION", "how often partition maintenance runs",
         interval_setter("maintenance-interval", Job::maintenance)},
        {"refresh-interval", "DURATION", "how often due materialized views are refreshed",
         interval_setter("refresh-interval", Job::refresh)},
        {"seal-interval", "DURATION", "how often the ledger is sealed",
         interval_setter("seal-interval", Job::seal)},
        {"health-interval", "DURATION", "how often the health probe queries the database",
         interval_setter("health-interval", Job::health)},
        {"jitter", "FRACTION", "random spread of intervals and backoffs, 0 to 0.5",
         number_setter("jitter", 0.0, 0.5, &Config::jitter)},
        {"lock-timeout", "DURATION", "lock_timeout of maintenance statements",
         duration_setter("lock-timeout", &Config::lock_timeout)},
        {"probe-timeout", "DURATION", "statement_timeout of health queries",
         duration_setter("probe-timeout", &Config::probe_timeout)},
        {"backoff-initial", "DURATION", "first retry delay after a failure",
         duration_setter("backoff-initial", &Config::backoff_initial)},
        {"backoff-max", "DURATION", "longest retry delay",
         duration_setter("backoff-max", &Config::backoff_max)},
        {"tick", "DURATION", "main-loop period: leadership checks and takeover happen per tick",
         duration_setter("tick", &Config::tick)},
        {"shutdown-timeout", "DURATION",
         "on SIGTERM, how long the job in hand may run before it is cancelled",
         duration_setter("shutdown-timeout", &Config::shutdown_timeout)},
        {"read-timeout", "DURATION", "time an HTTP client has to send a whole request",
         duration_setter("read-timeout", &Config::read_timeout)},
        {"liveness-timeout", "DURATION", "/livez fails when the main loop is silent this long",
         duration_setter("liveness-timeout", &Config::liveness_timeout)},
        {"max-connections", "N", "concurrent HTTP connections; more are closed at once",
         integer_setter<std::size_t>("max-connections", 1, 10000, &Config::max_connections)},
        {"staleness-factor", "FACTOR",
         "a view warns when its staleness exceeds this many refresh intervals",
         number_setter("staleness-factor", 1.0, 1000.0, &Config::staleness_factor)},
        {"seal-lag-warn", "DURATION", "health warns when unsealed rows are older than this",
         duration_setter("seal-lag-warn", &Config::seal_lag_warn)},
        {"failures-warn", "N", "consecutive failures of a job that make health warn",
         integer_setter<int>("failures-warn", 1, 1000, &Config::failures_warn)},
        {"leader-stale", "DURATION",
         "health fails when no leader has run a job for this long (any instance sees it)",
         duration_setter("leader-stale", &Config::leader_stale)},
        {"prepared-warn", "DURATION",
         "health warns when a prepared transaction has held ledger postings this long",
         duration_setter("prepared-warn", &Config::prepared_warn)},
        {"lock-key", "BIGINT", "advisory lock key that elects the leader",
         integer_setter<std::int64_t>("lock-key", std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max(), &Config::lock_key)},
    };
    return table;
}

// The option called `name`, or null.
const Option* find_option(std::string_view name) {
    for (const auto& option : options()) {
        if (name == option.name) {
            return &option;
        }
    }
    return nullptr;
}

// CRM_CORE_LOCK_TIMEOUT for lock-timeout.
std::string environment_name(const char* option) {
    std::string name = "CRM_CORE_";
    for (const char* p = option; *p != '\0'; ++p) {
        name += *p == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
    }
    return name;
}

// The text without leading and trailing blanks.
std::string trim(std::string_view text) {
    auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) {
        return {};
    }
    auto last = text.find_last_not_of(" \t\r");
    return std::string(text.substr(first, last - first + 1));
}

// Applies "key = value" lines; '#' starts a comment line.
void apply_file(Config& config, const std::string& path, const std::string& text) {
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        std::string content = trim(line);
        if (content.empty() || content[0] == '#') {
            continue;
        }
        auto equals = content.find('=');
        std::string where = path + ":" + std::to_string(number);
        if (equals == std::string::npos) {
            throw ConfigError(where + ": expected 'name = value'");
        }
        std::string key = trim(std::string_view(content).substr(0, equals));
        const Option* option = find_option(key);
        if (option == nullptr) {
            throw ConfigError(where + ": unknown setting '" + key + "' (see --help)");
        }
        try {
            option->apply(config, trim(std::string_view(content).substr(equals + 1)));
        } catch (const ConfigError& error) {
            throw ConfigError(where + ": " + error.what());
        }
    }
}

}  // namespace

const char* job_name(Job job) {
    switch (job) {
        case Job::maintenance:
            return "maintenance";
        case Job::refresh:
            return "refresh";
        case Job::seal:
            return "seal";
        case Job::health:
            return "health";
    }
    return "unknown";
}

std::optional<Job> job_from_name(std::string_view name) {
    for (Job job : kAllJobs) {
        if (name == job_name(job)) {
            return job;
        }
    }
    return std::nullopt;
}

std::optional<Duration> parse_duration(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        ++digits;
    }
    if (digits == 0 || digits > 9) {
        return std::nullopt;
    }
    long long amount = std::stoll(std::string(text.substr(0, digits)));
    std::string_view unit = text.substr(digits);
    if (unit == "ms") {
        return Duration(amount);
    }
    static const std::pair<std::string_view, long long> units[] = {
        {"", 1000}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
    for (const auto& [name, milliseconds] : units) {
        if (unit == name) {
            return Duration(amount * milliseconds);
        }
    }
    return std::nullopt;
}

std::string format_duration(Duration duration) {
    long long ms = duration.count();
    static const std::pair<long long, const char*> units[] = {
        {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
    for (const auto& [size, name] : units) {
        if (ms != 0 && ms % size == 0) {
            return std::to_string(ms / size) + name;
        }
    }
    return std::to_string(ms) + "ms";
}

bool is_secret_keyword(std::string_view keyword) {
    static constexpr std::string_view kSecrets[] = {"password", "sslpassword",
                                                    "oauth_client_secret"};
    std::string lower(keyword);  // libpq wants lower case; mask a misspelt one all the same
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return std::find(std::begin(kSecrets), std::end(kSecrets), lower) != std::end(kSecrets);
}

std::string redact_conninfo(std::string_view conninfo) {
    constexpr std::string_view kMask = "********";
    std::string text(conninfo);
    // URI form: postgresql://user:password@host,host2/db?keyword=value&...
    auto scheme = text.find("://");
    if (scheme != std::string::npos) {
        auto start = scheme + 3;
        auto authority_end = std::min(text.find_first_of("/?", start), text.size());
        auto at = text.rfind('@', authority_end);
        if (at != std::string::npos && at >= start) {
            auto colon = text.find(':', start);
            if (colon != std::string::npos && colon < at) {
                text.replace(colon + 1, at - colon - 1, kMask);
            }
        }
        auto query = text.find('?', start);
        if (query == std::string::npos) {
            return text;
        }
        std::string result = text.substr(0, query + 1);
        std::size_t pos = query + 1;
        while (pos <= text.size()) {
            auto end = std::min(text.find('&', pos), text.size());
            std::string_view parameter = std::string_view(text).substr(pos, end - pos);
            auto equals = parameter.find('=');
            if (equals != std::string_view::npos &&
                is_secret_keyword(parameter.substr(0, equals))) {
                result.append(parameter.substr(0, equals + 1)).append(kMask);
            } else {
                result.append(parameter);
            }
            if (end < text.size()) {
                result.push_back('&');
            }
            pos = end + 1;
        }
        return result;
    }
    // Key/value form: keyword = 'quoted \' value' or keyword=bare
    std::string result;
    std::size_t i = 0;
    while (i < text.size()) {
        auto key_start = text.find_first_not_of(" \t\n", i);
        if (key_start == std::string::npos) {
            break;
        }
        result.append(text, i, key_start - i);
        auto equals = text.find('=', key_start);
        if (equals == std::string::npos) {
            result.append(text, key_start, std::string::npos);
            break;
        }
        std::string key = trim(std::string_view(text).substr(key_start, equals - key_start));
        auto value_start = text.find_first_not_of(" \t\n", equals + 1);
        if (value_start == std::string::npos) {
            result.append(text, key_start, std::string::npos);
            break;
        }
        std::size_t value_end = value_start;
        if (text[value_start] == '\'') {
            value_end = value_start + 1;
            while (value_end < text.size() && text[value_end] != '\'') {
                value_end += text[value_end] == '\\' ? 2 : 1;
            }
            value_end = std::min(value_end + 1, text.size());
        } else {
            while (value_end < text.size() &&
                   !std::isspace(static_cast<unsigned char>(text[value_end]))) {
                value_end += text[value_end] == '\\' ? 2 : 1;
            }
            value_end = std::min(value_end, text.size());
        }
        result.append(text, key_start, value_start - key_start);
        if (is_secret_keyword(key)) {
            result += kMask;
        } else {
            result.append(text, value_start, value_end - value_start);
        }
        i = value_end;
    }
    return result;
}

std::string describe(const Config& config) {
    std::ostringstream line;
    line << "dsn='" << redact_conninfo(config.conninfo) << "' listen=" << config.listen_address
         << ':' << config.port;
    for (Job job : kAllJobs) {
        line << ' ' << job_name(job) << "-interval=" << format_duration(config.interval_of(job));
    }
    line << " jitter=" << config.jitter << " lock-timeout=" << format_duration(config.lock_timeout)
         << " tick=" << format_duration(config.tick) << " lock-key=" << config.lock_key;
    return line.str();
}

std::string help_text() {
    std::ostringstream text;
    text << "Usage: crm-core-service [OPTION...]\n"
            "Schedules crm_core maintenance (partitions, materialized views, ledger sealing) and\n"
            "the jobs registered with crm_core.schedule_job() on one elected leader, and serves\n"
            "/livez, /readyz, /healthz and /metrics over HTTP.\n"
            "\n"
            "  --help                 this text\n"
            "  --version              print the version\n"
            "  --once JOB             run one job (maintenance, refresh, seal, health, or a job\n"
            "                         registered with crm_core.schedule_job) and exit:\n"
            "                         0 done (health: pass or warn), 1 failed (health: fail),\n"
            "                         2 bad usage, 3 not installed or no such job,\n"
            "                         69 database unavailable, 75 another instance leads (or\n"
            "                         another session runs that job)\n"
            "  --config FILE          'name = value' lines, re-read on SIGHUP\n";
    for (const auto& option : options()) {
        std::string flag = std::string("--") + option.name + " " + option.metavar;
        // Help in a column; a flag too long for it gets its own line.
        text << "  " << flag
             << (flag.size() < 23 ? std::string(23 - flag.size(), ' ')
                                  : "\n" + std::string(25, ' '))
             << option.help << '\n';
    }
    text << "\nEvery option can also be set in the environment as CRM_CORE_<NAME> (e.g.\n"
            "CRM_CORE_LOCK_TIMEOUT=3s) or in the config file. Precedence: flags, environment,\n"
            "config file, defaults. The password is never logged.\n";
    return text.str();
}

Invocation load_invocation(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& environment,
                           const FileReader& read_file) {
    Invocation invocation;
    std::vector<std::pair<const Option*, std::string>> flags;
    std::string config_file;
    if (auto it = environment.find("CRM_CORE_CONFIG"); it != environment.end()) {
        config_file = it->second;
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (arg == "--help" || arg == "-h") {
            invocation.help = true;
            continue;
        }
        if (arg == "--version") {
            invocation.version = true;
            continue;
        }
        if (arg.rfind("--", 0) != 0) {
            throw ConfigError("unexpected argument '" + arg + "' (see --help)");
        }
        std::string name = arg.substr(2);
        std::optional<std::string> value;
        if (auto equals = name.find('='); equals != std::string::npos) {
            value = name.substr(equals + 1);
            name.resize(equals);
        }
        const Option* option = find_option(name);
        if (option == nullptr && name != "once" && name != "config") {
            throw ConfigError("unknown option '--" + name + "' (see --help)");
        }
        if (!value) {
            if (i + 1 >= args.size()) {
                throw ConfigError("option '--" + name + "' needs a value");
            }
            value = args[++i];
        }
        if (name == "once") {
            // A registered job's name is checked by the database (crm_core.run_job).
            if (value->empty() || value->size() > 63) {
                throw ConfigError("invalid job name '" + *value +
                                  "' for --once: expected maintenance, refresh, seal, health or "
                                  "the name of a job registered with crm_core.schedule_job()");
            }
            invocation.once = *value;
        } else if (name == "config") {
            config_file = *value;
        } else {
            flags.emplace_back(option, *value);
        }
    }
    Config& config = invocation.config;
    config.config_file = config_file;
    if (!config_file.empty()) {
        auto text = read_file(config_file);
        if (!text) {
            throw ConfigError("cannot read config file '" + config_file + "'");
        }
        apply_file(config, config_file, *text);
    }
    for (const auto& option : options()) {
        if (auto it = environment.find(environment_name(option.name)); it != environment.end()) {
            try {
                option.apply(config, it->second);
            } catch (const ConfigError& error) {
                throw ConfigError(it->first + ": " + error.what());
            }
        }
    }
    for (const auto& [option, value] : flags) {
        option->apply(config, value);
    }
    Duration shortest_leader_job =
        std::min({config.interval_of(Job::maintenance), config.interval_of(Job::refresh),
                  config.interval_of(Job::seal)});
    if (config.leader_stale <= shortest_leader_job) {
        throw ConfigError("leader-stale (" + format_duration(config.leader_stale) +
                          ") must be longer than the shortest job interval (" +
                          format_duration(shortest_leader_job) +
                          "): the leader runs a job at least that often");
    }
    if (config.backoff_max < config.backoff_initial) {
        throw ConfigError("backoff-max (" + format_duration(config.backoff_max) +
                          ") must not be shorter than backoff-initial (" +
                          format_duration(config.backoff_initial) + ")");
    }
    return invocation;
}

}  // namespace crm_core::service
