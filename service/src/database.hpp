// crm-core-service's SQL: sessions without reactivation, the leader lock, the jobs and the
// health probe. The only file that talks libpqxx.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "config.hpp"
#include "health.hpp"

namespace crm_core::service {

// A session that never silently reconnects: a broken connection throws
// pqxx::broken_connection, and whatever the session held (the leader lock) is known lost.
std::unique_ptr<pqxx::connection> open_session(const Config& config, const char* role);

// Tries to take the leader lock without waiting; true when this session holds it.
bool try_leader_lock(pqxx::connection& session, std::int64_t key);
// Releases the leader lock held by this session.
void release_leader_lock(pqxx::connection& session, std::int64_t key);
// A round trip that proves the session and its server are alive.
void ping(pqxx::connection& session);
// Cancels the statement that backend `pid` runs, from a short-lived connection of its own.
void cancel_backend(const Config& config, int pid);

struct JobResult {
    bool installed = true;  // false: the job's SQL function is not in this database
    std::size_t rows = 0;
    std::string summary;  // e.g. "2 rows: created 1, retired 1"
};

// Runs one maintenance job's SQL function (not health) in its own transaction.
JobResult run_job(pqxx::connection& session, Job job);

// Reads everything the health checks need; every part fails or is missing on its own.
ProbeData probe(pqxx::connection& session, std::int64_t leader_key);

}  // namespace crm_core::service
