// The tenant wall in SQL: as the daemon's role with tenant B set, every row-level-secured table
// hides tenant A's rows and refuses A's tenant_id; with the setting empty (after an earlier
// transaction set it) every table is empty; and a pool of two connections serving two tenants
// in turn leaves no tenant behind on either connection.
#include "db/tx.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/campaigns/campaigns.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/customers/customers.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/segments/segments.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <loyalty/tiers/tiers.hpp>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

using loyalty::Actor;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

/// A tenant with rows in every tenant table: through the library where it writes them, by SQL
/// as the owner for what no library call of today writes (webhooks, channels, refresh tokens).
std::string seed_tenant(TestDatabase& db, const std::string& slug, int n) {
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Tenant " + slug;
  req.slug = slug;
  req.admin_email = "admin@" + slug + ".example";
  auto tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  auto actor = Actor::operator_cli();
  auto& owner = db.owner();
  loyalty::budgets::create_budget(owner, tenant, actor,
                                  {{"name", "main"}, {"currency", "USD"}, {"total", "50.00"}});
  loyalty::budgets::topup_budget(owner, tenant, actor, "main", "10.00", "INV-" + slug);
  loyalty::campaigns::create_campaign(owner, tenant, actor,
                                      {{"name", "launch"}, {"budget", "main"}});
  loyalty::rewards::create_reward(owner, tenant, actor,
                                  {{"name", "coffee"},
                                   {"type", "voucher"},
                                   {"cost", "1.00"},
                                   {"currency", "USD"},
                                   {"config", {{"source", "pool"}}}});
  std::istringstream codes("COFFEE-" + slug + "-1\nCOFFEE-" + slug + "-2\n");
  loyalty::rewards::upload_codes(owner, tenant, actor, "coffee", codes);
  loyalty::rewards::create_reward(owner, tenant, actor,
                                  {{"name", "points"},
                                   {"type", "points"},
                                   {"cost", "0.00"},
                                   {"currency", "USD"},
                                   {"config", {{"points", 10}}}});
  json when = {{">=", {{{"var", "event.amount"}}, 1}}};
  loyalty::rulesets::import_rules(owner, tenant, actor,
                                  {{"rules",
                                    {{{"name", "coffee"},
                                      {"event_type", "purchase"},
                                      {"conditions", when},
                                      {"reward", "coffee"},
                                      {"budget", "main"}},
                                     {{"name", "points"},
                                      {"event_type", "purchase"},
                                      {"conditions", when},
                                      {"reward", "points"}}}}},
                                  {});
  // A tier that the purchase below reaches: a history row.
  loyalty::tiers::set_ladder(owner, tenant,
                             {{"measure", "amount_spent"},
                              {"window", "calendar_year"},
                              {"tiers", {{{"name", "Silver"}, {"threshold", 100}}}}},
                             actor);
  std::string phone = "+26377100000" + std::to_string(n);
  loyalty::customers::NewCustomer customer;
  customer.phone = phone;
  customer.consent = true;
  customer.channel = "pos";
  loyalty::segments::create_segment(db.app(), tenant, {{"name", "everyone"}, {"conditions", true}},
                                    actor);
  auto referrer = loyalty::customers::create_customer(db.app(), tenant, customer, actor);
  auto customer_id = referrer.id;
  // A friend they referred (a row of referrals).
  loyalty::customers::NewCustomer referee;
  referee.phone = "+26377200000" + std::to_string(n);
  referee.channel = "pos";
  referee.referral_code = referrer.referral_code;
  loyalty::customers::create_customer(db.app(), tenant, referee, actor);
  loyalty::events::RulesCache cache;
  auto answer = json::parse(
      loyalty::events::process_event(db.app(), cache, tenant,
                                     {{"customer", {{"phone", phone}}},
                                      {"type", "purchase"},
                                      {"data", {{"amount", "5.00"}, {"currency", "USD"}}},
                                      {"idempotency_key", "buy-1"}},
                                     "", Actor::system())
          .body);
  REQUIRE(answer["issuances"].size() == 2);
  loyalty::issuances::issue_event(db.app(), tenant, answer["event"]["id"].get<std::string>());

  const std::string t = "'" + tenant + "'";
  sql_value(owner,
            "INSERT INTO refresh_tokens (tenant_id, user_id, family_id, token_hash, "
            "expires_at) SELECT tenant_id, id, gen_random_uuid(), 'hash-" +
                slug + "', now() + interval '1 day' FROM users WHERE tenant_id = " + t +
                " RETURNING 1");
  auto subscription =
      sql_value(owner,
                "INSERT INTO webhook_subscriptions (tenant_id, url, secret, event_types) VALUES "
                "(" +
                    t + ", 'https://hooks.example/" + slug + "', 'whsec_x', '{*}') RETURNING id");
  auto delivery = sql_value(
      owner, "INSERT INTO webhook_deliveries (tenant_id, outbox_id, subscription_id) SELECT " + t +
                 ", min(id), '" + subscription + "' FROM outbox WHERE tenant_id = " + t +
                 " RETURNING id");
  sql_value(owner, "INSERT INTO webhook_attempts (tenant_id, delivery_id, status_code) VALUES (" +
                       t + ", " + delivery + ", 200) RETURNING 1");
  sql_value(owner, "INSERT INTO channel_routes (tenant_id, channel, address) VALUES (" + t +
                       ", 'ussd', '*" + std::to_string(100 + n) + "#') RETURNING 1");
  sql_value(owner,
            "INSERT INTO channel_sessions (tenant_id, channel, session_key, customer_id, "
            "expires_at) VALUES (" +
                t + ", 'ussd', 'session-1', '" + customer_id +
                "', now() + interval '5 minutes') RETURNING 1");
  sql_value(owner,
            "INSERT INTO claim_keys (tenant_id, idempotency_key, customer_id, reward_id, "
            "issuance_id, points_spent, balance_after) SELECT tenant_id, 'claim-1', customer_id, "
            "reward_id, id, 10, 0 FROM issuances WHERE tenant_id = " +
                t + " LIMIT 1 RETURNING 1");
  sql_value(owner, "INSERT INTO whatsapp_inbox (tenant_id, wamid, message) VALUES (" + t +
                       ", 'wamid.seed', '{}') RETURNING 1");
  return tenant;
}

