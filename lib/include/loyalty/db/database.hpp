#pragma once

#include <loyalty/config/config.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace loyalty::db {

/// The two database roles: the owner runs migrations and operator commands; loyalty_app
/// (NOSUPERUSER, NOBYPASSRLS, owns nothing) does tenant work in the daemon.
enum class Role { owner, app };

/// State of the private PostgreSQL cluster under a data directory.
struct ClusterStatus {
  bool initialized = false;
  bool running = false;
  std::string pgdata;
  std::string socket_dir;
};

/// The embedded PostgreSQL cluster under `<data_dir>/pg`, reached only through a Unix socket.
/// Run as root, the server runs as the unprivileged `postgres` user.
class EmbeddedCluster {
 public:
  explicit EmbeddedCluster(std::string data_dir);

  /// Creates the cluster on first use (initdb, roles, database) and starts it unless running.
  /// Throws Error(unavailable) with the server's message when it cannot start.
  void ensure_started();
  /// Stops the cluster (fast shutdown); a no-op when it is not running.
  void stop();
  ClusterStatus status() const;
  /// libpq URL of the cluster's `loyalty` database for a role.
  std::string url(Role role) const;

 private:
  std::string data_dir_;
  std::string pgdata_;
  std::string socket_dir_;
};

/// Pool counters for /metrics.
struct PoolStats {
  std::size_t size = 0;
  std::size_t in_use = 0;
  std::size_t idle = 0;
  std::size_t waiting = 0;
  std::size_t replaced = 0;
};

class Pool;

/// A database reached through a bounded connection pool. Library services take a Database&;
/// only lib/src/db knows how queries run.
class Database {
 public:
  /// Opens the database for a role from settings; with no URL configured this starts the
  /// embedded cluster first. Throws Error(unavailable) when it cannot connect.
  static std::unique_ptr<Database> open(const config::Settings& settings, Role role);
  /// The owner role (loyaltyctl).
  static std::unique_ptr<Database> open_owner(const config::Settings& settings) {
    return open(settings, Role::owner);
  }
  /// A database at an explicit URL with `pool_size` connections at most.
  static std::unique_ptr<Database> open_url(
      const std::string& url, std::size_t pool_size,
      std::chrono::milliseconds acquire_timeout = std::chrono::milliseconds(5000));

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Pool& pool() { return *pool_; }
  const std::string& url() const { return url_; }
  PoolStats stats() const;
  /// True when a connection answers `SELECT 1` now.
  bool ping();

 private:
  Database(std::string url, std::unique_ptr<Pool> pool);
  std::string url_;
  std::unique_ptr<Pool> pool_;
};

/// The URL settings resolve to for a role (starting the embedded cluster when `start` is true).
std::string resolve_url(const config::Settings& settings, Role role, bool start);

}  // namespace loyalty::db
