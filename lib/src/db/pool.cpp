#include "db/tx.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <thread>

namespace loyalty::db {

Pool::Pool(std::string url, std::size_t max_size, std::chrono::milliseconds acquire_timeout)
    : url_(std::move(url)),
      max_size_(max_size == 0 ? 1 : max_size),
      acquire_timeout_(acquire_timeout) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (c_ && pool_) pool_->release(std::move(c_));
}

std::unique_ptr<PooledConnection> Pool::connect() {
  auto pc = std::make_unique<PooledConnection>();
  {
    std::lock_guard lock(mutex_);
    pc->generation = generation_;
  }
  try {
    pc->conn = std::make_unique<pqxx::connection>(url_);
    pc->notices = make_quiet(*pc->conn);
    // Every statement is prepared and reaches its rows by key, so a generic plan serves all
    // executions. PostgreSQL's default re-plans a statement with array parameters at each
    // execution: a fifth of the database's time in the event path (scripts/bench).
    pc->conn->set_variable("plan_cache_mode", "force_generic_plan");
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mutex_);
      --open_;
    }
    available_.notify_one();
    spdlog::debug(R"("msg":"db.connect_failed",{})", error_log_fields(e));
    throw Error(ErrorCode::unavailable, "database-unavailable", "the database is not reachable");
  }
  return pc;
}

Pool::Lease Pool::acquire() {
  std::unique_lock lock(mutex_);
  auto deadline = std::chrono::steady_clock::now() + acquire_timeout_;
  ++waiting_;
  while (idle_.empty() && open_ >= max_size_) {
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= max_size_) {
      --waiting_;
      throw Error(ErrorCode::unavailable, "database-busy",
                  "no database connection became free in time");
    }
  }
  --waiting_;
  if (!idle_.empty()) {
    auto pc = std::move(idle_.front());
    idle_.pop_front();
    return Lease(this, std::move(pc));
  }
  ++open_;
  lock.unlock();
  return Lease(this, connect());
}

void Pool::release(std::unique_ptr<PooledConnection> c) {
  bool keep = !c->broken && c->conn && c->conn->is_open();
  {
    std::lock_guard lock(mutex_);
    if (keep && c->generation == generation_) {
      idle_.push_back(std::move(c));
    } else {
      // A broken connection is dropped; the next acquire opens a fresh one in its place.
      --open_;
      ++replaced_;
    }
  }
  available_.notify_one();
}

void Pool::connections_lost() {
  std::deque<std::unique_ptr<PooledConnection>> stale;
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    stale.swap(idle_);
    open_ -= stale.size();
    replaced_ += stale.size();
  }
  available_.notify_all();
  // Closed outside the lock: closing a socket whose server is gone may take a moment.
}

PoolStats Pool::stats() const {
  std::lock_guard lock(mutex_);
  PoolStats s;
  s.size = open_;
  s.idle = idle_.size();
  s.in_use = open_ - idle_.size();
  s.waiting = waiting_;
  s.replaced = replaced_;
  return s;
}

namespace detail {

void set_tenant(Tx& tx, const std::string& tenant_id) {
  static constexpr Query kSetTenant{"db_set_tenant",
                                    "SELECT set_config('app.tenant_id', $1, true)"};
  tx.exec(kSetTenant, tenant_id);
}

}  // namespace detail

namespace detail {

void begin_for_tenant(Tx& tx, const std::string& tenant_id) {
  tx.exec_raw("BEGIN; SELECT set_config('app.tenant_id', " + tx.work().quote(tenant_id) +
              ", true)");
}

void abandon(Tx& tx, PooledConnection& pc) noexcept {
  try {
    if (pc.conn && pc.conn->is_open()) {
      tx.exec_raw("ROLLBACK");
      return;
    }
  } catch (const std::exception&) {
  }
  pc.broken = true;
}

void backoff(int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> jitter(0, 5 * attempt);
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * attempt + jitter(rng)));
}

}  // namespace detail

Database::Database(std::string url, std::unique_ptr<Pool> pool)
    : url_(std::move(url)), pool_(std::move(pool)) {}

Database::~Database() = default;

std::unique_ptr<Database> Database::open_url(const std::string& url, std::size_t pool_size,
                                             std::chrono::milliseconds acquire_timeout) {
  auto pool = std::make_unique<Pool>(url, pool_size, acquire_timeout);
  return std::unique_ptr<Database>(new Database(url, std::move(pool)));
}

std::unique_ptr<Database> Database::open(const config::Settings& settings, Role role) {
  std::string url = resolve_url(settings, role, true);
  // More connections than the server has cores to run them only queue inside PostgreSQL, behind
  // the same hot rows (scripts/bench: tails of 0.5 s with 16 on 2 cores, 80 ms with 6).
  std::size_t size =
      settings.pool_size > 0
          ? static_cast<std::size_t>(settings.pool_size)
          : std::max<std::size_t>(4, 3 * std::max(1u, std::thread::hardware_concurrency()));
  auto db = open_url(url, size);
  // Fail early with one clear message rather than at the first query.
  if (!db->ping()) {
    throw Error(ErrorCode::unavailable, "database-unavailable",
                "cannot connect to the database (check --database-url or the embedded cluster)");
  }
  return db;
}

PoolStats Database::stats() const { return pool_->stats(); }

bool Database::ping() {
  try {
    auto lease = pool_->acquire();
    try {
      pqxx::nontransaction n(*lease->conn);
      n.exec("SELECT 1");
      return true;
    } catch (const std::exception&) {
      lease->broken = true;
      return false;
    }
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace loyalty::db
