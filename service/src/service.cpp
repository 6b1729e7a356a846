// The daemon (see service.hpp). Threads:
//   main    the loop: heartbeat, scheduling, signals' effects; never runs SQL;
//   leader  the leader lane: owns the session that holds the advisory lock and runs the
//           maintenance jobs on that same session, so a job can only run while the lock is
//           held (if the session dies, the lock and the job's transaction die with it);
//   probe   the probe lane: readiness pings and the health probe on a second session;
//   http    Boost.Asio: the HTTP server and the signal handlers; answers from memory.
#include "service.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "crm_core/version.hpp"
#include "database.hpp"
#include "health.hpp"
#include "http_server.hpp"
#include "metrics.hpp"
#include "routes.hpp"
#include "schedule.hpp"

namespace crm_core::service {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration duration) {
    return std::chrono::duration<double>(duration).count();
}

// What a lane task tells the main loop when it is done.
struct TaskResult {
    std::optional<Job> job;  // the built-in job it ran, if any
    Outcome outcome = Outcome::success;
    bool became_leader = false;
    bool registry_round = false;       // it looked for due registered jobs
    bool registry_failed = false;      // and could not (e.g. no privilege on crm_core.jobs)
    bool more_registered_due = false;  // and another one is due right away
};

// One worker thread that runs one task at a time; the main loop posts a task only when the
// lane is idle, so a job that overruns its interval is never started twice.
class Lane {
  public:
    Lane() : thread_([this] { work(); }) {}
    ~Lane() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;

    // True when no task is waiting or running.
    bool idle() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return !task_ && !busy_;
    }
    // Hands a task over; false when the lane is still busy.
    bool post(std::function<TaskResult()> task) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (task_ || busy_) {
                return false;
            }
            task_ = std::move(task);
        }
        wake_.notify_all();
        return true;
    }
    // The result of the last finished task, once.
    std::optional<TaskResult> take_result() {
        std::lock_guard<std::mutex> lock(mutex_);
        return std::exchange(result_, std::nullopt);
    }
    // Waits until idle or the deadline; true when idle.
    bool wait_idle(Clock::time_point deadline) {
        std::unique_lock<std::mutex> lock(mutex_);
        return done_.wait_until(lock, deadline, [this] { return !task_ && !busy_; });
    }

  private:
    // The lane's thread: runs posted tasks until the lane is destroyed.
    void work() {
        std::unique_lock<std::mutex> lock(mutex_);
        while (true) {
            wake_.wait(lock, [this] { return stopping_ || task_; });
            if (!task_) {
                return;  // stopping and nothing left
            }
            auto task = std::move(*task_);
            task_.reset();
            busy_ = true;
            lock.unlock();
            TaskResult result = task();
            lock.lock();
            busy_ = false;
            result_ = result;
            done_.notify_all();
        }
    }

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::optional<std::function<TaskResult()>> task_;
    std::optional<TaskResult> result_;
    bool busy_ = false;
    bool stopping_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

// What the HTTP thread reads and the lanes write.
struct SharedState {
    std::mutex mutex;
    std::map<std::string, JobMetrics> jobs;  // by job name: built-in and registered
    ProbeData probe;
    bool database_ready = false;
    Clock::time_point last_ping_ok{};
    std::string database_error = "not connected yet";
    std::atomic<bool> leader{false};
    std::atomic<Clock::rep> heartbeat{0};
    double start_time_unix = unix_now();
    // Settings the HTTP thread needs; rewritten on SIGHUP.
    Thresholds thresholds;
    Duration liveness_timeout{};
    Duration readiness_window{};

    // Copies what the HTTP thread reads from a (re)loaded configuration.
    void configure(const Config& config) {
        std::lock_guard<std::mutex> lock(mutex);
        thresholds = thresholds_of(config);
        liveness_timeout = config.liveness_timeout;
        // A ping every tick; a hung ping or probe stops counting after this long.
        readiness_window = 3 * config.tick + config.probe_timeout;
    }

