#include "support/pg.hpp"

#include "db/tx.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace loyalty::test {

std::string cluster_dir() {
  const char* dir = std::getenv("LOYALTY_TEST_CLUSTER");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error(
        "LOYALTY_TEST_CLUSTER is not set: run the tests through ctest, which starts the cluster");
  }
  return dir;
}

std::string cluster_url(const std::string& database, db::Role role) {
  std::string url = db::EmbeddedCluster(cluster_dir()).url(role);
  auto slash = url.find(":///") + 4;
  auto q = url.find('?');
  return url.substr(0, slash) + database + url.substr(q);
}

namespace {

void admin_exec(const std::string& sql) {
  pqxx::connection conn(cluster_url("postgres", db::Role::owner));
  pqxx::nontransaction n(conn);
  n.exec(sql);
}

std::string unique_name() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  std::ostringstream name;
  name << "t_" << getpid() << "_" << counter++ << "_" << (rd() % 100000);
  return name.str();
}

}  // namespace

TestDatabase::TestDatabase(bool migrated) : name_(unique_name()), migrated_(migrated) {
  std::string sql = "CREATE DATABASE " + name_ + (migrated ? " TEMPLATE loyalty" : "");
  for (int attempt = 1;; ++attempt) {
    try {
      admin_exec(sql);
      break;
    } catch (const pqxx::sql_error& e) {
      // Two tests copying the template at once can collide; try again shortly.
      if (attempt >= 20) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
    }
  }
}

void TestDatabase::verify_ledger_at_end() {
  std::string problems;
  try {
    auto report = budgets::verify_ledger(owner(), "");
    for (const auto& p : report.problems) {
      problems +=
          "\n  " + p.tenant_slug + "/" +
          (p.customer_id.empty() ? "budget " + p.budget_name : "customer " + p.customer_id) + ": " +
          p.message;
    }
  } catch (const std::exception& e) {
    problems = std::string("\n  the ledger could not be verified: ") + e.what();
  }
  if (!problems.empty()) FAIL_CHECK("ledger verify fails at the end of the test:" << problems);
}

TestDatabase::~TestDatabase() {
  // A test that is already failing with an exception is not failed a second time.
  if (migrated_ && std::uncaught_exceptions() == 0) verify_ledger_at_end();
  owner_.reset();
  app_.reset();
  try {
    admin_exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
  }
}

std::string TestDatabase::owner_url() const { return cluster_url(name_, db::Role::owner); }
std::string TestDatabase::app_url() const { return cluster_url(name_, db::Role::app); }

db::Database& TestDatabase::owner() {
  if (!owner_) owner_ = db::Database::open_url(owner_url(), 8);
  return *owner_;
}

db::Database& TestDatabase::app() {
  if (!app_) app_ = db::Database::open_url(app_url(), 8);
  return *app_;
}

std::string database_fingerprint(TestDatabase& db, const std::string& tenant_id) {
  return db::with_tx(db.owner(), [&](db::Tx& tx) {
    std::string all;
    for (const auto& t : tx.exec_raw(R"sql(
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'
  AND (c.relname = 'tenants' OR EXISTS (
    SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
      AND NOT a.attisdropped))
ORDER BY 1)sql")) {
      std::string table = t[0].as<std::string>();
      std::string row = table == "api_keys" ? "(x.id, x.tenant_id, x.name, x.prefix, x.key_hash, "
                                              "x.scopes, x.revoked_at)::text"
                                            : "x::text";
      std::string where;
      if (!tenant_id.empty()) {
        where = " WHERE x." + std::string(table == "tenants" ? "id" : "tenant_id") + " = " +
                tx.quote(tenant_id) + "::uuid";
      }
      auto r = tx.exec_raw("SELECT count(*), coalesce(md5(string_agg(" + row + ", '|' ORDER BY " +
                           row + ")), '-') FROM " + table + " x" + where);
      all += table + ":" + r[0][0].as<std::string>() + ":" + r[0][1].as<std::string>() + ";";
    }
    return all;
  });
}

std::string sql_value(db::Database& database, const std::string& sql) {
  return db::with_tx(database, [&](db::Tx& tx) {
    auto r = tx.exec_raw(sql);
    if (r.empty() || r[0][0].is_null()) return std::string();
    return r[0][0].as<std::string>();
  });
}

std::string wait_for_value(db::Database& database, const std::string& sql,
                           const std::string& want) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string got;
  while ((got = sql_value(database, sql)) != want && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return got;
}

}  // namespace loyalty::test
