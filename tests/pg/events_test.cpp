// The hot path against the real database: exactness of money, codes, caps and idempotency under
// concurrency, through the same library calls loyaltyd makes.
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/customers/customers.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/metrics/counters.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

struct Shop {
  std::string tenant_id;
  std::unique_ptr<loyalty::db::Database> app;  ///< the daemon's role, many connections
  loyalty::events::RulesCache cache;
};

std::unique_ptr<Shop> make_shop(TestDatabase& db, const nlohmann::json& reward,
                                const std::string& budget_total, const nlohmann::json& rule) {
  auto shop = std::make_unique<Shop>();
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Shop";
  req.slug = "shop";
  shop->tenant_id = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  auto actor = loyalty::Actor::operator_cli();
  loyalty::rewards::create_reward(db.owner(), shop->tenant_id, actor, reward);
  loyalty::budgets::create_budget(
      db.owner(), shop->tenant_id, actor,
      {{"name", "main"}, {"currency", "USD"}, {"total", budget_total}, {"hard_cap", true}});
  loyalty::rulesets::import_rules(db.owner(), shop->tenant_id, actor, {{"rules", {rule}}}, {});
  shop->app = loyalty::db::Database::open_url(db.app_url(), 24);
  return shop;
}

nlohmann::json purchase(const std::string& phone, const std::string& key,
                        const std::string& amount = "60.00") {
  return {{"customer", {{"phone", phone}}},
          {"type", "purchase"},
          {"data", {{"amount", amount}, {"currency", "USD"}, {"store", "HRE-01"}}},
          {"idempotency_key", key}};
}

std::string phone(int i) {
  std::ostringstream s;
  s << "+26377" << (1000000 + i);
  return s.str();
}

nlohmann::json rule(const std::string& reward, nlohmann::json caps = nullptr) {
  nlohmann::json r = {{"name", "spend 50"},
                      {"event_type", "purchase"},
                      {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                      {"reward", reward},
                      {"budget", "main"}};
  if (!caps.is_null()) r["caps"] = caps;
  return r;
}

/// Runs `n` calls of `fn(i)` on `threads` threads at once.
void concurrently(int n, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : pool) t.join();
}

/// The reward of most tests: $1.00 off.
nlohmann::json dollar_off() {
  return {{"name", "dollar-off"},
          {"type", "discount"},
          {"cost", "1.00"},
          {"currency", "USD"},
          {"config", {{"kind", "fixed"}, {"amount", "1.00"}}}};
}

/// An event processed as loyaltyd processes a POS's post.
loyalty::events::EventResponse process(Shop& shop, const nlohmann::json& event) {
  return loyalty::events::process_event(*shop.app, shop.cache, shop.tenant_id, event, "",
                                        loyalty::Actor::system());
}

/// How many rules of an event's answer gave nothing for `reason`.
int count_not_issued(const nlohmann::json& body, const std::string& reason) {
  int n = 0;
  for (const auto& item : body["not_issued"]) n += item["reason"] == reason ? 1 : 0;
  return n;
}

void require_ledger_ok(TestDatabase& db) {
  auto report = loyalty::budgets::verify_ledger(db.owner(), "");
  for (const auto& p : report.problems) INFO(p.budget_name << ": " << p.message);
  REQUIRE(report.ok());
}

}  // namespace

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

TEST_CASE("issuances: 100 concurrent redemptions of one issuance → exactly one succeeds", "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "voucher"},
                         {"type", "voucher"},
                         {"cost", "5.00"},
                         {"currency", "USD"},
                         {"config", {{"source", "generated"}, {"length", 8}}}},
                        "100.00", rule("voucher"));
  auto r = process(*shop, purchase("0771 234 567", "one"));
  auto iss = nlohmann::json::parse(r.body)["issuances"][0];
  std::string id = iss["id"], code = iss["code"];
  CHECK(iss["state"] == "reserved");
  // Not yet issued: the till's code is not redeemable.
  CHECK_THROWS_WITH(loyalty::issuances::redeem_by_code(*shop->app, shop->tenant_id, code,
                                                       std::nullopt, loyalty::Actor::system()),
                    Catch::Contains("reserved"));
  REQUIRE(loyalty::issuances::issue_event(*shop->app, shop->tenant_id,
                                          iss["event_id"].get<std::string>()) == 1);
  std::atomic<int> ok{0}, refused{0};
  concurrently(100, 20, [&](int) {
    try {
      loyalty::issuances::redeem_by_code(*shop->app, shop->tenant_id, code, std::nullopt,
                                         loyalty::Actor::system());
      ++ok;
    } catch (const loyalty::Error& e) {
      if (e.type() == "code-already-redeemed") ++refused;
    }
  });
  CHECK(ok == 1);
  CHECK(refused == 99);
  CHECK(sql_value(db.owner(), "SELECT spent_minor FROM budgets") == "500");
  // Illegal transitions answer with the current state.
  try {
    loyalty::issuances::cancel(*shop->app, shop->tenant_id, id, "late", loyalty::Actor::system());
    FAIL("a redeemed issuance was cancelled");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "invalid-transition");
    CHECK(std::string(e.what()).find("redeemed") != std::string::npos);
  }
  require_ledger_ok(db);
}

