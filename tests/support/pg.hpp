#pragma once
// The PostgreSQL harness: the test run's cluster (started by the `cluster.start` ctest fixture
// through loyaltyctl's embedded-cluster code) and a fresh, migrated database per test.

#include <loyalty/db/database.hpp>

#include <memory>
#include <string>

namespace loyalty::test {

/// A database of its own for one test, created from the migrated template and dropped after.
class TestDatabase {
 public:
  /// `migrated` = false gives an empty database (for migration tests).
  explicit TestDatabase(bool migrated = true);
  ~TestDatabase();

  const std::string& name() const { return name_; }
  std::string owner_url() const;
  std::string app_url() const;
  /// Pools over this database as the owner and as loyalty_app.
  db::Database& owner();
  db::Database& app();

 private:
  std::string name_;
  std::unique_ptr<db::Database> owner_;
  std::unique_ptr<db::Database> app_;
};

/// The test run's cluster data dir (LOYALTY_TEST_CLUSTER).
std::string cluster_dir();
/// URL of a database of the test cluster for a role.
std::string cluster_url(const std::string& database, db::Role role);

/// Runs one SQL statement as the owner on a database and returns the first field as text
/// (empty when no row).
std::string sql_value(db::Database& db, const std::string& sql);

/// Runs `sql` (as sql_value) until it yields `want` or a minute has passed; returns the last
/// value, so a CHECK against `want` shows what was there instead.
std::string wait_for_value(db::Database& db, const std::string& sql, const std::string& want);

}  // namespace loyalty::test
