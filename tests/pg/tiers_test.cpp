// Tiers through the library: upgrades by the events that move the measure (exactly once each,
// however many events of a customer race), rules that see customer.tier, the tier's earning
// multiplier, downgrades by the recompute after the grace period, the calendar year in the
// tenant's time zone, and ladders refused field by field.
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <loyalty/tiers/tiers.hpp>
#include <pqxx/pqxx>

#include <thread>

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

/// A tenant with a ladder over amount spent: Silver from $100, Gold (1.5x) from $250.
struct TierShop {
  TestDatabase& db;
  std::string tenant_id;
  std::unique_ptr<loyalty::db::Database> app;
  loyalty::events::RulesCache cache;

  explicit TierShop(TestDatabase& database, json policy = json::object(),
                    const std::string& slug = "tiers")
      : db(database) {
    loyalty::tenants::CreateTenantRequest req;
    req.name = "Tiers " + slug;
    req.slug = slug;
    tenant_id = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
    json ladder = {{"measure", "amount_spent"},
                   {"window", "rolling"},
                   {"window_days", 365},
                   {"tiers",
                    {{{"name", "Silver"}, {"threshold", 10000}},
                     {{"name", "Gold"}, {"threshold", 25000}, {"multiplier_bp", 15000}}}}};
    ladder.update(policy);
    loyalty::tiers::set_ladder(db.owner(), tenant_id, ladder, loyalty::Actor::operator_cli());
    app = loyalty::db::Database::open_url(db.app_url(), 8);
  }

  json purchase(const std::string& phone, const std::string& amount, const std::string& key,
                const std::string& occurred_at = "") {
    json event = {{"customer", {{"phone", phone}}},
                  {"type", "purchase"},
                  {"data", {{"amount", amount}, {"currency", "USD"}}},
                  {"idempotency_key", key}};
    if (!occurred_at.empty()) event["occurred_at"] = occurred_at;
    return json::parse(
        loyalty::events::process_event(*app, cache, tenant_id, event, "", loyalty::Actor::system())
            .body);
  }

  std::string tier(const std::string& customer) {
    return sql_value(db.owner(),
                     "SELECT coalesce(t.name, 'none') FROM customers c LEFT JOIN tiers t ON t.id "
                     "= c.tier_id WHERE c.id = '" +
                         customer + "'");
  }

  /// The customer's moves as "from>to:reason:measure", oldest first.
  std::string moves(const std::string& customer) {
    return sql_value(db.owner(),
                     "SELECT coalesce(string_agg(coalesce(from_tier, 'none') || '>' || "
                     "coalesce(to_tier, 'none') || ':' || reason || ':' || measure, ' ' ORDER BY "
                     "id), '') FROM customer_tier_history WHERE customer_id = '" +
                         customer + "'");
  }

  /// The tier.changed outbox payloads, oldest first.
  std::string outbox() {
    return sql_value(db.owner(),
                     "SELECT coalesce(json_agg(payload ORDER BY id)::text, '[]') FROM outbox WHERE "
                     "event_type = 'tier.changed' AND tenant_id = '" +
                         tenant_id + "'");
  }

  /// app_now() of every new session at `instant`; the pool starts again with new sessions.
  void clock_at(const std::string& instant) {
    pqxx::connection admin(db.owner_url());
    pqxx::nontransaction n(admin);
    n.exec("ALTER DATABASE " + db.name() + " SET app.now = " + n.quote(instant));
    app = loyalty::db::Database::open_url(db.app_url(), 8);
  }

  std::string in_days(int days) {
    return sql_value(db.owner(), "SELECT to_char((now() + " + std::to_string(days) +
                                     " * interval '1 day') AT TIME ZONE 'UTC', "
                                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
  }
};

}  // namespace

