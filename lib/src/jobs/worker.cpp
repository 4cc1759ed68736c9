#include <loyalty/jobs/worker.hpp>

#include "db/tx.hpp"
#include "issuances/internal.hpp"
#include "jobs/queue.hpp"

#include <spdlog/spdlog.h>
#include <loyalty/core/uuid.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/log/log.hpp>

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace loyalty::jobs {

namespace {

// The queue is reached only through the definer functions of migrations/0020_jobs.sql: the
// daemon's role cannot see other tenants' rows directly.
const db::Query kClaim{"jobs_claim",
                       "SELECT id, tenant_id::text, kind, payload::text, attempts, max_attempts "
                       "FROM jobs_claim($1, $2, $3)"};
const db::Query kFinish{"jobs_finish", "SELECT jobs_finish($1, $2)"};
const db::Query kFinishAll{"jobs_finish_all", "SELECT jobs_finish_all($1::bigint[], $2)"};
const db::Query kFail{"jobs_fail", "SELECT jobs_fail($1, $2, $3, $4, $5, $6)"};
const db::Query kRelease{"jobs_release", "SELECT jobs_release($2, $1::bigint[])"};

std::string default_name() {
  static std::atomic<int> sequence{0};
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return fmt::format("{}:{}:{}", host[0] ? host : "host", getpid(), ++sequence);
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct Worker::State {
  explicit State(int threads) : beats(std::make_unique<std::atomic<long long>[]>(threads)) {}
  std::unique_ptr<std::atomic<long long>[]> beats;  // per thread, steady-clock milliseconds
  std::atomic<long long> done{0}, retried{0}, dead{0}, released{0}, errors{0};
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable wake;
  std::mutex join_mutex;  // stop() may be called from several threads
};

Worker::Worker(db::Database& db, WorkerOptions options)
    : db_(db),
      options_(std::move(options)),
      name_(options_.name.empty() ? default_name() : options_.name) {
  options_.threads = std::max(1, options_.threads);
  options_.batch = std::max(1, options_.batch);
  state_ = std::make_unique<State>(options_.threads);
}

Worker::~Worker() { stop(); }

void Worker::on(const std::string& kind, Handler handler) {
  if (state_->started) throw std::logic_error("jobs::Worker::on after start");
  handlers_[kind] = std::move(handler);
}

void Worker::on_batch(const std::string& kind, BatchHandler handler) {
  if (state_->started) throw std::logic_error("jobs::Worker::on_batch after start");
  batch_handlers_[kind] = std::move(handler);
}

void Worker::start() {
  if (state_->started.exchange(true)) throw std::logic_error("jobs::Worker started twice");
  for (int i = 0; i < options_.threads; ++i) {
    state_->beats[i] = now_ms();
    threads_.emplace_back([this, i] { run(i); });
  }
  spdlog::debug(R"("msg":"worker.started","worker":"{}","threads":{})", name_, options_.threads);
}

void Worker::stop() {
  if (!state_->started) return;
  state_->stopping = true;
  {
    std::lock_guard lock(state_->mutex);
    state_->wake.notify_all();
  }
  std::lock_guard join_lock(state_->join_mutex);
  bool joined = false;
  for (auto& t : threads_) {
    if (!t.joinable()) continue;
    t.join();
    joined = true;
  }
  if (joined) {
    spdlog::debug(R"("msg":"worker.stopped","worker":"{}","released":{})", name_,
                  state_->released.load());
  }
}

bool Worker::alive() const {
  if (!state_->started || state_->stopping) return false;
  long long limit = now_ms() - std::chrono::milliseconds(options_.lease).count();
  for (int i = 0; i < options_.threads; ++i) {
    if (state_->beats[i] < limit) return false;
  }
  return true;
}

WorkerStats Worker::stats() const {
  return {state_->done, state_->retried, state_->dead, state_->released, state_->errors};
}

void Worker::run(int index) {
  // Each thread claims under its own name, so finishing and releasing can check the claim.
  const std::string thread_name = fmt::format("{}/{}", name_, index);
  int failures = 0;
  while (!state_->stopping) {
    state_->beats[index] = now_ms();
    bool worked = false;
    try {
      worked = run_batch(index, thread_name);
      failures = 0;
    } catch (const std::exception& e) {
      // The database is unreachable or restarting: back off, up to 20 idle polls.
      ++state_->errors;
      failures = std::min(failures + 1, 20);
      spdlog::debug(R"("msg":"worker.claim_failed","worker":{},{})", log::quote(thread_name),
                    db::error_log_fields(e));
    }
    if (worked) continue;
    std::unique_lock lock(state_->mutex);
    state_->wake.wait_for(lock, options_.idle_poll * std::max(1, failures),
                          [this] { return state_->stopping.load(); });
  }
}

bool Worker::run_batch(int index, const std::string& thread_name) {
  std::vector<Job> jobs = db::with_tx(db_, [&](db::Tx& tx) {
    std::vector<Job> claimed;
    auto rows =
        tx.exec(kClaim, thread_name, options_.batch, static_cast<int>(options_.lease.count()));
    for (const auto& r : rows) {
      Job job;
      job.id = r[0].as<long long>();
      job.tenant_id = r[1].as<std::string>();
      job.kind = r[2].as<std::string>();
      job.payload = nlohmann::json::parse(r[3].as<std::string>(), nullptr, false);
      job.attempt = r[4].as<int>();
      job.max_attempts = r[5].as<int>();
      claimed.push_back(std::move(job));
    }
    return claimed;
  });
  // Jobs with a batch handler run together by kind and tenant; the others one by one. Each
  // entry of `units` is one batch or one job, in the order of the first claimed job.
  std::vector<std::vector<Job>> units;
  std::map<std::pair<std::string, std::string>, std::size_t> batch_of;
  for (auto& job : jobs) {
    if (!batch_handlers_.count(job.kind) || job.payload.is_discarded()) {
      units.push_back({std::move(job)});
      continue;
    }
    auto [at, fresh] = batch_of.try_emplace({job.kind, job.tenant_id}, units.size());
    if (fresh) units.emplace_back();
    units[at->second].push_back(std::move(job));
  }
  for (std::size_t u = 0; u < units.size(); ++u) {
    if (state_->stopping) {
      std::vector<long long> rest;
      for (std::size_t v = u; v < units.size(); ++v)
        for (const auto& job : units[v]) rest.push_back(job.id);
      try {
        int n = db::with_tx(db_, [&](db::Tx& tx) {
          return tx.exec1(kRelease, db::array_literal(rest), thread_name)[0].as<int>();
        });
        state_->released += n;
        spdlog::debug(R"("msg":"worker.released","worker":"{}","jobs":{})", thread_name, n);
      } catch (const std::exception& e) {
        // Their leases run out and another worker takes them.
        ++state_->errors;
        spdlog::debug(R"("msg":"worker.release_failed","worker":{},{})", log::quote(thread_name),
                      db::error_log_fields(e));
      }
      break;
    }
    state_->beats[index] = now_ms();
    if (units[u].size() > 1 || batch_handlers_.count(units[u][0].kind)) {
      if (process_batch(units[u], thread_name)) continue;
    }
    for (const auto& job : units[u]) {
      state_->beats[index] = now_ms();
      process(job, thread_name);
    }
  }
  return !jobs.empty();
}

bool Worker::process_batch(const std::vector<Job>& jobs, const std::string& thread_name) {
  auto started = std::chrono::steady_clock::now();
  const auto& handler = batch_handlers_.at(jobs[0].kind);
  std::vector<long long> ids;
  for (const auto& job : jobs) ids.push_back(job.id);
  try {
    int held = db::with_tenant(db_, jobs[0].tenant_id, [&](db::Tx& tx) {
      // The jobs are marked done first, in the same transaction as their work: the handler's
      // last writes (an event batch charges the tenant's budget row) are then followed by the
      // COMMIT alone.
      int n = tx.exec1(kFinishAll, db::array_literal(ids), thread_name)[0].as<int>();
      handler(tx, jobs[0].tenant_id, jobs);
      return n;
    });
    state_->done += static_cast<long long>(jobs.size());
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    spdlog::debug(
        R"("msg":"jobs.done","kind":{},"tenant":{},"jobs":{},"duration_ms":{},"leases_held":{})",
        log::quote(jobs[0].kind), log::quote(jobs[0].tenant_id), jobs.size(), ms, held);
    return true;
  } catch (const std::exception& e) {
    // Each job runs alone now, so that one bad job fails only itself.
    spdlog::debug(R"("msg":"jobs.batch_failed","kind":{},"tenant":{},"jobs":{},{})",
                  log::quote(jobs[0].kind), log::quote(jobs[0].tenant_id), jobs.size(),
                  db::error_log_fields(e));
    return false;
  }
}

void Worker::process(const Job& job, const std::string& thread_name) {
  auto started = std::chrono::steady_clock::now();
  std::string error;
  bool permanent = false;
  try {
    auto handler = handlers_.find(job.kind);
    if (handler == handlers_.end()) {
      throw PermanentFailure("no handler for job kind '" + job.kind + "'");
    }
    if (job.payload.is_discarded()) throw PermanentFailure("payload is not JSON");
    handler->second(db_, job);
  } catch (const PermanentFailure& e) {
    error = e.what();
    permanent = true;
  } catch (const std::exception& e) {
    // Stored in jobs.last_error: a database failure by its SQLSTATE, never by its row.
    error = db::error_text(e);
    if (error.empty()) error = "handler failed";
  } catch (...) {
    error = "handler threw a non-standard exception";
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  // Bookkeeping failures leave the job running under its lease; it is taken again when the
  // lease runs out, which idempotent handlers tolerate.
  try {
    if (error.empty()) {
      bool held = db::with_tx(
          db_, [&](db::Tx& tx) { return tx.exec1(kFinish, job.id, thread_name)[0].as<bool>(); });
      ++state_->done;
      spdlog::debug(
          R"("msg":"job.done","job":{},"kind":{},"tenant":{},"attempt":{},"duration_ms":{},"lease_held":{})",
          job.id, log::quote(job.kind), log::quote(job.tenant_id), job.attempt, ms, held);
      return;
    }
    auto status = db::with_tx(db_, [&](db::Tx& tx) {
      return tx
          .exec1(kFail, job.id, thread_name, error, static_cast<int>(options_.backoff_base.count()),
                 static_cast<int>(options_.backoff_max.count()), permanent)[0]
          .as<std::optional<std::string>>();
    });
    bool dead = status && *status == "dead";
    ++(dead ? state_->dead : state_->retried);
    spdlog::debug(
        R"("msg":"job.failed","job":{},"kind":{},"tenant":{},"attempt":{},"max_attempts":{},"status":{},"error":{})",
        job.id, log::quote(job.kind), log::quote(job.tenant_id), job.attempt, job.max_attempts,
        log::quote(status.value_or("lease lost")), log::quote(error));
  } catch (const std::exception& e) {
    ++state_->errors;
    spdlog::debug(R"("msg":"job.bookkeeping_failed","job":{},{})", job.id, db::error_log_fields(e));
  }
}

namespace {
/// The event an "event.issue" job names; PermanentFailure when the payload names none.
std::string event_of(const Job& job) {
  auto event = job.payload.find("event_id");
  if (event == job.payload.end() || !event->is_string() || !is_uuid(event->get<std::string>()))
    throw PermanentFailure("payload has no event_id");
  return event->get<std::string>();
}
}  // namespace

void register_standard_handlers(Worker& worker) {
  worker.on(kIssueEvent, [](db::Database& db, const Job& job) {
    int issued = issuances::issue_event(db, job.tenant_id, event_of(job));
    spdlog::debug(R"("msg":"event.issued","tenant":"{}","issuances":{})", job.tenant_id, issued);
  });
  worker.on_batch(
      kIssueEvent, [](db::Tx& tx, const std::string& tenant_id, const std::vector<Job>& jobs) {
        std::vector<std::string> events;
        for (const auto& job : jobs) events.push_back(event_of(job));
        int issued = issuances::issue_events(tx, tenant_id, events);
        spdlog::debug(R"("msg":"events.issued","tenant":"{}","events":{},"issuances":{})",
                      tenant_id, events.size(), issued);
      });
}

}  // namespace loyalty::jobs
