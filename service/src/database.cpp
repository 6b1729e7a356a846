// crm-core-service's SQL (see database.hpp). Objects from other parts of crm_core may be
// missing in a given database: each is looked up with to_regclass/to_regprocedure first and
// reported as not installed rather than failing.
#include "database.hpp"

#include "service.hpp"

#include <chrono>
#include <map>
#include <sstream>

namespace crm_core::service {
namespace {

// A duration as a PostgreSQL setting value, e.g. "5000ms".
std::string milliseconds(Duration duration) {
    return std::to_string(duration.count()) + "ms";
}

// Whether a relation (to_regclass), a function by name (to_regproc: the real functions take
// defaulted arguments, so no one signature fits every version) or a signature exists.
bool exists(pqxx::transaction_base& tx, const char* lookup, const char* name) {
    return tx.exec_params1(std::string("SELECT ") + lookup + "($1) IS NOT NULL", name)[0]
        .as<bool>();
}

// Reads one part of the probe: missing when `object` does not exist (no lookup: always there),
// failed on an SQL error (the session stays usable: every statement is its own transaction). A
// broken connection propagates: the whole probe is lost, not one part.
template <typename T, typename Read>
Probed<T> probe_part(pqxx::connection& session, const char* lookup, const char* object, Read read) {
    try {
        pqxx::nontransaction tx(session);
        if (lookup != nullptr && !exists(tx, lookup, object)) {
            return Probed<T>{};
        }
        return Probed<T>::ok(read(tx));
    } catch (const pqxx::broken_connection&) {
        throw;
    } catch (const pqxx::sql_error& error) {
        std::string message = error.what();
        return Probed<T>::failed(message.substr(0, message.find('\n')));
    }
}

template <typename T>
std::optional<T> optional_field(const pqxx::field& field) {
    return field.is_null() ? std::nullopt : std::optional<T>(field.as<T>());
}

}  // namespace

std::unique_ptr<pqxx::connection> open_session(const Config& config, const char* role) {
    auto session = std::make_unique<pqxx::connection>(config.conninfo);
    // The leader lock lives and dies with this session: reconnecting behind our back would
    // let us act as leader without the lock. libpqxx 6.4 deprecates the switch but it is the
    // only way to turn reactivation off.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    session->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    pqxx::nontransaction tx(*session);
    tx.exec_params(
        "SELECT set_config('application_name', $1, false), set_config('lock_timeout', $2, false),"
        " set_config('statement_timeout', $3, false)",
        config.application_name + "/" + role, milliseconds(config.lock_timeout),
        std::string(role) == "probe" ? milliseconds(config.probe_timeout) : std::string("0"));
    return session;
}

LeaderLock leader_lock_kind(pqxx::connection& session) {
    pqxx::nontransaction tx(session);
    return exists(tx, "to_regprocedure", "crm_core.service_try_lock(bigint)")
               ? LeaderLock::crm_core
               : LeaderLock::advisory;
}

std::optional<LeaderLock> try_leader_lock(pqxx::connection& session, std::int64_t key) {
    LeaderLock lock = leader_lock_kind(session);
    pqxx::nontransaction tx(session);
    bool taken =
        tx.exec_params1(lock == LeaderLock::crm_core ? "SELECT crm_core.service_try_lock($1)"
                                                     : "SELECT pg_try_advisory_lock($1)",
                        key)[0]
            .as<bool>();
    return taken ? std::optional<LeaderLock>(lock) : std::nullopt;
}

void release_leader_lock(pqxx::connection& session, std::int64_t key, LeaderLock lock) {
    pqxx::nontransaction tx(session);
    tx.exec_params(lock == LeaderLock::crm_core ? "SELECT crm_core.service_unlock($1)"
                                                : "SELECT pg_advisory_unlock($1)",
                   key);
}

void record_leader_job(pqxx::connection& session, std::int64_t key, LeaderLock lock,
                       const char* job) {
    if (lock != LeaderLock::crm_core) {
        return;
    }
    pqxx::nontransaction tx(session);
    if (exists(tx, "to_regprocedure", "crm_core.service_leader_beat(bigint,text)")) {
        tx.exec_params("SELECT crm_core.service_leader_beat($1, $2)", key, std::string(job));
    }
}

void ping(pqxx::connection& session) {
    pqxx::nontransaction tx(session);
    tx.exec("SELECT 1");
}

void cancel_backend(const Config& config, int pid) {
    pqxx::connection helper(config.conninfo);
    pqxx::nontransaction tx(helper);
    tx.exec_params("SELECT pg_cancel_backend($1)", pid);
}

namespace {

// Counts the rows of a job's result by their second column (maintenance: action; refresh:
// status) into by_kind.
void count_kinds(const pqxx::result& rows, std::map<std::string, int>& by_kind) {
    for (const auto& row : rows) {
        ++by_kind[row[1].as<std::string>("")];
    }
}

}  // namespace

JobResult run_job(pqxx::connection& session, Job job, const Config& config) {
    static const std::map<Job, const char*> functions = {
        {Job::maintenance, "crm_core.run_maintenance"},
        {Job::refresh, "crm_core.refresh_due"},
        {Job::seal, "crm_core.seal_ledger"}};
    const char* function = functions.at(job);
    {
        pqxx::nontransaction tx(session);
        if (!exists(tx, "to_regproc", function)) {
            return JobResult{false, 0, "not installed"};
        }
    }
    std::map<std::string, int> retirements;
    if (job == Job::maintenance) {
        retirements = retire_concurrently(session, config);
    }
    pqxx::nontransaction tx(session);
    // One statement per round: the function runs in its own transaction under the session's
    // lock_timeout.
    std::size_t total_rows = 0;
    std::map<std::string, int> by_kind;
    long long blocks = 0, sealed = 0;
    int rounds = 0;
    for (bool again = true; again;) {
        pqxx::result rows = tx.exec(std::string("SELECT * FROM ") + function + "()");
        ++rounds;
        total_rows += rows.size();
        if (job == Job::seal) {
            for (const auto& row : rows) {
                blocks += row[1].as<long long>(0);
                sealed += row[2].as<long long>(0);
            }
            break;
        }
        std::map<std::string, int> round_kinds;
        count_kinds(rows, round_kinds);
        for (const auto& [kind, count] : round_kinds) {
            by_kind[kind] += count;
        }
        again = job == Job::maintenance && round_kinds.count("backlog") > 0 &&
                round_kinds.count("created") > 0 && rounds < kMaxMaintenanceRounds;
    }
    std::ostringstream summary;
    if (rounds > 1) {
        summary << rounds << " rounds, ";
    }
    summary << total_rows << (total_rows == 1 ? " row" : " rows");
    for (const auto& [action, count] : retirements) {
        summary << ", " << count << " concurrently " << action;
    }
    if (job == Job::seal) {
        summary << ": " << blocks << " blocks, " << sealed << " rows sealed";
    } else {
        const char* separator = ": ";
        for (const auto& [kind, count] : by_kind) {
            summary << separator << kind << ' ' << count;
            separator = ", ";
        }
    }
    return JobResult{true, total_rows, summary.str()};
}

std::map<std::string, int> retire_concurrently(pqxx::connection& session, const Config& config) {
    std::map<std::string, int> actions;
    pqxx::nontransaction tx(session);
    if (!exists(tx, "to_regprocedure", "crm_core.concurrent_retirements()")) {
        return actions;
    }
    pqxx::result steps = tx.exec("SELECT * FROM crm_core.concurrent_retirements()");
    auto restore_lock_timeout = [&] {
        tx.exec_params("SELECT set_config('lock_timeout', $1, false)",
                       milliseconds(config.lock_timeout));
    };
    try {
        for (const auto& step : steps) {
            tx.exec(step[0].as<std::string>());  // SET lock_timeout to the table's
            try {
                tx.exec(step[1].as<std::string>());  // DETACH PARTITION ... CONCURRENTLY
            } catch (const pqxx::broken_connection&) {
                throw;
            } catch (const pqxx::sql_error& error) {
                // finish_retirement logs it as deferred; the next run finishes or retries it.
                std::string message = error.what();
                log_line("maintenance: " + step[1].as<std::string>() + ": " +
                         message.substr(0, message.find('\n')));
            }
            for (const auto& outcome : tx.exec(step[2].as<std::string>())) {
                ++actions[outcome[1].as<std::string>("")];
            }
        }
    } catch (const pqxx::broken_connection&) {
        throw;
    } catch (const pqxx::sql_error&) {
        restore_lock_timeout();
        throw;
    }
    restore_lock_timeout();
    return actions;
}

std::optional<std::vector<RegisteredJob>> registered_jobs(pqxx::connection& session) {
    pqxx::nontransaction tx(session);
    if (!exists(tx, "to_regclass", "crm_core.jobs") ||
        !exists(tx, "to_regprocedure",
                "crm_core.run_job(text, boolean, double precision, interval, interval)")) {
        return std::nullopt;
    }
    std::vector<RegisteredJob> jobs;
    for (const auto& row :
         tx.exec("SELECT name, due FROM crm_core.jobs ORDER BY due DESC, next_due_at, name")) {
        jobs.push_back(RegisteredJob{row[0].as<std::string>(), row[1].as<bool>()});
    }
    return jobs;
}

RegisteredRun run_registered_job(pqxx::connection& session, const std::string& name,
                                 const Config& config, bool only_if_due) {
    pqxx::nontransaction tx(session);
    if (!exists(tx, "to_regprocedure",
                "crm_core.run_job(text, boolean, double precision, interval, interval)") ||
        tx.exec_params1("SELECT EXISTS (SELECT FROM crm_core.jobs WHERE name = $1)", name)[0]
                .as<bool>() == false) {
        return RegisteredRun{false, "", "no job of that name", 0};
    }
    // The job runs as the role that registered it, never as this session's (crm_core.run_job).
    auto row = tx.exec_params1(
        "SELECT result, coalesce(error, ''), consecutive_failures FROM crm_core.run_job($1, $2,"
        " $3, $4::interval, $5::interval)",
        name, only_if_due, config.jitter, milliseconds(config.backoff_initial),
        milliseconds(config.backoff_max));
    return RegisteredRun{true, row[0].as<std::string>(), row[1].as<std::string>(),
                         row[2].as<int>(0)};
}

bool holds_leader_lock(pqxx::connection& session, std::int64_t key, LeaderLock lock) {
    // pg_locks.objsubid: 1 for pg_advisory_lock(bigint), 17228 for crm_core's leader class
    // (lib/pg/lock.hpp).
    pqxx::nontransaction tx(session);
    return tx
        .exec_params1(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND"
            " granted AND pid = pg_catalog.pg_backend_pid() AND objsubid = $2 AND"
            " ((classid::bigint << 32) | objid::bigint) = $1)",
            key, lock == LeaderLock::crm_core ? 17228 : 1)[0]
        .as<bool>();
}

ProbeData probe(pqxx::connection& session, std::int64_t leader_key) {
    ProbeData data;
    data.partitions = probe_part<std::vector<PartitionRow>>(
        session, "to_regclass", "crm_core.partitioned_tables", [](pqxx::transaction_base& tx) {
            std::vector<PartitionRow> rows;
            for (const auto& row : tx.exec(
                     "SELECT parent::text, coalesce(premake, 0), coalesce(partitions_ahead, 0),"
                     " coalesce(default_rows, 0) FROM crm_core.partitioned_tables ORDER BY 1")) {
                rows.push_back(PartitionRow{row[0].as<std::string>(), row[1].as<std::int64_t>(),
                                            row[2].as<std::int64_t>(), row[3].as<std::int64_t>()});
            }
            return rows;
        });
    data.views = probe_part<std::vector<ViewRow>>(
        session, "to_regclass", "crm_core.matview_status", [](pqxx::transaction_base& tx) {
            std::vector<ViewRow> rows;
            for (const auto& row :
                 tx.exec("SELECT view::text, extract(epoch FROM refresh_every)::float8,"
                         " extract(epoch FROM staleness)::float8, coalesce(last_status, ''),"
                         " coalesce(last_error, '') FROM crm_core.matview_status ORDER BY 1")) {
                rows.push_back(ViewRow{row[0].as<std::string>(), optional_field<double>(row[1]),
                                       optional_field<double>(row[2]), row[3].as<std::string>(),
                                       row[4].as<std::string>()});
            }
            return rows;
        });
    data.unbalanced_entries = probe_part<std::int64_t>(
        session, "to_regprocedure", "crm_core.unbalanced_entries()",
        [](pqxx::transaction_base& tx) {
            return tx.exec1("SELECT count(*) FROM crm_core.unbalanced_entries()")[0]
                .as<std::int64_t>();
        });
    data.balance_mismatches = probe_part<std::int64_t>(
        session, "to_regprocedure", "crm_core.check_balances()", [](pqxx::transaction_base& tx) {
            return tx.exec1("SELECT count(*) FROM crm_core.check_balances()")[0].as<std::int64_t>();
        });
    data.position_mismatches = probe_part<std::int64_t>(
        session, "to_regprocedure", "collections.check_positions()",
        [](pqxx::transaction_base& tx) {
            return tx.exec1("SELECT count(*) FROM collections.check_positions()")[0]
                .as<std::int64_t>();
        });
    data.seal = probe_part<SealSummary>(
        session, "to_regclass", "crm_core.seal_status", [](pqxx::transaction_base& tx) {
            auto row = tx.exec1(
                "SELECT coalesce(sum(unsealed_rows), 0)::bigint,"
                " extract(epoch FROM now() - min(oldest_unsealed_at))::float8"
                " FROM crm_core.seal_status");
            return SealSummary{row[0].as<std::int64_t>(), optional_field<double>(row[1])};
        });
    data.leader = probe_part<
        LeaderInfo>(session, nullptr, nullptr, [leader_key](pqxx::transaction_base& tx) {
        LeaderInfo leader;
        if (exists(tx, "to_regprocedure", "crm_core.service_leader(bigint)")) {
            auto row = tx.exec_params1(
                "SELECT pid, format('pid %s, role %s, application %s', pid, role,"
                " application_name), coalesce(last_job, ''),"
                " extract(epoch FROM now() - last_job_at)::float8"
                " FROM crm_core.service_leader($1)",
                leader_key);
            leader.held = !row[0].is_null();
            leader.holder = leader.held ? row[1].as<std::string>() : "";
            leader.heartbeat_installed = true;
            leader.last_job = row[2].as<std::string>();
            leader.last_job_age_seconds = optional_field<double>(row[3]);
            return leader;
        }
        leader.held =
            tx.exec_params1(
                  "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                  " AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1"
                  " AND database = (SELECT oid FROM pg_database"
                  " WHERE datname = current_database()))",
                  leader_key)[0]
                .as<bool>();
        return leader;
    });
    data.prepared = probe_part<std::vector<PreparedRow>>(
        session, "to_regprocedure", "crm_core.prepared_ledger_transactions()",
        [](pqxx::transaction_base& tx) {
            std::vector<PreparedRow> rows;
            for (const auto& row :
                 tx.exec("SELECT gid, owner::text, extract(epoch FROM now() - prepared_at)::float8,"
                         " ruled_accounts::text FROM crm_core.prepared_ledger_transactions()")) {
                rows.push_back(PreparedRow{row[0].as<std::string>(), row[1].as<std::string>(),
                                           row[2].as<double>(), row[3].as<std::string>()});
            }
            return rows;
        });
    data.taken = true;
    data.taken_at_unix = unix_now();
    return data;
}

}  // namespace crm_core::service
