#pragma once
// Private to the library: how modules run SQL. cmd/ and daemon/ never include this.

#include <loyalty/core/error.hpp>
#include <loyalty/db/database.hpp>

#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace loyalty::db {

/// How PostgreSQL plans a prepared statement. The pool's connections plan each once, for any
/// values (plan_cache_mode = force_generic_plan: re-planning every execution of the event path
/// cost a fifth of the database's time). A statement whose right plan depends on its values is
/// planned for them at each call instead: a list with optional filters, whose
/// `$2 = '' OR phone = $2` can use the phone's index only once $2 is known.
enum class Plan { once, per_call };

/// A named SQL statement, prepared once per connection on first use. Values only as $n.
struct Query {
  const char* name;
  const char* sql;
  Plan plan = Plan::once;
};

/// A PostgreSQL array literal of values that need no quoting (uuids, integers), for a parameter
/// such as `$2::uuid[]`.
template <typename T>
std::string array_literal(const std::vector<T>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    if constexpr (std::is_arithmetic_v<T>)
      out += std::to_string(values[i]);
    else
      out += values[i];
  }
  return out + "}";
}

/// A PostgreSQL text[] literal of any strings (each quoted, `"` and `\` escaped), for a parameter
/// such as `$2::text[]`.
std::string text_array_literal(const std::vector<std::string>& values);

/// A pooled connection and the statements prepared on it.
struct PooledConnection {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::errorhandler> notices;  ///< server notices into the log, first line only
  std::unordered_set<std::string> prepared;
  bool broken = false;
  std::uint64_t generation = 0;  ///< the pool's generation when it was opened
};

/// Makes a connection's error and notice texts terse (severity, primary message, position):
/// PostgreSQL's DETAIL, which quotes the rows and keys involved (phone numbers, codes), and
/// its HINT and CONTEXT never reach an exception text, a log or a stored error. Returns the
/// handler that logs the connection's notices; keep it as long as the connection.
std::unique_ptr<pqxx::errorhandler> make_quiet(pqxx::connection& conn);

/// A database failure as log fields without data: `"sqlstate":"23505","constraint":"..."`
/// (and the table when PostgreSQL names one) for SQL errors, the primary message too outside
/// the data classes 22 and 23 (whose messages may quote values); `"error":"..."` for others.
std::string error_log_fields(const std::exception& e);

/// A failure as text to store (jobs.last_error): e.what(), except that an SQL error is
/// "database error SQLSTATE" and its constraint, as error_log_fields.
std::string error_text(const std::exception& e);

/// A bounded pool: acquire waits up to a timeout; broken connections are replaced.
class Pool {
 public:
  Pool(std::string url, std::size_t max_size, std::chrono::milliseconds acquire_timeout);
  ~Pool();

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<PooledConnection> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&& other) noexcept = default;
    ~Lease();
    PooledConnection& operator*() { return *c_; }
    PooledConnection* operator->() { return c_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<PooledConnection> c_;
  };

  /// Throws Error(unavailable) after the acquire timeout or when connecting fails.
  Lease acquire();
  PoolStats stats() const;
  /// After a connection was found dead: the server may have restarted, which kills every
  /// connection opened before. Those idle now, and those in use when they come back, are closed
  /// instead of being handed out again, so a retry gets a fresh connection, not the next corpse.
  void connections_lost();

 private:
  void release(std::unique_ptr<PooledConnection> c);
  std::unique_ptr<PooledConnection> connect();

  std::string url_;
  std::size_t max_size_;
  std::chrono::milliseconds acquire_timeout_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::deque<std::unique_ptr<PooledConnection>> idle_;
  std::size_t open_ = 0;
  std::size_t waiting_ = 0;
  std::size_t replaced_ = 0;
  std::uint64_t generation_ = 0;
};

/// One transaction on a pooled connection.
class Tx {
 public:
  Tx(PooledConnection& pc, pqxx::transaction_base& work, bool explicit_tx = false)
      : pc_(pc), work_(work), explicit_tx_(explicit_tx) {}

  /// Runs a named statement with parameters.
  template <typename... Args>
  pqxx::result exec(const Query& q, Args&&... args) {
    prepare(q);
    return work_.exec_prepared(q.name, std::forward<Args>(args)...);
  }
  /// Runs a statement that must return exactly one row.
  template <typename... Args>
  pqxx::row exec1(const Query& q, Args&&... args) {
    prepare(q);
    return work_.exec_prepared1(q.name, std::forward<Args>(args)...);
  }
  /// Runs ad-hoc SQL without parameters (DDL, migrations).
  pqxx::result exec_raw(const std::string& sql) { return work_.exec(sql); }

  /// Adds `sql` (values quoted with quote()) to the statements that with_tenant sends with its
  /// COMMIT, in one round trip, after everything the callback ran: for the writes to rows that
  /// many transactions share (a budget's counters, a reward's stock), whose locks are then held
  /// for no round trip more than the commit itself. Should one fail, nothing is committed and
  /// with_tenant throws, or retries the whole transaction when the failure is retryable.
  void exec_with_commit(std::string sql) {
    if (!explicit_tx_) throw std::logic_error("exec_with_commit outside with_tenant");
    with_commit_ += sql;
    with_commit_ += ";\n";
  }
  /// The statements exec_with_commit collected, each ended by ";\n" (empty when none).
  const std::string& with_commit() const { return with_commit_; }
  /// Runs `fn` once this transaction has committed (never when it rolls back or is retried):
  /// for counters of what it did. `fn` must not throw.
  void after_commit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }
  /// Runs the after_commit functions (the retry loop calls it after the commit).
  void run_after_commit() noexcept {
    for (auto& fn : after_commit_) fn();
    after_commit_.clear();
  }
  /// `value` as an SQL literal.
  std::string quote(const std::string& value) { return work_.quote(value); }

  pqxx::transaction_base& work() { return work_; }
  pqxx::connection& connection() { return *pc_.conn; }

 private:
  void prepare(const Query& q) {
    if (pc_.prepared.insert(q.name).second) pc_.conn->prepare(q.name, q.sql);
    // The setting holds for the rest of the transaction: statements after this one are planned
    // for their values too, which costs their planning and changes no answer. (The unnamed
    // statement of exec_params would not do: plan_cache_mode applies to it as well.)
    if (q.plan == Plan::per_call && !custom_plans_) {
      work_.exec("SET LOCAL plan_cache_mode = force_custom_plan");
      custom_plans_ = true;
    }
  }
  PooledConnection& pc_;
  pqxx::transaction_base& work_;
  bool explicit_tx_ = false;
  bool custom_plans_ = false;
  std::string with_commit_;
  std::vector<std::function<void()>> after_commit_;
};