TEST_CASE("issuances: a PIN reward is redeemed only with the PIN sent to the customer", "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "free-coffee"},
                         {"type", "physical"},
                         {"cost", "2.00"},
                         {"currency", "USD"},
                         {"config", {{"stock", 100}}},
                         {"requires_pin", true}},
                        "100.00", rule("free-coffee"));
  loyalty::customers::NewCustomer who;
  who.phone = "0771 234 567";
  who.consent = true;
  loyalty::customers::create_customer(*shop->app, shop->tenant_id, who, loyalty::Actor::system());
  auto earn = [&](const std::string& key) {
    auto r = process(*shop, purchase("0771 234 567", key));
    auto iss = nlohmann::json::parse(r.body)["issuances"][0];
    CHECK(iss["pin_required"] == true);
    REQUIRE(loyalty::issuances::issue_event(*shop->app, shop->tenant_id,
                                            iss["event_id"].get<std::string>()) == 1);
    // What the customer's WhatsApp message carries; the database keeps only a hash.
    std::string pin = sql_value(db.owner(),
                                "SELECT payload->>'pin' FROM notifications WHERE payload->>"
                                "'issuance_id' = '" +
                                    iss["id"].get<std::string>() + "'");
    REQUIRE(pin.size() == 6);
    CHECK(sql_value(db.owner(),
                    "SELECT count(*) FROM issuances WHERE pin_hash LIKE '%" + pin + "%'") == "0");
    return std::pair{iss["id"].get<std::string>(), pin};
  };
  auto refusal = [&](const std::string& id, std::optional<std::string> pin) {
    try {
      loyalty::issuances::redeem(*shop->app, shop->tenant_id, id, std::nullopt, pin,
                                 loyalty::Actor::system());
    } catch (const loyalty::Error& e) {
      return e;
    }
    FAIL("redeemed with PIN " << pin.value_or("(none)"));
    throw;
  };
  auto wrong = [](const std::string& pin) { return pin == "000000" ? "111111" : "000000"; };

  auto [id, pin] = earn("one");
  CHECK(refusal(id, std::nullopt).type() == "pin-required");
  auto mismatch = refusal(id, wrong(pin));
  CHECK(mismatch.type() == "pin-mismatch");
  CHECK(mismatch.extensions() ==
        std::vector<std::pair<std::string, std::string>>{{"attempts_left", "4"}});
  // The wrong attempt was kept although the redemption failed.
  CHECK(sql_value(db.owner(), "SELECT pin_attempts FROM issuances WHERE id = '" + id + "'") == "1");
  auto done = loyalty::issuances::redeem(*shop->app, shop->tenant_id, id, std::nullopt, pin,
                                         loyalty::Actor::system());
  CHECK(done.state == "redeemed");
  // One time: the same PIN again finds the reward redeemed.
  CHECK(refusal(id, pin).type() == "invalid-transition");

  // Twenty concurrent guesses: at most five are counted, then the PIN is locked for good.
  auto [locked_id, locked_pin] = earn("two");
  std::atomic<int> mismatches{0}, locks{0};
  concurrently(20, 10, [&](int) {
    try {
      loyalty::issuances::redeem(*shop->app, shop->tenant_id, locked_id, std::nullopt,
                                 std::string(wrong(locked_pin)), loyalty::Actor::system());
    } catch (const loyalty::Error& e) {
      if (e.type() == "pin-mismatch") ++mismatches;
      if (e.type() == "pin-locked") ++locks;
    }
  });
  CHECK(mismatches == 4);
  CHECK(locks == 16);
  CHECK(refusal(locked_id, locked_pin).type() == "pin-locked");
  CHECK(loyalty::issuances::get_issuance(*shop->app, shop->tenant_id, locked_id).state == "issued");
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

// Group commit: several events in one transaction (process_events, which loyaltyd's EventGroups
// runs for the events that arrive while a tenant's transactions are busy).

namespace {

std::vector<loyalty::events::EventResult> process_group(Shop& shop,
                                                        const std::vector<nlohmann::json>& bodies) {
  std::vector<loyalty::events::EventInput> inputs;
  for (const auto& b : bodies) inputs.push_back({b, "", loyalty::Actor::system()});
  return loyalty::events::process_events(*shop.app, shop.cache, shop.tenant_id, inputs);
}

nlohmann::json answer_of(const loyalty::events::EventResult& r) {
  REQUIRE_FALSE(r.error);
  return nlohmann::json::parse(r.response.body);
}

std::string error_type(const loyalty::events::EventResult& r) {
  if (!r.error) return "none";
  try {
    std::rethrow_exception(r.error);
  } catch (const loyalty::Error& e) {
    return e.type();
  }
}

}  // namespace