/// Every table under row-level security, with the column that names its tenant.
std::vector<std::pair<std::string, std::string>> rls_tables(TestDatabase& db) {
  return loyalty::db::with_tx(db.owner(), [](loyalty::db::Tx& tx) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : tx.exec_raw(R"sql(
SELECT c.relname,
  CASE WHEN EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                    AND a.attname = 'tenant_id' AND NOT a.attisdropped) THEN 'tenant_id'
       WHEN c.relname = 'tenants' THEN 'id' END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relrowsecurity
ORDER BY 1)sql")) {
      out.emplace_back(r[0].as<std::string>(), r[1].is_null() ? "" : r[1].as<std::string>());
    }
    return out;
  });
}

/// The SQLSTATE `sql` fails with inside a savepoint of `w` ("succeeded" when it does not fail).
std::string sqlstate_of(pqxx::work& w, const std::string& sql) {
  try {
    pqxx::subtransaction attempt(w);
    attempt.exec(sql);
    attempt.abort();
  } catch (const pqxx::insufficient_privilege& e) {
    // libpqxx 6.4 leaves this class's SQLSTATE empty; it throws it for 42501 alone.
    return e.sqlstate().empty() ? "42501" : e.sqlstate();
  } catch (const pqxx::sql_error& e) {
    return e.sqlstate().empty() ? std::string("no SQLSTATE: ") + e.what() : e.sqlstate();
  }
  return "succeeded";
}

}  // namespace

