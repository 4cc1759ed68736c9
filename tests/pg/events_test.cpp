// The hot path against the real database: exactness of money, codes, caps and idempotency under
// concurrency, through the same library calls loyaltyd makes. Group commit: event_groups_test;
// redemption: issuances_test.
#include "pg/shop.hpp"

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using namespace loyalty::test::shop;

TEST_CASE(
    "events: 200 concurrent events against a hard-capped budget that fits 50 → exactly 50 "
    "issuances",
    "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "50.00", rule("dollar-off"));
  std::atomic<int> issued{0}, exhausted{0};
  concurrently(200, 16, [&](int i) {
    auto r = process(*shop, purchase(phone(i), "k" + std::to_string(i)));
    auto body = nlohmann::json::parse(r.body);
    issued += static_cast<int>(body["issuances"].size());
    exhausted += count_not_issued(body, "budget_exhausted");
  });
  CHECK(issued == 50);
  CHECK(exhausted == 150);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "50");
  CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "5000");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "200");
  require_ledger_ok(db);
}

TEST_CASE("events: once the budget runs out a lower-priority reward is still given", "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "2.00", rule("dollar-off"));
  auto actor = loyalty::Actor::operator_cli();
  loyalty::rewards::create_reward(db.owner(), shop->tenant_id, actor,
                                  {{"name", "points"},
                                   {"type", "points"},
                                   {"cost", "0.00"},
                                   {"currency", "USD"},
                                   {"config", {{"points", 10}}}});
  auto budgeted = rule("dollar-off");
  budgeted["priority"] = 50;
  nlohmann::json points = {{"name", "points per purchase"},
                           {"event_type", "purchase"},
                           {"priority", 10},
                           {"conditions", {{">", {{{"var", "event.amount"}}, 0}}}},
                           {"reward", "points"}};
  loyalty::rulesets::import_rules(db.owner(), shop->tenant_id, actor,
                                  {{"rules", {budgeted, points}}}, {});
  // Two events fit the budget; the next ones find it exhausted, each answered alike, whether
  // its reservation failed with its commit or was made statement by statement.
  for (int i = 0; i < 5; ++i) {
    auto r = process(*shop, purchase(phone(i), "k" + std::to_string(i)));
    auto body = nlohmann::json::parse(r.body);
    INFO(body.dump());
    REQUIRE(r.status == 201);
    std::vector<std::string> given;
    for (const auto& issuance : body["issuances"]) given.push_back(issuance["reward"]["name"]);
    if (i < 2) {
      CHECK(given == std::vector<std::string>{"dollar-off", "points"});
      CHECK(body["not_issued"].empty());
    } else {
      CHECK(given == std::vector<std::string>{"points"});
      REQUIRE(body["not_issued"].size() == 1);
      CHECK(body["not_issued"][0]["reason"] == "budget_exhausted");
    }
  }
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "7");
  CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "200");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM ledger_movements WHERE kind = 'reserve'") ==
        "2");
  require_ledger_ok(db);
}

TEST_CASE("events: 20 concurrent events for a physical reward with 2 in stock → exactly 2",
          "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "tote bag"},
                         {"type", "physical"},
                         {"cost", "3.00"},
                         {"currency", "USD"},
                         {"config", {{"stock", 2}, {"sku", "TOTE-01"}}}},
                        "100.00", rule("tote bag"));
  std::atomic<int> issued{0}, out_of_stock{0};
  concurrently(20, 8, [&](int i) {
    auto r = process(*shop, purchase(phone(i), "k" + std::to_string(i)));
    auto body = nlohmann::json::parse(r.body);
    issued += static_cast<int>(body["issuances"].size());
    out_of_stock += count_not_issued(body, "out_of_stock");
  });
  CHECK(issued == 2);
  CHECK(out_of_stock == 18);
  CHECK(sql_value(db.owner(), "SELECT stock FROM rewards") == "0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "2");
  // Only the two issued rewards hold budget.
  CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "600");
  require_ledger_ok(db);
}

TEST_CASE("events: 50 concurrent posts with one idempotency key → one event, identical answers",
          "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "100.00", rule("dollar-off"));
  std::mutex mutex;
  std::set<std::string> bodies;
  std::atomic<int> replays{0};
  concurrently(50, 16, [&](int) {
    auto r = process(*shop, purchase("0771 234 567", "same-key"));
    if (r.replayed) ++replays;
    std::lock_guard lock(mutex);
    bodies.insert(std::to_string(r.status) + r.body);
  });
  CHECK(bodies.size() == 1);
  CHECK(replays == 49);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "1");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "1");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers") == "1");

  // The same key with another body is refused and writes nothing.
  try {
    process(*shop, purchase("0771 234 567", "same-key", "99.00"));
    FAIL("a reused key with a different body was accepted");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "idempotency-key-reused");
    CHECK(e.code() == loyalty::ErrorCode::invalid);
  }
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "1");
  require_ledger_ok(db);
}

