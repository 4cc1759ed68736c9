// Points taken back — by a cancel, a partial refund, an expiry — are taken back once: found by the
// seeded model test (tests/pg/model_test.cpp), kept here as plain cases.
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <pqxx/pqxx>

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

/// A tenant giving 100 points, valid 10 days, for every purchase.
struct PointsShop {
  TestDatabase& db;
  std::string tenant_id;
  std::unique_ptr<loyalty::db::Database> app;
  loyalty::events::RulesCache cache;

  explicit PointsShop(TestDatabase& database) : db(database) {
    loyalty::tenants::CreateTenantRequest req;
    req.name = "Points";
    req.slug = "points";
    tenant_id = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
    auto actor = loyalty::Actor::operator_cli();
    loyalty::rewards::create_reward(db.owner(), tenant_id, actor,
                                    {{"name", "points"},
                                     {"type", "points"},
                                     {"currency", "USD"},
                                     {"validity_days", 10},
                                     {"config", {{"points", 100}}}});
    loyalty::rulesets::import_rules(db.owner(), tenant_id, actor,
                                    {{"rules",
                                      {{{"name", "points per purchase"},
                                        {"event_type", "purchase"},
                                        {"conditions", {{">", {{{"var", "event.amount"}}, 0}}}},
                                        {"reward", "points"}}}}},
                                    {});
    app = loyalty::db::Database::open_url(db.app_url(), 2);
  }

  /// Posts an event and returns its answer.
  nlohmann::json post(const nlohmann::json& event) {
    return nlohmann::json::parse(
        loyalty::events::process_event(*app, cache, tenant_id, event, "", loyalty::Actor::system())
            .body);
  }

  /// A purchase whose points the worker has credited; returns its answer.
  nlohmann::json purchase(const std::string& key, const std::string& amount) {
    auto answer = post({{"customer", {{"phone", "0771 234 567"}}},
                        {"type", "purchase"},
                        {"data", {{"amount", amount}, {"currency", "USD"}}},
                        {"idempotency_key", key}});
    REQUIRE(loyalty::issuances::issue_event(*app, tenant_id, answer["event"]["id"]) == 1);
    return answer;
  }

  /// app_now() of every new session `days` from now; the pool starts again with new sessions.
  void clock_in_days(int days) {
    pqxx::connection admin(db.owner_url());
    pqxx::nontransaction n(admin);
    auto at = n.exec1("SELECT (now() + " + std::to_string(days) + " * interval '1 day')::text");
    n.exec("ALTER DATABASE " + db.name() + " SET app.now = " + n.quote(at[0].as<std::string>()));
    app = loyalty::db::Database::open_url(db.app_url(), 2);
  }

  std::string balance() { return sql_value(db.owner(), "SELECT points_balance FROM customers"); }
};

}  // namespace

TEST_CASE("points: a cancelled points reward is not taken back again when its expiry comes",
          "[pg]") {
  TestDatabase db;
  PointsShop shop(db);
  auto first = shop.purchase("one", "10.00");
  loyalty::issuances::cancel(*shop.app, shop.tenant_id, first["issuances"][0]["id"], "mistake",
                             loyalty::Actor::system());
  CHECK(shop.balance() == "0");
  shop.clock_in_days(5);
  shop.purchase("two", "10.00");  // expires in 15 days
  CHECK(shop.balance() == "100");

  // The first reward's expiry passes: its points were already taken back by the cancel.
  shop.clock_in_days(11);
  auto report = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, false);
  CHECK(report.points_expired == 0);
  CHECK(shop.balance() == "100");
  CHECK(sql_value(db.owner(), "SELECT sum(points) FROM points_ledger") == "100");
}

TEST_CASE(
    "points: after a partial refund, a cancel and an expiry take back only the points still "
    "held",
    "[pg]") {
  TestDatabase db;
  PointsShop shop(db);
  auto bought = shop.purchase("buy", "80.00");
  shop.purchase("other", "10.00");
  CHECK(shop.balance() == "200");
  auto refund = shop.post(
      {{"customer", {{"phone", "0771 234 567"}}},
       {"type", "refund"},
       {"data",
        {{"original_event_id", bought["event"]["id"]}, {"amount", "20.00"}, {"currency", "USD"}}},
       {"idempotency_key", "refund"}});
  CHECK(refund["refund"]["points_debited"] == 25);  // 100 × 20/80
  CHECK(shop.balance() == "175");

  // Cancelled now, the reward takes back the 75 points the refund left, not all 100.
  loyalty::issuances::cancel(*shop.app, shop.tenant_id, bought["issuances"][0]["id"], "mistake",
                             loyalty::Actor::system());
  CHECK(shop.balance() == "100");

  // A second purchase refunded in part, then expired: the expiry takes the 75 left of it.
  auto third = shop.purchase("third", "80.00");
  shop.post(
      {{"customer", {{"phone", "0771 234 567"}}},
       {"type", "refund"},
       {"data",
        {{"original_event_id", third["event"]["id"]}, {"amount", "20.00"}, {"currency", "USD"}}},
       {"idempotency_key", "refund-3"}});
  CHECK(shop.balance() == "175");
  shop.clock_in_days(11);
  auto dry = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, true);
  CHECK(dry.points_expired == 175);  // "other" (100) and what is left of "third" (75)
  auto report = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, false);
  CHECK(report.points_expired == 175);
  CHECK(shop.balance() == "0");
  CHECK(sql_value(db.owner(), "SELECT sum(points) FROM points_ledger") == "0");
}