TEST_CASE(
    "tenant walls: as B in SQL every RLS table shows none of A's rows and refuses A's tenant_id "
    "with 42501, and an empty setting after an earlier transaction shows no rows at all",
    "[pg]") {
  TestDatabase db;
  auto a = seed_tenant(db, "tenant-a", 1);
  auto b = seed_tenant(db, "tenant-b", 2);
  auto tables = rls_tables(db);
  REQUIRE(tables.size() >= 24);

  pqxx::connection conn(db.app_url());
  {
    pqxx::work w(conn);
    REQUIRE(w.exec("SELECT current_user")[0][0].as<std::string>() == "loyalty_app");
    w.exec("SELECT set_config('app.tenant_id', " + w.quote(b) + ", true)");
    for (const auto& [table, column] : tables) {
      INFO("table " << table);
      REQUIRE(!column.empty());  // every secured table names its tenant
      auto of = [&, &table = table, &column = column](const std::string& tenant) {
        return " FROM " + table + " WHERE " + column + " = '" + tenant + "'";
      };
      // Both tenants have rows here (seen by the owner), so the wall has something to hide.
      REQUIRE(sql_value(db.owner(), "SELECT count(*) > 0" + of(a)) == "t");
      auto b_rows = sql_value(db.owner(), "SELECT count(*)" + of(b));
      REQUIRE(b_rows != "0");

      CHECK(w.exec("SELECT count(*)" + of(a))[0][0].as<std::string>() == "0");
      CHECK(w.exec("SELECT count(*) FROM " + table)[0][0].as<std::string>() == b_rows);
      CHECK(sqlstate_of(w, "INSERT INTO " + table + " (" + column + ") VALUES ('" + a + "')") ==
            "42501");
      CHECK(sqlstate_of(w, "UPDATE " + table + " SET " + column + " = '" + a + "'") == "42501");
    }
    w.commit();
  }
  // Through the library, the same refusal is the caller's fault (forbidden), not an internal
  // error of the daemon.
  try {
    loyalty::db::with_tenant(db.app(), b, [&](loyalty::db::Tx& tx) {
      tx.exec_raw("INSERT INTO customers (tenant_id, phone) VALUES ('" + a + "', '+263771999999')");
    });
    FAIL("a row of tenant A was written as B");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::forbidden);
  }

  // A transaction that set the tenant (SET LOCAL), then new transactions on the same connection:
  // the setting is back to empty, and every table shows nothing — also when set to '' outright.
  {
    pqxx::work w(conn);
    w.exec("SET LOCAL app.tenant_id = " + w.quote(a));
    REQUIRE(w.exec("SELECT count(*) FROM customers")[0][0].as<int>() == 2);  // and a referee
    w.commit();
  }
  for (bool explicit_empty : {false, true}) {
    INFO((explicit_empty ? "SET LOCAL app.tenant_id = ''" : "nothing set"));
    pqxx::work w(conn);
    if (explicit_empty) w.exec("SET LOCAL app.tenant_id = ''");
    CHECK(w.exec("SELECT current_setting('app.tenant_id', true)")[0][0].as<std::string>() == "");
    for (const auto& [table, column] : tables) {
      INFO("table " << table);
      CHECK(w.exec("SELECT count(*) FROM " + table)[0][0].as<std::string>() == "0");
    }
    w.commit();
  }
}

TEST_CASE(
    "tenant walls: 1,000 transactions alternating two tenants over a pool of 2 connections each "
    "see their own tenant, and leave the setting empty on both connections",
    "[pg]") {
  TestDatabase db;
  std::vector<std::string> tenants;
  std::vector<std::set<std::string>> customers(2);
  for (int t = 0; t < 2; ++t) {
    loyalty::tenants::CreateTenantRequest req;
    req.name = "Pool " + std::to_string(t);
    req.slug = "pool-" + std::to_string(t);
    tenants.push_back(loyalty::tenants::create_tenant(db.owner(), req).tenant.id);
    for (int i = 0; i < 3; ++i) {
      loyalty::customers::NewCustomer c;
      c.phone = "+2637710000" + std::to_string(t) + std::to_string(i);
      customers[t].insert(
          loyalty::customers::create_customer(db.owner(), tenants[t], c, Actor::operator_cli()).id);
    }
  }

  // The pool the daemon runs (lib/src/db), with two connections, driven as its request threads
  // drive it: the same library call, four threads, tenants in turn.
  auto pool = loyalty::db::Database::open_url(db.app_url(), 2);
  std::atomic<int> next{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&] {
      for (int i = next++; i < 1000; i = next++) {
        int t = i % 2;
        auto page = loyalty::customers::list_customers(*pool, tenants[t], {}, {10, ""});
        std::set<std::string> seen;
        for (const auto& customer : page.items) seen.insert(customer.id);
        if (seen != customers[t]) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
  REQUIRE(pool->stats().size == 2);

  // Hold both pooled connections at once and look at each outside any transaction.
  auto first = pool->pool().acquire();
  auto second = pool->pool().acquire();
  for (auto* lease : {&first, &second}) {
    pqxx::nontransaction n(*(*lease)->conn);
    CHECK(n.exec("SELECT current_setting('app.tenant_id', true)")[0][0].as<std::string>() == "");
    CHECK(n.exec("SELECT count(*) FROM customers")[0][0].as<int>() == 0);
  }
}