TEST_CASE(
    "tiers: a purchase that crosses a threshold upgrades the customer at once, with one history "
    "row and one tier.changed outbox row",
    "[pg]") {
  TestDatabase db;
  TierShop shop(db);
  auto first = shop.purchase("0771 234 567", "60.00", "p-1");
  std::string customer = first["customer"]["id"];
  CHECK(shop.tier(customer) == "none");
  CHECK(shop.moves(customer) == "");

  auto second = shop.purchase("0771 234 567", "50.00", "p-2");
  CHECK(shop.tier(customer) == "Silver");
  CHECK(shop.moves(customer) == "none>Silver:upgrade:11000");
  CHECK(sql_value(db.owner(), "SELECT event_id::text FROM customer_tier_history") ==
        second["event"]["id"]);
  CHECK(json::parse(shop.outbox()) == json::array({{{"customer_id", customer},
                                                    {"from", nullptr},
                                                    {"to", "Silver"},
                                                    {"reason", "upgrade"},
                                                    {"measure", 11000}}}));
  // No phone number anywhere in the payload.
  CHECK(shop.outbox().find("771") == std::string::npos);

  // A replay changes nothing; a purchase that stays within Silver neither.
  shop.purchase("0771 234 567", "50.00", "p-2");
  shop.purchase("0771 234 567", "10.00", "p-3");
  CHECK(shop.moves(customer) == "none>Silver:upgrade:11000");
  CHECK(json::parse(shop.outbox()).size() == 1);

  // The API's view.
  auto t = loyalty::tiers::customer_tiers(*shop.app, shop.tenant_id, customer);
  CHECK(t.tier == std::optional<std::string>("Silver"));
  CHECK(t.measure == 12000);
  REQUIRE(t.changes.size() == 1);
  CHECK(t.changes[0].to == std::optional<std::string>("Silver"));
  CHECK_FALSE(t.changes[0].from.has_value());
  CHECK(t.changes[0].reason == "upgrade");
}