TEST_CASE("event groups: a failing event inside a group fails alone and writes nothing", "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "100.00", rule("dollar-off"));
  auto results = process_group(
      *shop, {purchase(phone(1), "a"),
              // an unknown customer named by id: refused (stage 3), after the first event's writes
              {{"customer", {{"id", "00000000-0000-4000-8000-000000000001"}}},
               {"type", "purchase"},
               {"data", {{"amount", "60.00"}, {"currency", "USD"}}},
               {"idempotency_key", "b"}},
              purchase(phone(2), "c"),
              // a refund of an event that does not exist: the claim's insert fails on the events'
              // foreign key (a database error, inside the group's transaction)
              {{"customer", {{"phone", phone(3)}}},
               {"type", "refund"},
               {"data", {{"original_event_id", "00000000-0000-4000-8000-000000000002"}}},
               {"idempotency_key", "d"}},
              purchase(phone(4), "e")});
  REQUIRE(results.size() == 5);
  CHECK(answer_of(results[0])["issuances"].size() == 1);
  CHECK(error_type(results[1]) == "unknown-customer");
  CHECK(answer_of(results[2])["issuances"].size() == 1);
  CHECK(error_type(results[3]) == "reference-not-found");
  CHECK(answer_of(results[4])["issuances"].size() == 1);
  // The refused events left no event row; the refund's customer, enrolled on the fly behind its
  // savepoint, went with it.
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(idempotency_key, ',' ORDER BY idempotency_key) "
                  "FROM events") == "a,c,e");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events WHERE status <> 'processed'") == "0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers") == "3");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "3");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM jobs") == "3");
  CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "300");
  // Each stored answer is the one its caller got.
  for (int i : {0, 2, 4}) {
    auto key = std::string(1, static_cast<char>('a' + i));
    CHECK(nlohmann::json::parse(sql_value(db.owner(),
                                          "SELECT response::text FROM events WHERE "
                                          "idempotency_key = '" +
                                              key + "'")) == answer_of(results[i]));
  }
  require_ledger_ok(db);
}

TEST_CASE("event groups: repeats of one idempotency key inside a group replay the first answer",
          "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "100.00", rule("dollar-off"));
  auto results =
      process_group(*shop, {purchase(phone(1), "same"), purchase(phone(1), "same"),
                            purchase(phone(1), "same", "99.00"), purchase(phone(1), "same")});
  auto first = answer_of(results[0]);
  CHECK_FALSE(results[0].response.replayed);
  CHECK(first["issuances"].size() == 1);
  CHECK(results[1].response.replayed);
  CHECK(results[1].response.body == results[0].response.body);
  CHECK(error_type(results[2]) == "idempotency-key-reused");
  CHECK(results[3].response.replayed);
  CHECK(results[3].response.body == results[0].response.body);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "1");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "1");
  // After the commit, a replay from the database answers the same bytes.
  auto later = process(*shop, purchase(phone(1), "same"));
  CHECK(later.replayed);
  CHECK(later.body == results[0].response.body);
  require_ledger_ok(db);
}