    // Records a job's run for metrics and health; `detail` says why a skipped run was skipped.
    void record(const std::string& job, Outcome outcome, double duration_seconds,
                const std::string& detail, int consecutive_failures) {
        std::lock_guard<std::mutex> lock(mutex);
        JobMetrics& metrics = jobs[job];
        JobRecord& r = metrics.record;
        r.consecutive_failures = consecutive_failures;
        if (outcome == Outcome::skipped) {
            ++r.skips;
            r.last_result = detail;
            return;
        }
        metrics.duration.observe(duration_seconds);
        r.last_result = detail;
        if (outcome == Outcome::success) {
            ++r.successes;
            r.last_success_unix = unix_now();
        } else {
            ++r.failures;
            r.last_failure_unix = unix_now();
            r.last_error = detail;
        }
    }

    // Keeps one metrics entry per registered job: new jobs appear (their counters at zero),
    // unscheduled ones go.
    void track_registered(const std::vector<RegisteredJob>& registered) {
        std::lock_guard<std::mutex> lock(mutex);
        std::set<std::string> names;
        for (const RegisteredJob& job : registered) {
            names.insert(job.name);
            JobRecord& r = jobs[job.name].record;
            r.registered = true;
            r.leader_only = true;
        }
        for (auto it = jobs.begin(); it != jobs.end();) {
            it = it->second.record.registered && names.count(it->first) == 0 ? jobs.erase(it)
                                                                             : std::next(it);
        }
    }
};

// A lane's database session and its reconnection backoff; touched only by the lane's tasks,
// except cancel(), which the main loop may call during shutdown.
class LaneSession {
  public:
    explicit LaneSession(const char* role) : role_(role) {}

    // The session, connecting first when needed and the backoff allows; null when down.
    pqxx::connection* get(const Config& config, std::string& error) {
        if (session_ && config.conninfo != conninfo_) {
            drop();  // SIGHUP changed the connection settings
        }
        if (session_) {
            return session_.get();
        }
        if (Clock::now() < retry_at_) {
            error = last_error_;
            return nullptr;
        }
        try {
            session_ = open_session(config, role_);
            backend_pid_ = session_->backendpid();
            conninfo_ = config.conninfo;
            ++generation_;
            if (failures_ > 0) {
                log_line(std::string(role_) + " session: connected again after " +
                         std::to_string(failures_) + " failed attempts");
            }
            failures_ = 0;
            return session_.get();
        } catch (const std::exception& e) {
            ++failures_;
            Backoff backoff{config.backoff_initial / 5, config.backoff_max / 10, config.jitter};
            Duration delay =
                backoff.delay(failures_, std::uniform_real_distribution<>(0, 1)(random_));
            retry_at_ = Clock::now() + delay;
            last_error_ = first_line(e.what());
            error = last_error_;
            log_line(std::string(role_) + " session: cannot connect (" + last_error_ +
                     "); retry in " + format_duration(delay));
            return nullptr;
        }
    }
    // Forgets the session after it broke (or to reconnect).
    void drop() {
        backend_pid_ = 0;
        session_.reset();
    }
    // Cancels the statement in progress (from another thread) with pg_cancel_backend on a
    // separate connection, so that the lane's own connection is never touched concurrently.
    void cancel(const Config& config) {
        int pid = backend_pid_.load();
        if (pid == 0) {
            return;
        }
        try {
            cancel_backend(config, pid);
        } catch (const std::exception& e) {
            log_line(std::string(role_) + " session: cancel failed: " + first_line(e.what()));
        }
    }
    // Counts the sessions opened so far: a lock taken on one generation is not held by another.
    std::uint64_t generation() const { return generation_; }
    // The first line of a (libpq) error message.
    static std::string first_line(const std::string& text) {
        auto end = text.find('\n');
        return text.substr(0, end);
    }