TEST_CASE(
    "tiers: 30 concurrent purchases of one customer, in groups, cross two thresholds: the final "
    "tier is right and history and outbox hold exactly the two moves",
    "[pg]") {
  TestDatabase db;
  TierShop shop(db);
  // Enrolled first so that every event finds the same customer.
  std::string customer = shop.purchase("0771 234 567", "0.00", "enrol")["customer"]["id"];
  // Three threads, each posting ten $10 purchases as one group (one transaction).
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::vector<loyalty::events::EventInput> inputs;
      for (int i = 0; i < 10; ++i) {
        json event = {{"customer", {{"phone", "0771 234 567"}}},
                      {"type", "purchase"},
                      {"data", {{"amount", "10.00"}, {"currency", "USD"}}},
                      {"idempotency_key", "t" + std::to_string(t) + "-" + std::to_string(i)}};
        inputs.push_back({event, "", loyalty::Actor::system()});
      }
      auto results = loyalty::events::process_events(*shop.app, shop.cache, shop.tenant_id, inputs);
      for (const auto& r : results) {
        if (!r.error && r.response.status == 201) ++answered;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(answered == 30);
  CHECK(shop.tier(customer) == "Gold");
  // Each threshold crossed by exactly the event that reached it: $100, then $250.
  CHECK(shop.moves(customer) == "none>Silver:upgrade:10000 Silver>Gold:upgrade:25000");
  auto outbox = json::parse(shop.outbox());
  REQUIRE(outbox.size() == 2);
  CHECK(outbox[0]["to"] == "Silver");
  CHECK(outbox[1]["from"] == "Silver");
  CHECK(outbox[1]["to"] == "Gold");
  CHECK(outbox[1]["measure"] == 25000);
}

TEST_CASE(
    "tiers: rules see customer.tier, and a Gold customer's points reward earns 1.5x, rounded "
    "down",
    "[pg]") {
  TestDatabase db;
  TierShop shop(db);
  auto actor = loyalty::Actor::operator_cli();
  loyalty::rewards::create_reward(db.owner(), shop.tenant_id, actor,
                                  {{"name", "15 points"},
                                   {"type", "points"},
                                   {"currency", "USD"},
                                   {"config", {{"points", 15}}}});
  loyalty::rulesets::import_rules(
      db.owner(), shop.tenant_id, actor,
      {{"rules",
        {{{"name", "gold bonus"},
          {"event_type", "purchase"},
          {"conditions", {{"==", {{{"var", "customer.tier"}}, "Gold"}}}},
          {"reward", "15 points"}}}}},
      {});
  // Not Gold yet: the rule does not match; this purchase makes them Gold (its rules ran first).
  auto crossing = shop.purchase("0771 234 567", "300.00", "p-1");
  std::string customer = crossing["customer"]["id"];
  CHECK(crossing["issuances"].empty());
  CHECK(shop.tier(customer) == "Gold");

  auto gold = shop.purchase("0771 234 567", "5.00", "p-2");
  REQUIRE(gold["issuances"].size() == 1);
  CHECK(gold["issuances"][0]["points"] == 22);  // 15 × 1.5 = 22.5, rounded down
  REQUIRE(loyalty::issuances::issue_event(*shop.app, shop.tenant_id, gold["event"]["id"]) == 1);
  CHECK(sql_value(db.owner(),
                  "SELECT points_balance FROM customers WHERE id = '" + customer + "'") == "22");

  // Another customer without a tier: no match, and the rule sees null.
  auto plain = shop.purchase("0772 000 111", "5.00", "p-3");
  CHECK(plain["issuances"].empty());
}

TEST_CASE(
    "tiers: a tenant measuring points earned upgrades when the worker credits the points, at "
    "the tier's multiplier from then on",
    "[pg]") {
  TestDatabase db;
  TierShop shop(db, {{"measure", "points_earned"},
                     {"tiers",
                      {{{"name", "Silver"}, {"threshold", 20}, {"multiplier_bp", 20000}},
                       {{"name", "Gold"}, {"threshold", 1000}}}}});
  auto actor = loyalty::Actor::operator_cli();
  loyalty::rewards::create_reward(db.owner(), shop.tenant_id, actor,
                                  {{"name", "15 points"},
                                   {"type", "points"},
                                   {"currency", "USD"},
                                   {"config", {{"points", 15}}}});
  loyalty::rulesets::import_rules(db.owner(), shop.tenant_id, actor,
                                  {{"rules",
                                    {{{"name", "points"},
                                      {"event_type", "purchase"},
                                      {"conditions", {{">", {{{"var", "event.amount"}}, 0}}}},
                                      {"reward", "15 points"}}}}},
                                  {});
  auto first = shop.purchase("0771 234 567", "1.00", "p-1");
  std::string customer = first["customer"]["id"];
  REQUIRE(loyalty::issuances::issue_event(*shop.app, shop.tenant_id, first["event"]["id"]) == 1);
  CHECK(shop.tier(customer) == "none");  // 15 earned
  auto second = shop.purchase("0771 234 567", "1.00", "p-2");
  CHECK(second["issuances"][0]["points"] == 15);
  CHECK(shop.tier(customer) == "none");  // reserved, not yet credited
  REQUIRE(loyalty::issuances::issue_event(*shop.app, shop.tenant_id, second["event"]["id"]) == 1);
  CHECK(shop.tier(customer) == "Silver");
  CHECK(shop.moves(customer) == "none>Silver:upgrade:30");
  auto third = shop.purchase("0771 234 567", "1.00", "p-3");
  CHECK(third["issuances"][0]["points"] == 30);  // 2x
}

TEST_CASE(
    "tiers: the recompute downgrades a customer only once their measure has been below their "
    "tier for the grace period",
    "[pg]") {
  TestDatabase db;
  TierShop shop(db, {{"window_days", 30}, {"grace_days", 7}});
  std::string customer = shop.purchase("0771 234 567", "120.00", "p-1")["customer"]["id"];
  CHECK(shop.tier(customer) == "Silver");
  auto report = loyalty::tiers::recompute(*shop.app, shop.tenant_id);
  CHECK(report.customers == 1);
  CHECK(report.downgraded == 0);
  CHECK(shop.tier(customer) == "Silver");

  // 31 days on, the purchase is out of the window: the grace period starts.
  shop.clock_at(shop.in_days(31));
  report = loyalty::tiers::recompute(*shop.app, shop.tenant_id);
  CHECK(report.downgraded == 0);
  CHECK(shop.tier(customer) == "Silver");
  auto t = loyalty::tiers::customer_tiers(*shop.app, shop.tenant_id, customer);
  CHECK(t.measure == 0);
  CHECK_FALSE(t.below_since.empty());

  // Six days into it: still Silver.
  shop.clock_at(shop.in_days(37));
  CHECK(loyalty::tiers::recompute(*shop.app, shop.tenant_id).downgraded == 0);
  CHECK(shop.tier(customer) == "Silver");

  // Seven days: down to none, with its history and outbox rows.
  shop.clock_at(shop.in_days(38));
  report = loyalty::tiers::recompute(*shop.app, shop.tenant_id);
  CHECK(report.downgraded == 1);
  CHECK(report.upgraded == 0);
  CHECK(shop.tier(customer) == "none");
  CHECK(shop.moves(customer) == "none>Silver:upgrade:12000 Silver>none:downgrade:0");
  auto outbox = json::parse(shop.outbox());
  REQUIRE(outbox.size() == 2);
  CHECK(outbox[1] == json({{"customer_id", customer},
                           {"from", "Silver"},
                           {"to", nullptr},
                           {"reason", "downgrade"},
                           {"measure", 0}}));
  // Nothing more to do.
  CHECK(loyalty::tiers::recompute(*shop.app, shop.tenant_id).downgraded == 0);
  CHECK(json::parse(shop.outbox()).size() == 2);
}

TEST_CASE(
    "tiers: a customer back above their tier within the grace period keeps it, and the grace "
    "period starts again next time",
    "[pg]") {
  TestDatabase db;
  TierShop shop(db, {{"window_days", 30}, {"grace_days", 7}});
  std::string customer = shop.purchase("0771 234 567", "120.00", "p-1")["customer"]["id"];
  shop.clock_at(shop.in_days(31));
  loyalty::tiers::recompute(*shop.app, shop.tenant_id);  // below since day 31
  // Day 33: a purchase back over $100 within the window.
  shop.clock_at(shop.in_days(33));
  shop.purchase("0771 234 567", "100.00", "p-2", shop.in_days(33));
  loyalty::tiers::recompute(*shop.app, shop.tenant_id);
  CHECK(sql_value(db.owner(), "SELECT tier_below_since IS NULL FROM customers") == "t");
  // Day 40 would have ended the first grace period: Silver still.
  shop.clock_at(shop.in_days(40));
  CHECK(loyalty::tiers::recompute(*shop.app, shop.tenant_id).downgraded == 0);
  CHECK(shop.tier(customer) == "Silver");
}

TEST_CASE(
    "tiers: the calendar year starts at midnight in the tenant's time zone: 23:30 on 31 December "
    "counts for the old year, 00:10 on 1 January for the new",
    "[pg]") {
  TestDatabase db;
  // The tenant's zone is Africa/Harare (UTC+2): local midnight is 22:00 UTC.
  TierShop shop(db, {{"window", "calendar_year"}, {"window_days", nullptr}, {"grace_days", 0}});
  json ladder = loyalty::tiers::to_json(loyalty::tiers::ladder(*shop.app, shop.tenant_id));
  CHECK(ladder["window"] == "calendar_year");
  CHECK(ladder["window_days"].is_null());

  shop.clock_at("2026-12-31T21:45:00Z");  // 23:45 local, 31 December
  auto late = shop.purchase("0771 234 567", "100.00", "dec-31", "2026-12-31T23:30:00+02:00");
  std::string december = late["customer"]["id"];
  CHECK(shop.tier(december) == "Silver");

  shop.clock_at("2026-12-31T22:30:00Z");  // 00:30 local, 1 January 2027 (still 2026 in UTC)
  auto early = shop.purchase("0772 000 111", "100.00", "jan-1", "2027-01-01T00:10:00+02:00");
  std::string january = early["customer"]["id"];
  CHECK(shop.tier(january) == "Silver");
  auto report = loyalty::tiers::recompute(*shop.app, shop.tenant_id);
  CHECK(report.customers == 2);
  CHECK(report.downgraded == 1);
  CHECK(shop.tier(december) == "none");  // its year is over
  CHECK(shop.tier(january) == "Silver");
  CHECK(shop.moves(december) == "none>Silver:upgrade:10000 Silver>none:downgrade:0");
}

TEST_CASE("tiers: a bad ladder is refused with an error for each bad field, and changes nothing",
          "[pg]") {
  TestDatabase db;
  TierShop shop(db);
  auto before = loyalty::tiers::to_json(loyalty::tiers::ladder(*shop.app, shop.tenant_id));
  json bad = {{"measure", "visits"},
              {"window", "rolling"},
              {"grace_days", -1},
              {"tiers",
               {{{"name", "Silver"}, {"threshold", 100}},
                {{"name", "silver"}, {"threshold", 100}, {"multiplier_bp", 0}},
                {{"name", ""}, {"threshold", -5}, {"colour", "gold"}}}}};
  std::vector<loyalty::FieldError> fields;
  try {
    loyalty::tiers::set_ladder(*shop.app, shop.tenant_id, bad, loyalty::Actor::operator_cli());
    FAIL("accepted");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    fields = e.fields();
  }
  std::vector<std::string> pointers;
  for (const auto& f : fields) pointers.push_back(f.pointer);
  CHECK(pointers == std::vector<std::string>{"/measure", "/window_days", "/grace_days",
                                             "/tiers/1/name", "/tiers/1/threshold",
                                             "/tiers/1/multiplier_bp", "/tiers/2/colour",
                                             "/tiers/2/name", "/tiers/2/threshold"});
  CHECK(loyalty::tiers::to_json(loyalty::tiers::ladder(*shop.app, shop.tenant_id)) == before);

  // A ladder renamed and reordered keeps its tiers by name; the customers of a tier no longer
  // in it hold none; [] removes them all.
  std::string silver = shop.purchase("0771 234 567", "120.00", "p-1")["customer"]["id"];
  REQUIRE(shop.tier(silver) == "Silver");
  auto replaced = loyalty::tiers::set_ladder(*shop.app, shop.tenant_id,
                                             {{"measure", "amount_spent"},
                                              {"window", "rolling"},
                                              {"window_days", 90},
                                              {"tiers",
                                               {{{"name", "Bronze"}, {"threshold", 0}},
                                                {{"name", "Gold"}, {"threshold", 5000}},
                                                {{"name", "Platinum"}, {"threshold", 90000}}}}},
                                             loyalty::Actor::operator_cli());
  REQUIRE(replaced.tiers.size() == 3);
  CHECK(replaced.tiers[1].id == before["tiers"][1]["id"]);
  CHECK(replaced.tiers[1].rank == 2);
  CHECK(replaced.tiers[1].multiplier_bp == 10000);
  CHECK(shop.tier(silver) == "none");
  CHECK(shop.moves(silver) == "none>Silver:upgrade:12000");
  auto removed = loyalty::tiers::set_ladder(*shop.app, shop.tenant_id, {{"tiers", json::array()}},
                                            loyalty::Actor::operator_cli());
  CHECK_FALSE(removed.defined);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM tiers") == "0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM audit_log WHERE action = 'tiers.set'") == "3");
}
