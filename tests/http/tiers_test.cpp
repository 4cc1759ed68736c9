// Tiers through the real daemon: admins define the ladder, everyone reads it, a bad ladder is a
// problem+json with a pointer per field, and 30 purchases of one customer at once (grouped by
// the daemon's group commit) move them exactly twice.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

const std::vector<std::string> kDaemonArgs = {"--workers",       "1", "--rate-limit", "0",
                                              "--rate-limit-ip", "0"};

const json kLadder = {{"measure", "amount_spent"},
                      {"window", "rolling"},
                      {"window_days", 365},
                      {"grace_days", 30},
                      {"tiers",
                       {{{"name", "Silver"}, {"threshold", 10000}},
                        {{"name", "Gold"}, {"threshold", 25000}, {"multiplier_bp", 15000}}}}};

ApiResponse put_tiers(Api& api, const std::string& base, const json& body,
                      const std::string& token) {
  return api.send("PUT", base + "/tiers", body.dump(), "application/json", token);
}

ApiResponse purchase(Api& api, const std::string& base, const std::string& key,
                     const std::string& amount, const std::string& pos_key) {
  return api.post(base + "/events",
                  {{"customer", {{"phone", "0771 234 567"}}},
                   {"type", "purchase"},
                   {"data", {{"amount", amount}, {"currency", "USD"}}},
                   {"idempotency_key", key}},
                  pos_key);
}

}  // namespace

TEST_CASE(
    "tiers api: admins replace the ladder, every user reads it, a bad one is a 422 with a pointer "
    "per field, and a customer shows their tier and history",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "tiers-api");
  std::string base = "/v1/tenants/" + c.tenant_id;

  auto none = api.get(base + "/tiers", c.viewer_token);
  REQUIRE(none.status == 200);
  CHECK(none.body["tiers"] == json::array());
  CHECK(none.body["measure"].is_null());

  CHECK(put_tiers(api, base, kLadder, c.manager_token).status == 403);
  CHECK(put_tiers(api, base, kLadder, c.viewer_token).status == 403);
  auto set = put_tiers(api, base, kLadder, c.admin_token);
  INFO(set.raw);
  REQUIRE(set.status == 200);
  CHECK(set.body["measure"] == "amount_spent");
  CHECK(set.body["window_days"] == 365);
  CHECK(set.body["grace_days"] == 30);
  REQUIRE(set.body["tiers"].size() == 2);
  CHECK(set.body["tiers"][0]["name"] == "Silver");
  CHECK(set.body["tiers"][0]["rank"] == 1);
  CHECK(set.body["tiers"][0]["multiplier_bp"] == 10000);
  CHECK(set.body["tiers"][1]["multiplier_bp"] == 15000);
  auto read = api.get(base + "/tiers", c.viewer_token);
  CHECK(read.body == set.body);

  // Thresholds that do not rise, an unknown measure, a rolling window without its days.
  auto bad = put_tiers(
      api, base,
      {{"measure", "visits"},
       {"window", "rolling"},
       {"tiers",
        {{{"name", "Silver"}, {"threshold", 10000}}, {{"name", "Gold"}, {"threshold", 9000}}}}},
      c.admin_token);
  CHECK(bad.status == 422);
  CHECK(bad.content_type == "application/problem+json");
  json pointers = json::array();
  for (const auto& e : bad.body["errors"]) pointers.push_back(e["pointer"]);
  CHECK(pointers == json({"/measure", "/window_days", "/tiers/1/threshold"}));
  CHECK(api.get(base + "/tiers", c.viewer_token).body == set.body);

  // A purchase over $100 reaches Silver at once.
  auto bought = purchase(api, base, "p-1", "120.00", c.pos_key);
  REQUIRE(bought.status == 201);
  std::string customer = bought.body["customer"]["id"];
  auto shown = api.get(base + "/customers/" + customer, c.viewer_token);
  CHECK(shown.body["tier"] == "Silver");
  auto history = api.get(base + "/customers/" + customer + "/tiers", c.pos_key);
  INFO(history.raw);
  REQUIRE(history.status == 200);
  CHECK(history.body["tier"] == "Silver");
  CHECK(history.body["measure"] == 12000);
  CHECK(history.body["below_since"].is_null());
  REQUIRE(history.body["changes"].size() == 1);
  CHECK(history.body["changes"][0]["from"].is_null());
  CHECK(history.body["changes"][0]["to"] == "Silver");
  CHECK(history.body["changes"][0]["reason"] == "upgrade");
  CHECK(history.body["changes"][0]["measure"] == 12000);
  CHECK(history.body["changes"][0]["event_id"] == bought.body["event"]["id"]);
  CHECK(api.get(base + "/customers/8d5f7a38-0c4e-4f7e-9a55-2f3a0b6c1d01/tiers", c.viewer_token)
            .status == 404);

  // Another tenant sees none of it.
  auto other = loyalty::test::seed_tenant(db, api, "tiers-other");
  CHECK(api.get("/v1/tenants/" + other.tenant_id + "/customers/" + customer + "/tiers",
                other.viewer_token)
            .status == 404);
}

TEST_CASE(
    "tiers api: 30 concurrent purchases of one customer cross two thresholds: Gold, with exactly "
    "two history rows and two tier.changed outbox rows",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "tiers-race");
  std::string base = "/v1/tenants/" + c.tenant_id;
  REQUIRE(put_tiers(api, base, kLadder, c.admin_token).status == 200);
  auto first = purchase(api, base, "enrol", "0.00", c.pos_key);
  REQUIRE(first.status == 201);
  std::string customer = first.body["customer"]["id"];

  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 30; ++i) {
    threads.emplace_back([&, i] {
      Api client(daemon.port());
      if (purchase(client, base, "race-" + std::to_string(i), "10.00", c.pos_key).status == 201)
        ++created;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(created == 30);
  auto history = api.get(base + "/customers/" + customer + "/tiers", c.viewer_token);
  CHECK(history.body["tier"] == "Gold");
  CHECK(history.body["measure"] == 30000);
  REQUIRE(history.body["changes"].size() == 2);
  CHECK(history.body["changes"][0]["from"] == "Silver");
  CHECK(history.body["changes"][0]["to"] == "Gold");
  CHECK(history.body["changes"][0]["measure"] == 25000);
  CHECK(history.body["changes"][1]["to"] == "Silver");
  CHECK(history.body["changes"][1]["measure"] == 10000);
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(payload->>'to', ',' ORDER BY id) FROM outbox WHERE "
                  "event_type = 'tier.changed'") == "Silver,Gold");
}