TEST_CASE(
    "events: 1,200 concurrent events against a pool of 1,000 codes → 1,000 distinct codes "
    "and 200 pool-empty answers",
    "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "voucher"},
                         {"type", "voucher"},
                         {"cost", "0.10"},
                         {"currency", "USD"},
                         {"config", {{"source", "pool"}}}},
                        "1000.00", rule("voucher"));
  std::stringstream codes;
  for (int i = 0; i < 1000; ++i) codes << "CODE-" << (100000 + i) << "\n";
  auto report = loyalty::rewards::upload_codes(db.owner(), shop->tenant_id,
                                               loyalty::Actor::operator_cli(), "voucher", codes);
  REQUIRE(report.inserted == 1000);
  std::mutex mutex;
  std::multiset<std::string> handed_out;
  std::atomic<int> empty{0};
  concurrently(1200, 16, [&](int i) {
    auto r = process(*shop, purchase(phone(i), "p" + std::to_string(i)));
    auto body = nlohmann::json::parse(r.body);
    std::lock_guard lock(mutex);
    for (const auto& iss : body["issuances"]) handed_out.insert(iss["code"].get<std::string>());
    empty += count_not_issued(body, "pool_empty");
  });
  CHECK(handed_out.size() == 1000);
  CHECK(std::set<std::string>(handed_out.begin(), handed_out.end()).size() == 1000);
  CHECK(empty == 200);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM reward_codes WHERE status = 'assigned'") ==
        "1000");
  require_ledger_ok(db);
}

TEST_CASE(
    "events: a per-customer cap of 1 a day holds under 20 concurrent events of that "
    "customer",
    "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "100.00",
                        rule("dollar-off", {{"per_customer", {{"max", 1}, {"period", "day"}}}}));
  std::atomic<int> capped{0};
  concurrently(20, 20, [&](int i) {
    auto r = process(*shop, purchase("0771 234 567", "c" + std::to_string(i)));
    auto body = nlohmann::json::parse(r.body);
    capped += count_not_issued(body, "per_customer_cap");
  });
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "1");
  CHECK(capped == 19);
  require_ledger_ok(db);
}

TEST_CASE("events: a refund cancels the original's unredeemed rewards and debits points pro rata",
          "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "points"},
                         {"type", "points"},
                         {"cost", "0.00"},
                         {"currency", "USD"},
                         {"config", {{"points", 100}}}},
                        "100.00", rule("points"));
  auto actor = loyalty::Actor::operator_cli();
  loyalty::rewards::create_reward(db.owner(), shop->tenant_id, actor,
                                  {{"name", "coffee"},
                                   {"type", "voucher"},
                                   {"cost", "2.00"},
                                   {"currency", "USD"},
                                   {"config", {{"source", "generated"}}}});
  nlohmann::json second = rule("coffee");
  second["name"] = "coffee on 50";
  loyalty::rulesets::create_rule(db.owner(), shop->tenant_id, actor, second);

  auto first = nlohmann::json::parse(
      loyalty::events::process_event(*shop->app, shop->cache, shop->tenant_id,
                                     purchase("0771 234 567", "buy", "80.00"), "", actor)
          .body);
  REQUIRE(first["issuances"].size() == 2);
  std::string event_id = first["event"]["id"];
  loyalty::issuances::issue_event(*shop->app, shop->tenant_id, event_id);
  CHECK(sql_value(db.owner(), "SELECT points_balance FROM customers") == "100");

  nlohmann::json refund = {
      {"customer", {{"phone", "0771 234 567"}}},
      {"type", "refund"},
      {"data", {{"original_event_id", event_id}, {"amount", "20.00"}, {"currency", "USD"}}},
      {"idempotency_key", "refund-1"}};
  auto answer = nlohmann::json::parse(
      loyalty::events::process_event(*shop->app, shop->cache, shop->tenant_id, refund, "", actor)
          .body);
  CHECK(answer["refund"]["partial"] == true);
  CHECK(answer["refund"]["points_debited"] == 25);   // 100 points × 20/80
  CHECK(answer["refund"]["cancelled"].size() == 1);  // the coffee voucher
  CHECK(sql_value(db.owner(), "SELECT points_balance FROM customers") == "75");
  CHECK(sql_value(db.owner(),
                  "SELECT state FROM issuances i JOIN rewards r ON r.id = "
                  "i.reward_id WHERE r.name = 'coffee'") == "cancelled");
  CHECK(sql_value(db.owner(), "SELECT reserved_minor + utilized_minor FROM budgets") == "0");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM points_ledger WHERE kind = 'refund' AND "
                  "reverses_id IS NOT NULL") == "1");
  require_ledger_ok(db);
}

