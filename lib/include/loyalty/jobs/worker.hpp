#pragma once
// The background worker: threads that take jobs from the shared queue (the `jobs` table) and run
// them. Any number of workers, in any number of daemons, share one queue: jobs are claimed with
// FOR UPDATE SKIP LOCKED under a lease, so each claim goes to one worker, and a worker that dies
// leaves its jobs to be taken again once their lease runs out. A failed job is retried with
// exponential backoff and jitter, and is dead-lettered (status 'dead', last_error kept) after its
// max_attempts. Handlers must be idempotent: a job whose worker died mid-run runs again.
//
//   loyalty::jobs::Worker worker(db, {.threads = 2});
//   loyalty::jobs::register_standard_handlers(worker);
//   worker.start();
//   ...
//   worker.stop();  // running handlers finish; claimed jobs not yet started are released

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace loyalty::db {
class Database;
class Tx;
}  // namespace loyalty::db

namespace loyalty::jobs {

/// One claimed job, as a handler sees it.
struct Job {
  long long id = 0;
  std::string tenant_id;
  std::string kind;
  nlohmann::json payload;
  int attempt = 0;  ///< 1 on the first run
  int max_attempts = 0;
};

/// Runs one job. Throwing fails the attempt (retried later); throwing PermanentFailure
/// dead-letters the job at once.
using Handler = std::function<void(db::Database& db, const Job& job)>;

/// Runs several jobs of one kind and one tenant inside a transaction the worker opened for that
/// tenant and in which it also marks them done: one commit for the lot. Should it throw, the
/// transaction rolls back and each job runs alone through the kind's Handler.
using BatchHandler =
    std::function<void(db::Tx& tx, const std::string& tenant_id, const std::vector<Job>& jobs)>;

/// A failure that retrying cannot fix (a malformed payload, an unknown kind).
class PermanentFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WorkerOptions {
  int threads = 2;
  int batch = 16;  ///< jobs claimed per round trip by one thread
  std::chrono::seconds lease{60};
  std::chrono::milliseconds idle_poll{150};      ///< sleep when the queue has nothing due
  std::chrono::milliseconds backoff_base{2000};  ///< delay after the first failure, doubling
  std::chrono::milliseconds backoff_max{std::chrono::hours(1)};
  std::string name;  ///< recorded in jobs.locked_by; defaults to host:pid:sequence
};

/// Counters since start.
struct WorkerStats {
  long long done = 0;
  long long retried = 0;
  long long dead = 0;
  long long released = 0;
  long long errors = 0;  ///< failed claims and bookkeeping (e.g. the database unreachable)
};

/// A pool of worker threads over one Database (the loyalty_app role is enough: the queue is
/// reached through SECURITY DEFINER functions and each job runs in its tenant's transaction).
class Worker {
 public:
  explicit Worker(db::Database& db, WorkerOptions options = {});
  /// Stops the worker if it is running.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Registers the handler of a job kind. Call before start(). Jobs of kinds without a handler
  /// are dead-lettered with "no handler for job kind ...".
  void on(const std::string& kind, Handler handler);
  /// Registers, besides its Handler, how a job kind runs in batches (see BatchHandler).
  void on_batch(const std::string& kind, BatchHandler handler);

  /// Starts the threads. Throws std::logic_error when already started.
  void start();

  /// Stops claiming, lets running handlers finish, and hands claimed jobs that have not started
  /// back to the queue (pending, due at once, the attempt not counted). Blocks until every
  /// thread has exited. Safe to call more than once.
  void stop();

  /// True while started, not stopped, and every thread has made progress within the lease
  /// (a thread stuck longer than that is not healthy). For /ready.
  bool alive() const;

  WorkerStats stats() const;
  const std::string& name() const { return name_; }

 private:
  struct State;
  void run(int index);
  bool run_batch(int index, const std::string& thread_name);
  void process(const Job& job, const std::string& thread_name);
  /// Runs jobs of one kind and tenant with its batch handler; false when that failed (nothing
  /// was written).
  bool process_batch(const std::vector<Job>& jobs, const std::string& thread_name);

  db::Database& db_;
  WorkerOptions options_;
  std::string name_;
  std::map<std::string, Handler> handlers_;
  std::map<std::string, BatchHandler> batch_handlers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<State> state_;
};

/// Registers the product's job kinds: "event.issue" (issues an event's reserved issuances).
void register_standard_handlers(Worker& worker);

}  // namespace loyalty::jobs