  private:
    const char* role_;
    std::mt19937_64 random_{std::random_device{}()};
    std::unique_ptr<pqxx::connection> session_;
    std::atomic<int> backend_pid_{0};  // read by cancel() from the main thread
    std::string conninfo_;
    int failures_ = 0;
    std::uint64_t generation_ = 0;
    Clock::time_point retry_at_{};
    std::string last_error_;
};

class Daemon {
  public:
    Daemon(std::vector<std::string> args, std::map<std::string, std::string> environment,
           const Config& config)
        : args_(std::move(args)),
          environment_(std::move(environment)),
          config_(config),
          random_(std::random_device{}()),
          scheduler_([this] { return std::uniform_real_distribution<>(0, 1)(random_); }),
          signals_(io_, SIGTERM, SIGINT, SIGHUP),
          server_(io_, config.listen_address, config.port,
                  HttpLimits{config.max_header_bytes, config.max_body_bytes, config.read_timeout,
                             config.max_connections},
                  [this](const std::string& method, const std::string& target) {
                      return answer(method, target);
                  }) {
        scheduler_.configure(config_);
        shared_.configure(config_);
        for (Job job : kAllJobs) {
            shared_.jobs[job_name(job)].record.leader_only = needs_leadership(job);
        }
    }

    // Serves HTTP and drives the lanes until SIGTERM or SIGINT; returns the exit code.
    int run() {
        log_line("crm-core-service " + std::string(kVersion) + " listening on " +
                 config_.listen_address + ":" + std::to_string(server_.port()) + "; " +
                 describe(config_));
        server_.start();
        wait_for_signal();
        std::thread http([this] { io_.run(); });
        while (!stopping_) {
            beat();
            if (reload_.exchange(false)) {
                reload();
            }
            drive_leader_lane();
            drive_probe_lane();
            std::this_thread::sleep_for(std::min<Duration>(config_.tick, Duration(200)));
        }
        int code = shut_down();
        io_.stop();
        http.join();
        return code;
    }

  private:
    // Proves to /livez that the main loop turns.
    void beat() { shared_.heartbeat = Clock::now().time_since_epoch().count(); }

    // SIGHUP asks for a reload, SIGTERM and SIGINT for a clean stop (handled by the main loop).
    void wait_for_signal() {
        signals_.async_wait([this](const boost::system::error_code& error, int signal) {
            if (error) {
                return;
            }
            if (signal == SIGHUP) {
                reload_ = true;
            } else {
                log_line(std::string("received ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") +
                         ": finishing the job in hand");
                stopping_ = true;
            }
            wait_for_signal();
        });
    }

    // Re-reads flags, environment and config file; keeps the old configuration on errors.
    void reload() {
        try {
            Invocation invocation = load_invocation(args_, environment_, read_whole_file);
            Config& fresh = invocation.config;
            if (fresh.listen_address != config_.listen_address || fresh.port != config_.port) {
                log_line("reload: listen address and port change only on restart");
            }
            config_ = fresh;
            scheduler_.configure(config_);
            shared_.configure(config_);
            log_line("reload: " + describe(config_));
        } catch (const ConfigError& error) {
            log_line(std::string("reload failed, keeping the running configuration: ") +
                     error.what());
        }
    }