TEST_CASE("events: an unknown customer is refused when the tenant does not enrol on the fly",
          "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "10.00", rule("dollar-off"));
  sql_value(db.owner(), "UPDATE tenants SET settings = '{\"auto_enrol\": false}' RETURNING 1");
  loyalty::events::RulesCache fresh;
  try {
    loyalty::events::process_event(*shop->app, fresh, shop->tenant_id,
                                   purchase("0771 234 567", "x"), "", loyalty::Actor::system());
    FAIL("an unknown customer was accepted");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "unknown-customer");
  }
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers") == "0");
}

namespace {

/// Simulates an event, then processes it: both must name the same rules as issuing and give
/// the same reasons for the rest. Returns the pipeline's answer.
nlohmann::json simulated_then_processed(Shop& shop, loyalty::events::RulesCache& cache,
                                        const nlohmann::json& event) {
  auto simulated = loyalty::events::simulate_event(*shop.app, shop.tenant_id, event);
  auto answer =
      nlohmann::json::parse(loyalty::events::process_event(*shop.app, cache, shop.tenant_id, event,
                                                           "", loyalty::Actor::system())
                                .body);
  INFO("simulated " << simulated.dump() << "\nprocessed " << answer.dump());
  std::vector<std::string> would, issued;
  for (const auto& w : simulated["would_issue"]) would.push_back(w["rule_id"]);
  for (const auto& i : answer["issuances"]) issued.push_back(i["rule_id"]);
  CHECK(would == issued);
  CHECK(simulated["not_issued"] == answer["not_issued"]);
  return answer;
}

std::vector<std::string> reasons(const nlohmann::json& answer) {
  std::vector<std::string> out;
  for (const auto& n : answer["not_issued"]) out.push_back(n["reason"]);
  return out;
}

}  // namespace

TEST_CASE(
    "events: rules simulate and the pipeline agree, on a budget run out, an inactive customer "
    "and a suspended tenant",
    "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "1.00", rule("dollar-off"));
  auto actor = loyalty::Actor::operator_cli();
  loyalty::rewards::create_reward(db.owner(), shop->tenant_id, actor,
                                  {{"name", "points"},
                                   {"type", "points"},
                                   {"cost", "0.00"},
                                   {"currency", "USD"},
                                   {"config", {{"points", 10}}}});
  auto budgeted = rule("dollar-off");
  budgeted["priority"] = 50;
  nlohmann::json points = {{"name", "points per purchase"},
                           {"event_type", "purchase"},
                           {"priority", 10},
                           {"conditions", {{">", {{{"var", "event.amount"}}, 0}}}},
                           {"reward", "points"}};
  loyalty::rulesets::import_rules(db.owner(), shop->tenant_id, actor,
                                  {{"rules", {budgeted, points}}}, {});

  // The budget fits one dollar-off: the first event gets both rewards, the second only points.
  auto first = simulated_then_processed(*shop, shop->cache, purchase(phone(1), "a1"));
  CHECK(first["issuances"].size() == 2);
  auto second = simulated_then_processed(*shop, shop->cache, purchase(phone(2), "a2"));
  CHECK(second["issuances"].size() == 1);
  CHECK(reasons(second) == std::vector<std::string>{"budget_exhausted"});

  // A suspended customer is given nothing, and no rule is evaluated for them.
  loyalty::customers::set_customer_status(
      *shop->app, shop->tenant_id, second["customer"]["id"].get<std::string>(), "suspended", actor);
  auto inactive = simulated_then_processed(*shop, shop->cache, purchase(phone(2), "a3"));
  CHECK(inactive["issuances"].empty());
  CHECK(reasons(inactive) == std::vector<std::string>{"customer_not_active"});

  // A suspended tenant's events are stored and give nothing, to any customer.
  loyalty::tenants::suspend_tenant(db.owner(), shop->tenant_id);
  loyalty::events::RulesCache fresh;  // the daemon's cache sees the status within a second
  auto suspended = simulated_then_processed(*shop, fresh, purchase(phone(1), "a4"));
  CHECK(suspended["issuances"].empty());
  CHECK(reasons(suspended) == std::vector<std::string>{"tenant_suspended"});
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "4");
  require_ledger_ok(db);
}

