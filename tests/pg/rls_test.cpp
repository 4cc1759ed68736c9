// Tenant isolation: row-level security enabled and forced on every tenant table, failing closed.
#include "db/tx.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/core/error.hpp>

#include <set>

using loyalty::db::Tx;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

std::vector<std::string> tenant_tables(loyalty::db::Database& db) {
  return loyalty::db::with_tx(db, [](Tx& tx) {
    std::vector<std::string> out;
    for (const auto& r : tx.exec_raw(
             "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
             "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
             "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1")) {
      out.push_back(r[0].as<std::string>());
    }
    return out;
  });
}

struct TwoTenants {
  std::string a, b;
};

TwoTenants seed(loyalty::db::Database& owner) {
  return loyalty::db::with_tx(owner, [](Tx& tx) {
    TwoTenants t;
    t.a =
        tx.exec_raw("INSERT INTO tenants (name, slug) VALUES ('A', 'tenant-a') RETURNING id")[0][0]
            .as<std::string>();
    t.b =
        tx.exec_raw("INSERT INTO tenants (name, slug) VALUES ('B', 'tenant-b') RETURNING id")[0][0]
            .as<std::string>();
    for (const auto& [id, phone] :
         {std::pair{t.a, "+263771000001"}, std::pair{t.b, "+263771000002"}}) {
      tx.exec_raw("INSERT INTO customers (tenant_id, phone) VALUES ('" + id + "', '" + phone +
                  "')");
      // Funded through its ledger, as the harness verifies the ledger after every test.
      tx.exec_raw(
          "WITH b AS (INSERT INTO budgets (tenant_id, name, currency, total_minor) VALUES ('" + id +
          "', 'main', 'USD', 1000) RETURNING tenant_id, id) INSERT INTO ledger_movements "
          "(tenant_id, budget_id, kind, debit_account, credit_account, amount_minor, "
          "currency) SELECT tenant_id, id, 'topup', 'funding', 'available', 1000, 'USD' "
          "FROM b");
    }
    return t;
  });
}

}  // namespace

TEST_CASE("rls: every table with tenant_id has row security enabled and forced", "[pg]") {
  TestDatabase tdb;
  auto tables = tenant_tables(tdb.owner());
  REQUIRE(tables.size() >= 20);
  for (const auto& table : tables) {
    INFO("table " << table);
    CHECK(sql_value(tdb.owner(),
                    "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class "
                    "WHERE oid = 'public." +
                        table + "'::regclass") == "t");
    CHECK(sql_value(tdb.owner(), "SELECT count(*) > 0 FROM pg_policy WHERE polrelid = 'public." +
                                     table + "'::regclass") == "t");
  }
  CHECK(sql_value(tdb.owner(),
                  "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class "
                  "WHERE oid = 'public.tenants'::regclass") == "t");
}

TEST_CASE("rls: loyalty_app is not superuser, not BYPASSRLS and owns nothing", "[pg]") {
  TestDatabase tdb;
  CHECK(sql_value(tdb.owner(),
                  "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = "
                  "'loyalty_app'") == "f");
  CHECK(sql_value(tdb.owner(),
                  "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = "
                  "c.relowner WHERE r.rolname = 'loyalty_app'") == "0");
  CHECK(sql_value(tdb.app(), "SELECT current_user") == "loyalty_app");
}