    // Applies a finished task to the scheduler, then posts the next: a due job when leading,
    // else a leadership round (take the lock, or prove the session that holds it is alive).
    void drive_leader_lane() {
        auto now = Clock::now();
        if (auto result = leader_lane_.take_result()) {
            finish(*result, now);
            if (result->became_leader) {
                for (Job job : kAllJobs) {
                    if (needs_leadership(job)) {
                        scheduler_.make_due(job, now);
                    }
                }
                next_registry_round_ = now;
            }
            if (result->registry_round) {
                // The database keeps the registered jobs' schedule: look again next tick, or at
                // once while more are due; after errors, back off as failing jobs do.
                registry_failures_ = result->registry_failed ? registry_failures_ + 1 : 0;
                next_registry_round_ =
                    result->registry_failed
                        ? now +
                              Backoff{config_.backoff_initial, config_.backoff_max, config_.jitter}
                                  .delay(registry_failures_,
                                         std::uniform_real_distribution<>(0, 1)(random_))
                    : result->more_registered_due ? now
                                                  : now + config_.tick;
            }
        }
        if (!leader_lane_.idle()) {
            return;
        }
        if (shared_.leader) {
            for (Job job : kAllJobs) {
                if (needs_leadership(job) && scheduler_.is_due(job, now)) {
                    scheduler_.started(job);
                    leader_lane_.post([this, job, config = config_,
                                       failures = scheduler_.consecutive_failures(job)] {
                        return run_leader_job(job, config, failures);
                    });
                    return;
                }
            }
            if (now >= next_registry_round_) {
                next_registry_round_ = now + config_.tick;  // until the round reports back
                leader_lane_.post([this, config = config_] { return registry_round(config); });
                return;
            }
        }
        if (now >= next_leadership_round_) {
            next_leadership_round_ = now + config_.tick;
            leader_lane_.post([this, config = config_] { return leadership_round(config); });
        }
    }

    // Posts the health probe when due, else a readiness ping once per tick.
    void drive_probe_lane() {
        auto now = Clock::now();
        if (auto result = probe_lane_.take_result()) {
            finish(*result, now);
        }
        if (!probe_lane_.idle()) {
            return;
        }
        if (scheduler_.is_due(Job::health, now)) {
            scheduler_.started(Job::health);
            probe_lane_.post(
                [this, config = config_, failures = scheduler_.consecutive_failures(Job::health)] {
                    return run_probe(config, failures);
                });
        } else if (now >= next_ping_) {
            next_ping_ = now + config_.tick;
            probe_lane_.post([this, config = config_] { return readiness_ping(config); });
        }
    }

    // Tells the scheduler how a job's run ended.
    void finish(const TaskResult& result, Clock::time_point now) {
        if (result.job) {
            scheduler_.finished(*result.job, now, result.outcome);
        }
    }

    // Leader lane: take the lock when standing by, or check the session while leading.
    TaskResult leadership_round(const Config& config) {
        TaskResult result;
        std::string error;
        pqxx::connection* session = leader_session_.get(config, error);
        if (session == nullptr) {
            return result;
        }
        if (shared_.leader && leader_session_.generation() != leader_generation_) {
            lose_leadership("the leader session was replaced (new dsn)");
        }
        try {
            if (!shared_.leader) {
                if (std::optional<LeaderLock> lock = try_leader_lock(*session, config.lock_key)) {
                    leader_lock_ = *lock;
                    leader_generation_ = leader_session_.generation();
                    shared_.leader = true;
                    result.became_leader = true;
                    log_line("leadership: acquired the leader lock (backend pid " +
                             std::to_string(session->backendpid()) + ")");
                    record_job_as_leader(*session, config, "leadership");
                }
            } else if (leader_lock_kind(*session) != leader_lock_) {
                // crm_core was installed (or dropped) under us: the other instances now compete
                // for the other kind of lock. A new session drops the one held; the next round
                // takes the right one.
                lose_session("the database's leader lock changed (crm_core installed or dropped)");
            }
        } catch (const std::exception& e) {
            lose_session(e.what());
        }
        return result;
    }