/// Maps a database exception to loyalty::Error (the one place SQLSTATEs are interpreted).
[[noreturn]] void rethrow_as_error(const std::exception& e);
/// True for failures worth retrying the whole transaction (serialization, deadlock).
bool is_retryable(const std::exception& e);
/// True when the connection itself is gone: a broken socket, or the server ending the session
/// (57P01 admin shutdown, 57P02 crash shutdown, 57P03 not accepting connections yet, class 08).
bool is_connection_loss(const std::exception& e);

namespace detail {
void set_tenant(Tx& tx, const std::string& tenant_id);
/// BEGIN and set_tenant in one round trip (the caller ends it with COMMIT or ROLLBACK).
void begin_for_tenant(Tx& tx, const std::string& tenant_id);
/// After a failure inside an explicit BEGIN: rolls back, or marks the connection broken.
void abandon(Tx& tx, PooledConnection& pc) noexcept;
void backoff(int attempt);
}  // namespace detail

inline constexpr int kMaxTxAttempts = 5;

namespace detail {
/// The retry loop of with_tx, read_once and with_tenant: `Work` is the libpqxx transaction
/// type; with a tenant, the transaction is an explicit BEGIN on a nontransaction, which sets the
/// tenant in the same round trip.
template <typename Work, typename Fn>
auto run(Database& db, const std::string* tenant, Fn&& fn) -> decltype(fn(std::declval<Tx&>())) {
  for (int attempt = 1;; ++attempt) {
    auto lease = db.pool().acquire();
    try {
      Work work(*lease->conn);
      const bool explicit_tx = tenant != nullptr;
      Tx tx(*lease, work, explicit_tx);
      auto finish = [&] {
        if (explicit_tx) {
          try {
            tx.exec_raw(tx.with_commit() + "COMMIT");
          } catch (const std::exception& e) {
            // A statement sent with the COMMIT failed, or the COMMIT did: nothing committed.
            if (!is_connection_loss(e)) throw;
            // Committed or not, nobody can tell: never run it again (pqxx::work's rule).
            lease->broken = true;
            throw pqxx::in_doubt_error("the connection was lost during COMMIT");
          }
        }
        work.commit();
        tx.run_after_commit();
      };
      try {
        if (tenant) begin_for_tenant(tx, *tenant);
        if constexpr (std::is_void_v<decltype(fn(tx))>) {
          fn(tx);
          finish();
          return;
        } else {
          auto result = fn(tx);
          finish();
          return result;
        }
      } catch (...) {
        if (explicit_tx) abandon(tx, *lease);
        throw;
      }
    } catch (const loyalty::Error&) {
      throw;
    } catch (const pqxx::in_doubt_error& e) {
      rethrow_as_error(e);
    } catch (const std::exception& e) {
      if (is_connection_loss(e)) {
        // The connection died (e.g. the server restarted) before COMMIT was sent, so nothing
        // was committed and another attempt on a fresh connection is safe.
        lease->broken = true;
        db.pool().connections_lost();
        if (attempt < 3) {
          if (attempt > 1) backoff(attempt);
          continue;
        }
        rethrow_as_error(e);
      }
      if (is_retryable(e) && attempt < kMaxTxAttempts) {
        backoff(attempt);
        continue;
      }
      if (lease->conn && !lease->conn->is_open()) lease->broken = true;
      rethrow_as_error(e);
    }
  }
}
}  // namespace detail

/// Runs `fn(Tx&)` in one transaction and commits; serialization failures and deadlocks are
/// retried up to kMaxTxAttempts times, a dead pooled connection once on a fresh one; every other
/// failure rolls back and is thrown as Error.
template <typename Fn>
auto with_tx(Database& db, Fn&& fn) -> decltype(fn(std::declval<Tx&>())) {
  return detail::run<pqxx::work>(db, nullptr, std::forward<Fn>(fn));
}

/// Runs `fn(Tx&)` without a transaction: for one read-only statement on the hot path, where
/// BEGIN and COMMIT would be two of its three round trips.
template <typename Fn>
auto read_once(Database& db, Fn&& fn) -> decltype(fn(std::declval<Tx&>())) {
  return detail::run<pqxx::nontransaction>(db, nullptr, std::forward<Fn>(fn));
}

/// Like with_tx, with the tenant set for row-level security by
/// set_config('app.tenant_id', id, true) — transaction-local, so a pooled connection never
/// carries one request's tenant into the next. BEGIN and the setting travel in one round trip.
template <typename Fn>
auto with_tenant(Database& db, const std::string& tenant_id, Fn&& fn)
    -> decltype(fn(std::declval<Tx&>())) {
  return detail::run<pqxx::nontransaction>(db, &tenant_id, std::forward<Fn>(fn));
}

}  // namespace loyalty::db