TEST_CASE("rls: with tenant A set, tenant B's rows are invisible and B-owned writes fail", "[pg]") {
  TestDatabase tdb;
  auto t = seed(tdb.owner());
  auto customers = loyalty::db::with_tenant(tdb.app(), t.a, [](Tx& tx) {
    std::set<std::string> phones;
    for (const auto& r : tx.exec_raw("SELECT phone FROM customers")) phones.insert(r[0].c_str());
    return phones;
  });
  CHECK(customers == std::set<std::string>{"+263771000001"});
  CHECK(loyalty::db::with_tenant(tdb.app(), t.a, [](Tx& tx) {
          return tx.exec_raw("SELECT count(*) FROM tenants")[0][0].as<int>();
        }) == 1);

  // Writing a row for B while A is set is refused by the policy's WITH CHECK.
  CHECK_THROWS_AS(loyalty::db::with_tenant(tdb.app(), t.a,
                                           [&](Tx& tx) {
                                             tx.exec_raw(
                                                 "INSERT INTO customers (tenant_id, phone) "
                                                 "VALUES ('" +
                                                 t.b + "', '+263771000003')");
                                           }),
                  loyalty::Error);
  // Updating B's rows from A touches nothing.
  auto updated = loyalty::db::with_tenant(tdb.app(), t.a, [](Tx& tx) {
    return tx.exec_raw("UPDATE budgets SET updated_at = '2000-01-01' WHERE true").affected_rows();
  });
  CHECK(updated == 1);
  CHECK(sql_value(tdb.owner(),
                  "SELECT b.updated_at > '2001-01-01' FROM budgets b JOIN tenants t ON "
                  "t.id = b.tenant_id WHERE t.slug = 'tenant-b'") == "t");
}

TEST_CASE("rls: with no tenant set, every tenant table shows zero rows and refuses writes",
          "[pg]") {
  TestDatabase tdb;
  auto t = seed(tdb.owner());
  for (const auto& table : tenant_tables(tdb.owner())) {
    INFO("table " << table);
    CHECK(sql_value(tdb.app(), "SELECT count(*) FROM " + table) == "0");
  }
  CHECK(sql_value(tdb.app(), "SELECT count(*) FROM tenants") == "0");
  // An empty setting fails closed too.
  CHECK(loyalty::db::with_tx(tdb.app(), [](Tx& tx) {
          tx.exec_raw("SELECT set_config('app.tenant_id', '', true)");
          return tx.exec_raw("SELECT count(*) FROM customers")[0][0].as<int>();
        }) == 0);
  CHECK_THROWS_AS(loyalty::db::with_tx(tdb.app(),
                                       [&](Tx& tx) {
                                         tx.exec_raw(
                                             "INSERT INTO customers (tenant_id, phone) "
                                             "VALUES ('" +
                                             t.a + "', '+263771000009')");
                                       }),
                  loyalty::Error);
}

TEST_CASE("rls: a pooled connection reused for tenant B after tenant A sees only B", "[pg]") {
  TestDatabase tdb;
  auto t = seed(tdb.owner());
  auto one = loyalty::db::Database::open_url(tdb.app_url(), 1);  // one connection: reuse is certain
  auto phones_of = [&](const std::string& tenant) {
    return loyalty::db::with_tenant(*one, tenant, [](Tx& tx) {
      return tx.exec_raw("SELECT string_agg(phone, ',') FROM customers")[0][0].as<std::string>();
    });
  };
  CHECK(phones_of(t.a) == "+263771000001");
  CHECK(phones_of(t.b) == "+263771000002");
  // And after a tenant transaction, a transaction without a tenant sees nothing.
  CHECK(loyalty::db::with_tx(*one, [](Tx& tx) {
          return tx.exec_raw("SELECT count(*) FROM customers")[0][0].as<int>();
        }) == 0);
  CHECK(one->stats().size == 1);
}

TEST_CASE("pool: a broken connection is replaced and acquire times out when exhausted", "[pg]") {
  TestDatabase tdb;
  auto pool_db =
      loyalty::db::Database::open_url(tdb.owner_url(), 1, std::chrono::milliseconds(200));
  auto pid = sql_value(*pool_db, "SELECT pg_backend_pid()");
  sql_value(tdb.owner(), "SELECT pg_terminate_backend(" + pid + ")");
  // The dead connection is dropped and the transaction runs on a fresh one.
  CHECK(sql_value(*pool_db, "SELECT 1") == "1");
  CHECK(sql_value(*pool_db, "SELECT pg_backend_pid()") != pid);
  CHECK(pool_db->stats().replaced == 1);

  auto lease = pool_db->pool().acquire();
  try {
    pool_db->pool().acquire();
    FAIL("acquire did not time out");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::unavailable);
  }
}