    // Leader lane: one maintenance job on the session that holds the lock.
    TaskResult run_leader_job(Job job, const Config& config, int failures_before) {
        TaskResult result{job, Outcome::failure, false};
        std::string error;
        pqxx::connection* session = leader_session_.get(config, error);
        if (session != nullptr && leader_session_.generation() != leader_generation_) {
            lose_leadership("the leader session was replaced (new dsn)");
        }
        if (session == nullptr || !shared_.leader) {
            result.outcome = Outcome::skipped;  // leadership went away before the job began
            result.job = job;
            return result;
        }
        auto started = Clock::now();
        std::string detail;
        try {
            JobResult job_result = run_job(*session, job, config);
            result.outcome = job_result.installed ? Outcome::success : Outcome::skipped;
            record_job_as_leader(*session, config, job_name(job));
            detail = job_result.summary;
            if (job_result.rows > 0 || failures_before > 0) {
                log_line(std::string("job ") + job_name(job) + ": " + detail);
            }
        } catch (const pqxx::broken_connection& e) {
            detail = LaneSession::first_line(e.what());
            lose_session(detail);
        } catch (const std::exception& e) {
            detail = LaneSession::first_line(e.what());
        }
        if (result.outcome == Outcome::failure) {
            log_line(std::string("job ") + job_name(job) + " failed (" +
                     std::to_string(failures_before + 1) + " in a row): " + detail);
        }
        int consecutive = result.outcome == Outcome::failure ? failures_before + 1 : 0;
        shared_.record(job_name(job), result.outcome, seconds(Clock::now() - started), detail,
                       consecutive);
        return result;
    }

    // Leader lane: tells every instance (through the database) that the leader ran `job`; a
    // failure is logged and leaves the job's outcome as it was (the standbys' leadership:jobs
    // check shows a heartbeat that stops).
    void record_job_as_leader(pqxx::connection& session, const Config& config, const char* job) {
        try {
            record_leader_job(session, config.lock_key, leader_lock_, job);
        } catch (const pqxx::broken_connection&) {
            throw;
        } catch (const std::exception& e) {
            log_line(std::string("leadership: heartbeat failed: ") +
                     LaneSession::first_line(e.what()));
        }
    }

    // Leader lane: looks up the registered jobs (crm_core.jobs) and runs the first due one, as
    // the role that registered it (crm_core.run_job), on the session that holds the lock.
    TaskResult registry_round(const Config& config) {
        TaskResult result;
        result.registry_round = true;
        std::string error;
        pqxx::connection* session = leader_session_.get(config, error);
        if (session == nullptr || !shared_.leader ||
            leader_session_.generation() != leader_generation_) {
            return result;  // the next leadership round sorts it out
        }
        try {
            std::optional<std::vector<RegisteredJob>> jobs = registered_jobs(*session);
            shared_.track_registered(jobs ? *jobs : std::vector<RegisteredJob>{});
            if (!jobs || jobs->empty() || !jobs->front().due) {
                return result;
            }
            result.more_registered_due = jobs->size() > 1 && (*jobs)[1].due;
            run_registered(*session, jobs->front().name, config);
        } catch (const pqxx::broken_connection& e) {
            lose_session(e.what());
        } catch (const std::exception& e) {
            result.registry_failed = true;
            log_line("registered jobs: " + LaneSession::first_line(e.what()));
        }
        return result;
    }

    // Leader lane: one run of a registered job; the database records it and schedules the next.
    void run_registered(pqxx::connection& session, const std::string& name, const Config& config) {
        auto started = Clock::now();
        RegisteredRun run = run_registered_job(session, name, config, true);
        Outcome outcome = run.result == "success"   ? Outcome::success
                          : run.result == "failure" ? Outcome::failure
                                                    : Outcome::skipped;
        if (outcome == Outcome::failure) {
            log_line("job " + name + " failed (" + std::to_string(run.consecutive_failures) +
                     " in a row): " + run.error);
        }
        shared_.record(name, outcome, seconds(Clock::now() - started),
                       outcome == Outcome::success ? "success" : run.error,
                       run.consecutive_failures);
        // A job can call pg_advisory_unlock on the session it runs in: then this instance no
        // longer leads, and the session (with whatever else the job left in it) is dropped.
        if (!holds_leader_lock(session, config.lock_key, leader_lock_)) {
            lose_session("job " + name + " released the leader lock");
        }
    }