TEST_CASE("events: a global cap of 5 a day holds under 40 concurrent events of different customers",
          "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "100.00",
                        rule("dollar-off", {{"global", {{"max", 5}, {"period", "day"}}}}));
  std::atomic<int> issued{0}, capped{0};
  concurrently(40, 16, [&](int i) {
    auto r = process(*shop, purchase(phone(i), "g" + std::to_string(i)));
    auto body = nlohmann::json::parse(r.body);
    issued += static_cast<int>(body["issuances"].size());
    capped += count_not_issued(body, "global_cap");
  });
  CHECK(issued == 5);
  CHECK(capped == 35);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "5");
  CHECK(sql_value(db.owner(), "SELECT count(DISTINCT customer_id) FROM issuances") == "5");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "40");
  CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "500");
  require_ledger_ok(db);
}

TEST_CASE("events: a cooldown of an hour holds under 20 concurrent events of one customer",
          "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "100.00", rule("dollar-off", {{"cooldown", 3600}}));
  std::atomic<int> issued{0}, cooling{0};
  concurrently(20, 20, [&](int i) {
    auto r = process(*shop, purchase("0771 234 567", "w" + std::to_string(i)));
    auto body = nlohmann::json::parse(r.body);
    issued += static_cast<int>(body["issuances"].size());
    cooling += count_not_issued(body, "cooldown");
  });
  CHECK(issued == 1);
  CHECK(cooling == 19);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "1");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers") == "1");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "20");
  require_ledger_ok(db);
}

TEST_CASE(
    "events: enrolling a customer on the fly writes one customer.enrolled outbox row, and "
    "redeeming an issuance one reward.redeemed row",
    "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "voucher"},
                         {"type", "voucher"},
                         {"cost", "5.00"},
                         {"currency", "USD"},
                         {"config", {{"source", "generated"}, {"length", 8}}}},
                        "100.00", rule("voucher"));
  auto first = nlohmann::json::parse(process(*shop, purchase("0771 234 567", "one")).body);
  INFO(first.dump());
  REQUIRE(first["customer"]["enrolled"] == true);
  const std::string customer = first["customer"]["id"];
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM outbox WHERE event_type = 'customer.enrolled'") == "1");
  CHECK(sql_value(db.owner(),
                  "SELECT payload->>'customer_id' FROM outbox WHERE event_type = "
                  "'customer.enrolled'") == customer);
  CHECK(sql_value(db.owner(),
                  "SELECT tenant_id::text FROM outbox WHERE event_type = 'customer.enrolled'") ==
        shop->tenant_id);
  // A second event of the same customer enrols nobody.
  auto second = nlohmann::json::parse(process(*shop, purchase("0771 234 567", "two")).body);
  CHECK(second["customer"]["enrolled"] == false);
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM outbox WHERE event_type = 'customer.enrolled'") == "1");

  auto iss = first["issuances"][0];
  const std::string id = iss["id"];
  REQUIRE(loyalty::issuances::issue_event(*shop->app, shop->tenant_id,
                                          iss["event_id"].get<std::string>()) == 1);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM outbox WHERE event_type = 'reward.redeemed'") ==
        "0");
  auto done = loyalty::issuances::redeem(*shop->app, shop->tenant_id, id, std::nullopt,
                                         std::nullopt, loyalty::Actor::system());
  CHECK(done.state == "redeemed");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM outbox WHERE event_type = 'reward.redeemed'") ==
        "1");
  auto payload = nlohmann::json::parse(sql_value(
      db.owner(), "SELECT payload::text FROM outbox WHERE event_type = 'reward.redeemed'"));
  INFO(payload.dump());
  CHECK(payload["issuance_id"] == id);
  CHECK(payload["customer_id"] == customer);
  CHECK(payload["reward_name"] == "voucher");
  CHECK(payload["state"] == "redeemed");
  CHECK(payload["event_id"] == iss["event_id"]);
  // The payload carries no voucher code.
  CHECK_FALSE(payload.contains("code"));
  CHECK(payload.dump().find(iss["code"].get<std::string>()) == std::string::npos);
  require_ledger_ok(db);
}
