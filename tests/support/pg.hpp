#pragma once
// The PostgreSQL harness: the test run's cluster (started by the `cluster.start` ctest fixture
// through loyaltyctl's embedded-cluster code) and a fresh, migrated database per test.

#include <loyalty/db/database.hpp>

#include <memory>
#include <string>

namespace loyalty::test {

/// A database of its own for one test, created from the migrated template and dropped after.
/// At the end of the test (the destructor, unless an exception is already failing it), a
/// migrated database must pass `ledger verify` — every budget against its ledger, every
/// customer's points balance against theirs — or the test fails naming what broke.
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
  void verify_ledger_at_end();

  std::string name_;
  bool migrated_;
  std::unique_ptr<db::Database> owner_;
  std::unique_ptr<db::Database> app_;
};

/// The test run's cluster data dir (LOYALTY_TEST_CLUSTER).
std::string cluster_dir();
/// URL of a database of the test cluster for a role.
std::string cluster_url(const std::string& database, db::Role role);

/// A fingerprint of every row of every tenant table (those with a tenant_id, and tenants),
/// computed as the owner in a stable order: it changes when anything is written. With a
/// tenant id, only that tenant's rows. An API key's last-used time is left out (bookkeeping of
/// its use, not a change made through it).
std::string database_fingerprint(TestDatabase& db, const std::string& tenant_id = "");

/// Runs one SQL statement as the owner on a database and returns the first field as text
/// (empty when no row).
std::string sql_value(db::Database& db, const std::string& sql);

/// Runs `sql` (as sql_value) until it yields `want` or a minute has passed; returns the last
/// value, so a CHECK against `want` shows what was there instead.
std::string wait_for_value(db::Database& db, const std::string& sql, const std::string& want);

}  // namespace loyalty::test
