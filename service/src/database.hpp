// crm-core-service's SQL: sessions without reactivation, the leader lock, the jobs and the
// health probe. The only file that talks libpqxx.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "config.hpp"
#include "health.hpp"

namespace crm_core::service {

// A session that never silently reconnects: a broken connection throws
// pqxx::broken_connection, and whatever the session held (the leader lock) is known lost.
std::unique_ptr<pqxx::connection> open_session(const Config& config, const char* role);

// The lock that elects the leader: crm_core's own (crm_core.service_try_lock: a lock class that
// pg_advisory_lock cannot reach, granted to crm_core_service only) where crm_core is installed,
// else a plain session advisory lock.
enum class LeaderLock { crm_core, advisory };

// The kind of leader lock this database uses now.
LeaderLock leader_lock_kind(pqxx::connection& session);
// Tries to take the leader lock without waiting; the kind taken, or nullopt when another
// session holds it.
std::optional<LeaderLock> try_leader_lock(pqxx::connection& session, std::int64_t key);
// Releases the leader lock held by this session.
void release_leader_lock(pqxx::connection& session, std::int64_t key, LeaderLock lock);
// Tells every instance, through the database, that this session (holding the leader lock) just
// ran `job` (crm_core.service_leader_beat; nothing in a database without crm_core).
void record_leader_job(pqxx::connection& session, std::int64_t key, LeaderLock lock,
                       const char* job);
// A round trip that proves the session and its server are alive.
void ping(pqxx::connection& session);
// Cancels the statement that backend `pid` runs, from a short-lived connection of its own.
void cancel_backend(const Config& config, int pid);

struct JobResult {
    bool installed = true;  // false: the job's SQL function is not in this database
    std::size_t rows = 0;
    std::string summary;  // e.g. "2 rows: created 1, retired 1"
};

// Most rounds one maintenance job runs while partitions are left over (backlog).
constexpr int kMaxMaintenanceRounds = 100;

// Runs one maintenance job's SQL function (not health), each call in its own transaction;
// maintenance first retires partitions concurrently (retire_concurrently), then runs again
// while it reports a backlog and still makes progress (each round creates a bounded number of
// partitions and commits, so a long backlog never holds the locks of hundreds of new tables).
JobResult run_job(pqxx::connection& session, Job job, const Config& config);

// Runs the statements of crm_core.concurrent_retirements() (DETACH PARTITION ... CONCURRENTLY,
// then crm_core.finish_retirement) each as a top-level statement, which no function can do;
// restores the session's lock_timeout. Counts per action ("retired 2, deferred 1"); a failed
// detach is logged by finish_retirement as deferred and retried at the next run.
std::map<std::string, int> retire_concurrently(pqxx::connection& session, const Config& config);

// A job registered with crm_core.schedule_job(), as crm_core.jobs lists it.
struct RegisteredJob {
    std::string name;
    bool due = false;
};
// The registered jobs, due ones first in the order they fell due; nullopt when crm_core.jobs is
// not installed in this database.
std::optional<std::vector<RegisteredJob>> registered_jobs(pqxx::connection& session);

// How one run of a registered job ended (crm_core.run_job).
struct RegisteredRun {
    bool scheduled = true;  // false: no such job (or crm_core.run_job not installed)
    std::string result;     // success, failure or skipped
    std::string error;      // the failure, or why it was skipped
    int consecutive_failures = 0;
};
// Runs a registered job once as the role that registered it (crm_core.run_job), with the
// service's jitter and backoff; only_if_due skips it when another runner just ran it.
RegisteredRun run_registered_job(pqxx::connection& session, const std::string& name,
                                 const Config& config, bool only_if_due);

// Whether this session still holds the leader lock of that kind (a job may have released it).
bool holds_leader_lock(pqxx::connection& session, std::int64_t key, LeaderLock lock);

// Reads everything the health checks need; every part fails or is missing on its own.
ProbeData probe(pqxx::connection& session, std::int64_t leader_key);

}  // namespace crm_core::service
