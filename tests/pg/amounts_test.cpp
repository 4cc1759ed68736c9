// Money and points arithmetic at its limits, against the real database: pro-rata refunds of the
// largest amounts, and sums the database refuses to hold.
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/money.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

/// A tenant whose every purchase earns `points` points.
struct PointsShop {
  std::string tenant_id;
  loyalty::events::RulesCache cache;

  PointsShop(TestDatabase& db, std::int64_t points) {
    loyalty::tenants::CreateTenantRequest req;
    req.name = "Shop";
    req.slug = "shop";
    tenant_id = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
    auto actor = loyalty::Actor::operator_cli();
    loyalty::rewards::create_reward(db.owner(), tenant_id, actor,
                                    {{"name", "points"},
                                     {"type", "points"},
                                     {"currency", "USD"},
                                     {"config", {{"points", points}}}});
    loyalty::rulesets::import_rules(db.owner(), tenant_id, actor,
                                    {{"rules",
                                      {{{"name", "every purchase"},
                                        {"event_type", "purchase"},
                                        {"conditions", true},
                                        {"reward", "points"}}}}},
                                    {});
  }

  /// Posts an event as loyaltyd does; returns its answer.
  json post(TestDatabase& db, const json& event) {
    return json::parse(loyalty::events::process_event(db.app(), cache, tenant_id, event, "",
                                                      loyalty::Actor::system())
                           .body);
  }

  /// A purchase of `amount`, with its points issued as the worker issues them; its event id.
  std::string purchase(TestDatabase& db, const std::string& amount, const std::string& key) {
    auto answer = post(db, {{"customer", {{"phone", "0771 234 567"}}},
                            {"type", "purchase"},
                            {"data", {{"amount", amount}, {"currency", "USD"}}},
                            {"idempotency_key", key}});
    std::string event_id = answer["event"]["id"];
    loyalty::issuances::issue_event(db.app(), tenant_id, event_id);
    return event_id;
  }

  json refund(TestDatabase& db, const std::string& original, const std::string& amount,
              const std::string& key) {
    return post(
        db, {{"customer", {{"phone", "0771 234 567"}}},
             {"type", "refund"},
             {"data", {{"original_event_id", original}, {"amount", amount}, {"currency", "USD"}}},
             {"idempotency_key", key}})["refund"];
  }
};

std::string balance(TestDatabase& db) {
  return sql_value(db.owner(), "SELECT points_balance FROM customers");
}

}  // namespace

TEST_CASE("amounts: a partial refund debits points pro rata, exactly and rounded down", "[pg]") {
  TestDatabase db;

  SECTION("the largest points reward on the largest purchase, whose product passes 64 bits") {
    PointsShop shop(db, loyalty::kMaxPoints);
    auto original = shop.purchase(db, "10000000000.00", "buy");
    REQUIRE(balance(db) == "1000000000");
    // 10^9 points × (10^12 - 1) / 10^12 = 999,999,999.999: 999,999,999 points back.
    auto refunded = shop.refund(db, original, "9999999999.99", "refund");
    CHECK(refunded["partial"] == true);
    CHECK(refunded["points_debited"] == 999'999'999);
    CHECK(balance(db) == "1");
  }

  SECTION("a third of the amount takes a third of the points, rounded down") {
    PointsShop shop(db, 100);
    auto original = shop.purchase(db, "3.00", "buy");
    auto third = shop.refund(db, original, "1.00", "refund-1");  // 33.33 points
    CHECK(third["points_debited"] == 33);
    CHECK(balance(db) == "67");
    auto cent = shop.refund(db, original, "0.01", "refund-2");  // 0.33 points
    CHECK(cent["points_debited"] == 0);
    CHECK(balance(db) == "67");
  }

  SECTION("a refund of the whole amount or more is a full refund: the points reward is cancelled") {
    PointsShop shop(db, 100);
    auto original = shop.purchase(db, "3.00", "buy");
    auto all = shop.refund(db, original, "3.01", "refund");
    CHECK(all["partial"] == false);
    CHECK(all["cancelled"].size() == 1);
    CHECK(balance(db) == "0");
  }
}

TEST_CASE("amounts: a points balance the database cannot hold is a clear invalid error, not a 500",
          "[pg]") {
  TestDatabase db;
  PointsShop shop(db, loyalty::kMaxPoints);
  shop.purchase(db, "1.00", "first");
  // A balance a credit of 10^9 would carry past 2^63 - 1 (SQLSTATE 22003 in the database).
  sql_value(db.owner(),
            "UPDATE customers SET points_balance = 9223372036000000000 RETURNING points_balance");
  auto answer = shop.post(db, {{"customer", {{"phone", "0771 234 567"}}},
                               {"type", "purchase"},
                               {"data", {{"amount", "1.00"}, {"currency", "USD"}}},
                               {"idempotency_key", "second"}});
  std::string event_id = answer["event"]["id"];
  try {
    loyalty::issuances::issue_event(db.app(), shop.tenant_id, event_id);
    FAIL("the credit was applied");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    CHECK(e.type() == "amount-out-of-range");
  }
  // Rolled back whole: the balance, the points ledger and the issuance are as before.
  CHECK(balance(db) == "9223372036000000000");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM points_ledger") == "1");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances WHERE state = 'reserved'") == "1");
  // The balance put back to what the points ledger holds, for the harness's ledger verify.
  sql_value(db.owner(), "UPDATE customers SET points_balance = 1000000000 RETURNING 1");
}