    // Leader lane: the session broke or misbehaved; the lock is gone with it.
    void lose_session(const std::string& why) {
        leader_session_.drop();
        if (!lose_leadership(why)) {
            log_line("leader session lost: " + LaneSession::first_line(why));
        }
    }

    // Leader lane: stop acting as leader; true when this instance was leading.
    bool lose_leadership(const std::string& why) {
        if (!shared_.leader.exchange(false)) {
            return false;
        }
        log_line("leadership: lost (" + LaneSession::first_line(why) + ")");
        return true;
    }

    void set_ready(bool ready, const std::string& error) {
        std::lock_guard<std::mutex> lock(shared_.mutex);
        if (ready) {
            shared_.last_ping_ok = Clock::now();
        }
        shared_.database_ready = ready;
        shared_.database_error = error;
    }

    // Probe lane: does the database answer?
    TaskResult readiness_ping(const Config& config) {
        std::string error;
        pqxx::connection* session = probe_session_.get(config, error);
        if (session == nullptr) {
            set_ready(false, error);
            return {};
        }
        try {
            ping(*session);
            set_ready(true, "");
        } catch (const std::exception& e) {
            probe_session_.drop();
            set_ready(false, LaneSession::first_line(e.what()));
        }
        return {};
    }

    // Probe lane: the health probe (every instance runs it, leader or not).
    TaskResult run_probe(const Config& config, int failures_before) {
        TaskResult result{Job::health, Outcome::failure, false};
        auto started = Clock::now();
        std::string detail;
        pqxx::connection* session = probe_session_.get(config, detail);
        if (session != nullptr) {
            try {
                ProbeData data = probe(*session, config.lock_key);
                {
                    std::lock_guard<std::mutex> lock(shared_.mutex);
                    shared_.probe = std::move(data);
                }
                set_ready(true, "");
                result.outcome = Outcome::success;
                detail = "probed";
            } catch (const std::exception& e) {
                detail = LaneSession::first_line(e.what());
                probe_session_.drop();
                set_ready(false, detail);
            }
        }
        int consecutive = result.outcome == Outcome::failure ? failures_before + 1 : 0;
        shared_.record(job_name(Job::health), result.outcome, seconds(Clock::now() - started),
                       detail, consecutive);
        return result;
    }

    // SIGTERM: let the job in hand finish (cancel it past the bound), release the lock, exit.
    int shut_down() {
        auto deadline = Clock::now() + config_.shutdown_timeout;
        while (!leader_lane_.wait_idle(std::min(deadline, Clock::now() + Duration(100)))) {
            beat();
            if (Clock::now() >= deadline) {
                log_line("shutdown: the job in hand overran shutdown-timeout; cancelling it");
                leader_session_.cancel(config_);
                if (!leader_lane_.wait_idle(Clock::now() + std::chrono::seconds(5))) {
                    log_line("shutdown: the job does not stop; exiting without waiting");
                    std::_Exit(kExitFailed);  // the server drops the lock with the session
                }
                break;
            }
        }
        leader_lane_.take_result();
        leader_lane_.post([this, config = config_] {
            std::string error;
            if (shared_.leader) {
                try {
                    pqxx::connection* session = leader_session_.get(config, error);
                    if (session != nullptr) {
                        release_leader_lock(*session, config.lock_key, leader_lock_);
                        log_line("leadership: released the leader lock");
                    }
                } catch (const std::exception& e) {
                    log_line(std::string("shutdown: releasing the lock failed: ") + e.what());
                }
                shared_.leader = false;
            }
            leader_session_.drop();
            return TaskResult{};
        });
        if (!probe_lane_.idle()) {
            probe_session_.cancel(config_);  // a slow probe must not hold up the exit
        }
        bool done = leader_lane_.wait_idle(Clock::now() + std::chrono::seconds(5)) &&
                    probe_lane_.wait_idle(Clock::now() + std::chrono::seconds(5));
        if (!done) {
            log_line("shutdown: a database call does not return; exiting without waiting");
            std::_Exit(kExitFailed);
        }
        // The acceptor belongs to the HTTP thread: close it there.
        boost::asio::post(io_, [this] { server_.stop(); });
        log_line("stopped");
        return kExitOk;
    }