TEST_CASE(
    "event groups: one customer's events inside a group see each other's rewards, and the "
    "group's events share the budget and stock they read",
    "[pg]") {
  TestDatabase db;
  SECTION("a per-customer cap of 2 a day over 3 events of one new customer") {
    auto shop = make_shop(db, dollar_off(), "100.00",
                          rule("dollar-off", {{"per_customer", {{"max", 2}, {"period", "day"}}}}));
    auto results = process_group(
        *shop, {purchase(phone(1), "a"), purchase(phone(1), "b"), purchase(phone(1), "c")});
    auto a = answer_of(results[0]), b = answer_of(results[1]), c = answer_of(results[2]);
    CHECK(a["customer"]["enrolled"] == true);
    CHECK(b["customer"]["enrolled"] == false);
    CHECK(a["customer"]["id"] == c["customer"]["id"]);
    CHECK(a["issuances"].size() == 1);
    CHECK(b["issuances"].size() == 1);
    CHECK(c["issuances"].empty());
    CHECK(count_not_issued(c, "per_customer_cap") == 1);
    CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers") == "1");
  }
  SECTION("a hard-capped budget that fits 2 over 3 customers' events") {
    auto shop = make_shop(db, dollar_off(), "2.00", rule("dollar-off"));
    auto results = process_group(
        *shop, {purchase(phone(1), "a"), purchase(phone(2), "b"), purchase(phone(3), "c")});
    int issued = 0, exhausted = 0;
    for (const auto& r : results) {
      auto body = answer_of(r);
      issued += static_cast<int>(body["issuances"].size());
      exhausted += count_not_issued(body, "budget_exhausted");
    }
    CHECK(issued == 2);
    CHECK(exhausted == 1);
    CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "200");
    CHECK(sql_value(db.owner(), "SELECT count(*) FROM ledger_movements WHERE kind = 'reserve'") ==
          "2");
  }
  SECTION("a physical reward with 1 in stock over 2 customers' events") {
    auto shop = make_shop(db,
                          {{"name", "tote bag"},
                           {"type", "physical"},
                           {"cost", "3.00"},
                           {"currency", "USD"},
                           {"config", {{"stock", 1}, {"sku", "TOTE-01"}}}},
                          "100.00", rule("tote bag"));
    auto results = process_group(*shop, {purchase(phone(1), "a"), purchase(phone(2), "b")});
    CHECK(answer_of(results[0])["issuances"].size() + answer_of(results[1])["issuances"].size() ==
          1);
    CHECK(count_not_issued(answer_of(results[0]), "out_of_stock") +
              count_not_issued(answer_of(results[1]), "out_of_stock") ==
          1);
    CHECK(sql_value(db.owner(), "SELECT stock FROM rewards") == "0");
  }
  require_ledger_ok(db);
}

TEST_CASE(
    "event groups: 200 concurrent events through group commit against a hard-capped budget "
    "that fits 50 → exactly 50, in groups",
    "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db, dollar_off(), "50.00", rule("dollar-off"));
  loyalty::events::EventGroups groups(*shop->app, shop->cache, {});
  auto& sizes = loyalty::metrics::counters().event_groups;
  auto groups_before = sizes.groups(), events_before = sizes.events();
  std::atomic<int> issued{0}, exhausted{0};
  concurrently(200, 16, [&](int i) {
    // 40 customers: each has several events, in one group or in groups running at once.
    auto r = groups.process(shop->tenant_id, purchase(phone(i % 40), "k" + std::to_string(i)), "",
                            loyalty::Actor::system());
    auto body = nlohmann::json::parse(r.body);
    issued += static_cast<int>(body["issuances"].size());
    exhausted += count_not_issued(body, "budget_exhausted");
  });
  CHECK(issued == 50);
  CHECK(exhausted == 150);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "50");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events WHERE status = 'processed'") == "200");
  CHECK(sql_value(db.owner(), "SELECT reserved_minor FROM budgets") == "5000");
  // 200 events in fewer transactions than events: they were grouped.
  auto grouped_events = sizes.events() - events_before,
       group_count = sizes.groups() - groups_before;
  INFO(grouped_events << " events in " << group_count << " groups");
  CHECK(grouped_events == 200);
  CHECK(group_count < 200);
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

TEST_CASE("issuances: a voucher past its expiry is refused code-expired and stays issued", "[pg]") {
  TestDatabase db;
  auto shop = make_shop(db,
                        {{"name", "voucher"},
                         {"type", "voucher"},
                         {"cost", "5.00"},
                         {"currency", "USD"},
                         {"config", {{"source", "generated"}, {"length", 8}}}},
                        "100.00", rule("voucher"));
  auto iss =
      nlohmann::json::parse(process(*shop, purchase("0771 234 567", "one")).body)["issuances"][0];
  const std::string id = iss["id"], code = iss["code"];
  REQUIRE(loyalty::issuances::issue_event(*shop->app, shop->tenant_id,
                                          iss["event_id"].get<std::string>()) == 1);
  // The expiry sweep has not run yet: the issuance is still 'issued', its expiry past.
  sql_value(db.owner(),
            "UPDATE issuances SET expires_at = now() - interval '1 minute' WHERE id = '" + id +
                "' RETURNING 1");
  try {
    loyalty::issuances::redeem_by_code(*shop->app, shop->tenant_id, code, std::nullopt,
                                       loyalty::Actor::system());
    FAIL("an expired code was redeemed");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "code-expired");
    CHECK(e.code() == loyalty::ErrorCode::conflict);
  }
  // By id it is the issuance that has expired.
  try {
    loyalty::issuances::redeem(*shop->app, shop->tenant_id, id, std::nullopt, std::nullopt,
                               loyalty::Actor::system());
    FAIL("an expired issuance was redeemed");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "issuance-expired");
  }
  CHECK(loyalty::issuances::get_issuance(*shop->app, shop->tenant_id, id).state == "issued");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM outbox WHERE event_type = 'reward.redeemed'") ==
        "0");
  CHECK(sql_value(db.owner(), "SELECT spent_minor FROM budgets") == "0");
  require_ledger_ok(db);
}
