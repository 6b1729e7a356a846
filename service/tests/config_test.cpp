// Configuration: precedence, validation, durations and password redaction.
#include <boost/test/unit_test.hpp>

#include "config.hpp"

#include <libpq-fe.h>

using namespace crm_core::service;
using namespace std::chrono_literals;

namespace {

// A file reader over an in-memory map of files.
FileReader files(std::map<std::string, std::string> contents) {
    return [contents](const std::string& path) -> std::optional<std::string> {
        auto it = contents.find(path);
        return it == contents.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

Invocation load(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                std::map<std::string, std::string> contents = {}) {
    return load_invocation(args, env, files(contents));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_listen_on_loopback) {
    Config config = load({}).config;
    BOOST_TEST(config.listen_address == "127.0.0.1");
    BOOST_TEST(config.conninfo.empty());
    BOOST_TEST(config.interval_of(Job::refresh).count() == Duration(60s).count());
}

BOOST_AUTO_TEST_CASE(flags_beat_environment_beat_file) {
    std::map<std::string, std::string> env = {{"CRM_CORE_CONFIG", "/etc/crm.conf"},
                                              {"CRM_CORE_LOCK_TIMEOUT", "2s"},
                                              {"CRM_CORE_SEAL_INTERVAL", "7m"}};
    std::map<std::string, std::string> contents = {
        {"/etc/crm.conf", "# comment\nlock-timeout = 9s\nseal-interval=3m\nport = 9000\n"}};
    Invocation invocation = load({"--seal-interval", "45s", "--jitter=0.2"}, env, contents);
    BOOST_TEST(invocation.config.port == 9000);                             // file
    BOOST_TEST(invocation.config.lock_timeout.count() == 2000);             // env beats file
    BOOST_TEST(invocation.config.interval_of(Job::seal).count() == 45000);  // flag beats env
    BOOST_TEST(invocation.config.jitter == 0.2);
    BOOST_TEST(invocation.config.config_file == "/etc/crm.conf");
}

BOOST_AUTO_TEST_CASE(once_help_version) {
    Invocation invocation = load({"--once", "seal", "--help", "--version"});
    BOOST_TEST((invocation.once == std::string("seal")));
    BOOST_TEST(invocation.help);
    BOOST_TEST(invocation.version);
    // Any other name may be a registered job: the database says whether it is.
    BOOST_TEST((load({"--once", "collections.daily"}).once == std::string("collections.daily")));
    BOOST_CHECK_THROW(load({"--once", ""}), ConfigError);
    BOOST_CHECK_THROW(load({"--once", std::string(64, 'x')}), ConfigError);
    BOOST_CHECK_THROW(load({"--once"}), ConfigError);
}

BOOST_AUTO_TEST_CASE(rejects_bad_values_with_the_setting_named) {
    BOOST_CHECK_THROW(load({"--port", "70000"}), ConfigError);
    BOOST_CHECK_THROW(load({"--listen", "localhost"}), ConfigError);
    BOOST_TEST(load({"--listen", "::1"}).config.listen_address == "::1");
    BOOST_CHECK_THROW(load({"--jitter", "0.9"}), ConfigError);
    BOOST_CHECK_THROW(load({"--refresh-interval", "0s"}), ConfigError);
    BOOST_CHECK_THROW(load({"--frobnicate", "1"}), ConfigError);
    BOOST_CHECK_THROW(load({"positional"}), ConfigError);
    BOOST_CHECK_THROW(load({"--backoff-initial", "10m", "--backoff-max", "1m"}), ConfigError);
    try {
        load({}, {{"CRM_CORE_TICK", "soon"}});
        BOOST_FAIL("expected a ConfigError");
    } catch (const ConfigError& error) {
        BOOST_TEST(std::string(error.what()).find("CRM_CORE_TICK") != std::string::npos);
    }
    try {
        load({"--config", "/c"}, {}, {{"/c", "lock-timeout = 1s\nnot a setting\n"}});
        BOOST_FAIL("expected a ConfigError");
    } catch (const ConfigError& error) {
        BOOST_TEST(std::string(error.what()).find("/c:2") != std::string::npos);
    }
    BOOST_CHECK_THROW(load({"--config", "/missing"}), ConfigError);
}

BOOST_AUTO_TEST_CASE(durations) {
    BOOST_TEST(parse_duration("250ms")->count() == 250);
    BOOST_TEST(parse_duration("30")->count() == 30000);
    BOOST_TEST(parse_duration("5m")->count() == 300000);
    BOOST_TEST(parse_duration("2h")->count() == 7200000);
    BOOST_TEST(parse_duration("1d")->count() == 86400000);
    BOOST_TEST(!parse_duration(""));
    BOOST_TEST(!parse_duration("-1s"));
    BOOST_TEST(!parse_duration("5 minutes"));
    BOOST_TEST(!parse_duration("99999999999s"));
    BOOST_TEST(format_duration(Duration(90000)) == "90s");
    BOOST_TEST(format_duration(Duration(3600000)) == "1h");
    BOOST_TEST(format_duration(Duration(1500)) == "1500ms");
}

BOOST_AUTO_TEST_CASE(passwords_never_reach_the_log) {
    BOOST_TEST(redact_conninfo("host=db password=s3cret user=crm") ==
               "host=db password=******** user=crm");
    BOOST_TEST(redact_conninfo("password = 'it\\'s secret' dbname=x") ==
               "password = ******** dbname=x");
    BOOST_TEST(redact_conninfo("postgresql://crm:s3cret@db:5432/crm_core") ==
               "postgresql://crm:********@db:5432/crm_core");
    BOOST_TEST(redact_conninfo("postgres://db/crm?user=a&Password=s3cret&sslmode=require") ==
               "postgres://db/crm?user=a&Password=********&sslmode=require");
    BOOST_TEST(redact_conninfo("postgresql://crm@db/x") == "postgresql://crm@db/x");
    Config config;
    config.conninfo = "host=db password=s3cret";
    BOOST_TEST(describe(config).find("s3cret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_secret_keyword_is_masked) {
    BOOST_TEST(redact_conninfo("host=db sslkey=/k.pem sslpassword=k3y-pass sslmode=verify-full") ==
               "host=db sslkey=/k.pem sslpassword=******** sslmode=verify-full");
    BOOST_TEST(redact_conninfo("sslpassword = 'a b' password=x application_name=password") ==
               "sslpassword = ******** password=******** application_name=password");
    BOOST_TEST(redact_conninfo("postgresql://u:p%40ss@h1,h2:5433/db?sslpassword=k3y&"
                               "application_name=sslpassword&oauth_client_secret=z") ==
               "postgresql://u:********@h1,h2:5433/db?sslpassword=********&"
               "application_name=sslpassword&oauth_client_secret=********");
    BOOST_TEST(redact_conninfo("postgresql:///db?host=/tmp&password=x") ==
               "postgresql:///db?host=/tmp&password=********");
}

BOOST_AUTO_TEST_CASE(masks_what_libpq_itself_hides) {
    // libpq marks the keywords it never displays with dispchar "*".
    PQconninfoOption* defaults = PQconndefaults();
    BOOST_REQUIRE(defaults != nullptr);
    int secrets = 0;
    for (PQconninfoOption* option = defaults; option->keyword != nullptr; ++option) {
        bool hidden = option->dispchar != nullptr && std::string(option->dispchar) == "*";
        BOOST_TEST(is_secret_keyword(option->keyword) == hidden, option->keyword);
        secrets += hidden ? 1 : 0;
    }
    PQconninfoFree(defaults);
    BOOST_TEST(secrets >= 2);  // password, sslpassword
}

BOOST_AUTO_TEST_SUITE_END()