    // HTTP thread: answers from memory only.
    HttpResponse answer(const std::string& method, const std::string& target) {
        switch (route(method, target)) {
            case Endpoint::livez:
                return liveness();
            case Endpoint::readyz: {
                auto [ready, error] = readiness();
                return ready ? HttpResponse{200, "text/plain; charset=utf-8", "ready\n"}
                             : HttpResponse{503, "text/plain; charset=utf-8",
                                            "not ready: " + error + "\n"};
            }
            case Endpoint::healthz: {
                auto checks = current_checks();
                Status status = overall_status(checks);
                return HttpResponse{status == Status::fail ? 503u : 200u, "application/health+json",
                                    render_health_json(checks, kVersion) + "\n"};
            }
            case Endpoint::metrics:
                return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                                    render_metrics(metrics_snapshot())};
            case Endpoint::method_not_allowed:
                return HttpResponse{405, "text/plain; charset=utf-8", "method not allowed\n"};
            case Endpoint::not_found:
                break;
        }
        return HttpResponse{404, "text/plain; charset=utf-8", "not found\n"};
    }

    // 200 while the main loop's heartbeat is recent.
    HttpResponse liveness() {
        auto beat = Clock::time_point(Clock::duration(shared_.heartbeat.load()));
        auto silent = Clock::now() - beat;
        Duration timeout;
        {
            std::lock_guard<std::mutex> lock(shared_.mutex);
            timeout = shared_.liveness_timeout;
        }
        if (silent > timeout) {
            return HttpResponse{503, "text/plain; charset=utf-8",
                                "main loop silent for " +
                                    std::to_string(static_cast<long long>(seconds(silent))) +
                                    " s\n"};
        }
        return HttpResponse{200, "text/plain; charset=utf-8", "alive\n"};
    }

    // Ready when the last ping succeeded recently enough (a hung probe lane stops counting).
    std::pair<bool, std::string> readiness() {
        std::lock_guard<std::mutex> lock(shared_.mutex);
        bool fresh = Clock::now() - shared_.last_ping_ok < shared_.readiness_window;
        if (shared_.database_ready && fresh) {
            return {true, ""};
        }
        return {false, shared_.database_ready ? "no answer from the database recently"
                                              : shared_.database_error};
    }

    // The health checks as of now.
    std::vector<Check> current_checks() {
        auto [ready, error] = readiness();
        InstanceState instance{ready, shared_.leader, error, unix_now()};
        JobRecords records;
        ProbeData probe;
        Thresholds thresholds;
        {
            std::lock_guard<std::mutex> lock(shared_.mutex);
            thresholds = shared_.thresholds;
            for (const auto& [job, metrics] : shared_.jobs) {
                records[job] = metrics.record;
            }
            probe = shared_.probe;
        }
        return health_checks(instance, probe, records, thresholds);
    }

    // A consistent copy of everything /metrics shows.
    MetricsSnapshot metrics_snapshot() {
        MetricsSnapshot snapshot;
        snapshot.version = kVersion;
        snapshot.health = overall_status(current_checks());
        snapshot.database_up = readiness().first;
        snapshot.leader = shared_.leader;
        std::lock_guard<std::mutex> lock(shared_.mutex);
        snapshot.start_time_unix = shared_.start_time_unix;
        snapshot.jobs = shared_.jobs;
        snapshot.probe = shared_.probe;
        return snapshot;
    }

    std::vector<std::string> args_;
    std::map<std::string, std::string> environment_;
    Config config_;           // main thread only; tasks get copies
    std::mt19937_64 random_;  // main thread (jitter)
    Scheduler scheduler_;
    SharedState shared_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> reload_{false};
    std::uint64_t leader_generation_ = 0;            // leader lane: the session that took the lock
    LeaderLock leader_lock_ = LeaderLock::advisory;  // leader lane: the kind of lock it holds
    Clock::time_point next_leadership_round_{};
    Clock::time_point next_registry_round_{};
    int registry_failures_ = 0;  // registry rounds that failed in a row
    Clock::time_point next_ping_{};
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    HttpServer server_;
    LaneSession leader_session_{"leader"};
    LaneSession probe_session_{"probe"};
    Lane leader_lane_;  // lanes last: destroyed (joined) first
    Lane probe_lane_;
};

}  // namespace

void log_line(const std::string& line) {
    static std::mutex mutex;
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
    std::lock_guard<std::mutex> lock(mutex);
    std::cerr << stamp << " crm-core-service: " << line << std::endl;
}

std::optional<std::string> read_whole_file(const std::string& path) {
    std::ifstream file(path);
    if (!file) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

int run_service(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& environment, const Config& config) {
    Daemon daemon(args, environment, config);
    return daemon.run();
}

int run_once(const Config& config, const std::string& name) {
    std::optional<Job> job = job_from_name(name);
    std::unique_ptr<pqxx::connection> session;
    try {
        session = open_session(config, job == Job::health ? "probe" : "leader");
    } catch (const std::exception& e) {
        log_line(std::string("cannot connect: ") + LaneSession::first_line(e.what()));
        return kExitUnavailable;
    }
    try {
        if (job == Job::health) {
            ProbeData data = probe(*session, config.lock_key);
            InstanceState instance{true, false, "", unix_now()};
            std::vector<Check> checks = health_checks(instance, data, {}, thresholds_of(config));
            // Job history belongs to a running service, not to a one-off probe.
            checks.erase(
                std::remove_if(checks.begin(), checks.end(),
                               [](const Check& c) { return c.key == "jobs:last_success"; }),
                checks.end());
            std::cout << render_health_json(checks, kVersion) << std::endl;
            return overall_status(checks) == Status::fail ? kExitFailed : kExitOk;
        }
        std::optional<LeaderLock> lock = try_leader_lock(*session, config.lock_key);
        if (!lock) {
            log_line("another instance holds the leader lock; not running " + name);
            return kExitNotLeader;
        }
        if (!job) {
            RegisteredRun run = run_registered_job(*session, name, config, false);
            release_leader_lock(*session, config.lock_key, *lock);
            if (!run.scheduled) {
                log_line("no job named " + name + " is registered in this database");
                return kExitNotInstalled;
            }
            if (run.result == "skipped") {
                log_line("job " + name + " skipped: " + run.error);
                return kExitNotLeader;
            }
            std::cout << name << ": " << run.result << (run.error.empty() ? "" : ": " + run.error)
                      << std::endl;
            return run.result == "success" ? kExitOk : kExitFailed;
        }
        JobResult result = run_job(*session, *job, config);
        record_leader_job(*session, config.lock_key, *lock, job_name(*job));
        release_leader_lock(*session, config.lock_key, *lock);
        if (!result.installed) {
            log_line("job " + name + ": not installed in this database");
            return kExitNotInstalled;
        }
        std::cout << name << ": " << result.summary << std::endl;
        return kExitOk;
    } catch (const pqxx::broken_connection& e) {
        log_line(std::string("connection lost: ") + LaneSession::first_line(e.what()));
        return kExitUnavailable;
    } catch (const std::exception& e) {
        log_line("job " + name + " failed: " + LaneSession::first_line(e.what()));
        return kExitFailed;
    }
}

}  // namespace crm_core::service
