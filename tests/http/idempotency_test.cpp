// Idempotency keys over HTTP: concurrent retries of one event, a key reused for another event,
// the same key in two tenants, and how long a key is kept.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <latch>
#include <map>
#include <thread>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::database_fingerprint;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

// No worker: nothing changes the database behind the test's back between two fingerprints.
const std::vector<std::string> kArgs = {"--workers",       "0", "--rate-limit", "0",
                                        "--rate-limit-ip", "0"};

struct Shop {
  std::string tenant_id;
  std::string pos_key;
};

/// A tenant whose purchases of $50 or more earn $1 off, reserved from a hard-capped budget.
Shop make_shop(TestDatabase& db, const std::string& slug) {
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Shop " + slug;
  req.slug = slug;
  req.admin_email = "admin@" + slug + ".example";
  auto created = loyalty::tenants::create_tenant(db.owner(), req);
  Shop shop{created.tenant.id, *created.api_key};
  auto actor = loyalty::Actor::operator_cli();
  loyalty::budgets::create_budget(
      db.owner(), shop.tenant_id, actor,
      {{"name", "main"}, {"currency", "USD"}, {"total", "100.00"}, {"hard_cap", true}});
  loyalty::rewards::create_reward(db.owner(), shop.tenant_id, actor,
                                  {{"name", "dollar-off"},
                                   {"type", "discount"},
                                   {"cost", "1.00"},
                                   {"currency", "USD"},
                                   {"config", {{"kind", "fixed"}, {"amount", "1.00"}}}});
  loyalty::rulesets::import_rules(db.owner(), shop.tenant_id, actor,
                                  {{"rules",
                                    {{{"name", "spend 50"},
                                      {"event_type", "purchase"},
                                      {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                                      {"reward", "dollar-off"},
                                      {"budget", "main"}}}}},
                                  {});
  return shop;
}

json purchase(const std::string& phone, const std::string& amount) {
  return {{"customer", {{"phone", phone}}},
          {"type", "purchase"},
          {"occurred_at", "2026-11-24T10:15:00Z"},
          {"data", {{"amount", amount}, {"currency", "USD"}, {"store", "HRE-01"}}}};
}

ApiResponse post_event(Api& api, const Shop& shop, const std::string& key, const json& body) {
  return api.send("POST", "/v1/tenants/" + shop.tenant_id + "/events", body.dump(),
                  "application/json", shop.pos_key, {{"Idempotency-Key", key}});
}

bool replayed(const ApiResponse& res) {
  auto h = res.headers.find("Idempotent-Replayed");
  return h != res.headers.end() && h->second == "true";
}

std::string count(TestDatabase& db, const std::string& tenant_id, const std::string& sql) {
  return sql_value(db.owner(), sql + " AND tenant_id = '" + tenant_id + "'");
}

}  // namespace

TEST_CASE(
    "idempotency: 50 concurrent posts of one event with one key store 1 event and 1 reservation "
    "and get identical answers, and the key with another body or customer is 422 and writes "
    "nothing",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kArgs);
  Api api(daemon.port());
  auto shop = make_shop(db, "till-shop");
  const json body = purchase("0771 234 567", "62.50");
  const std::string key = "till-7-000123";

  constexpr int kPosts = 50;
  std::vector<ApiResponse> answers(kPosts);
  std::vector<std::string> failures(kPosts);
  std::latch start(kPosts);
  std::vector<std::thread> posters;
  for (int i = 0; i < kPosts; ++i) {
    posters.emplace_back([&, i] {
      Api own(daemon.port());
      start.arrive_and_wait();
      try {
        answers[i] = post_event(own, shop, key, body);
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  }
  for (auto& t : posters) t.join();

  int originals = 0;
  for (int i = 0; i < kPosts; ++i) {
    INFO("post " << i << ": " << failures[i] << answers[i].raw);
    REQUIRE(failures[i].empty());
    CHECK(answers[i].status == 201);
    CHECK(answers[i].raw == answers[0].raw);
    originals += replayed(answers[i]) ? 0 : 1;
  }
  CHECK(originals == 1);  // one post ran the event; the 49 others got its answer
  auto first = json::parse(answers[0].raw);
  REQUIRE(first["issuances"].size() == 1);
  CHECK(first["customer"]["enrolled"] == true);

  CHECK(count(db, shop.tenant_id,
              "SELECT count(*) FROM events WHERE idempotency_key = '" + key + "'") == "1");
  CHECK(count(db, shop.tenant_id, "SELECT count(*) FROM events WHERE true") == "1");
  CHECK(count(db, shop.tenant_id, "SELECT count(*) FROM customers WHERE true") == "1");
  CHECK(count(db, shop.tenant_id, "SELECT count(*) FROM issuances WHERE true") == "1");
  CHECK(count(db, shop.tenant_id, "SELECT count(*) FROM ledger_movements WHERE kind = 'reserve'") ==
        "1");
  CHECK(count(db, shop.tenant_id, "SELECT count(*) FROM jobs WHERE true") == "1");
  // The answer every replay gets is the one stored with the event.
  CHECK(json::parse(count(
            db, shop.tenant_id,
            "SELECT response::text FROM events WHERE idempotency_key = '" + key + "'")) == first);

  // The same key for another event: another body, another customer who would be enrolled on
  // the fly, another customer already known. Each is refused and nothing anywhere changes.
  REQUIRE(post_event(api, shop, "till-7-000124", purchase("0773 111 222", "10.00")).status == 201);
  auto before = database_fingerprint(db);
  for (const auto& other : {purchase("0771 234 567", "99.00"), purchase("0772 999 888", "62.50"),
                            purchase("0773 111 222", "62.50")}) {
    auto res = post_event(api, shop, key, other);
    INFO(other.dump() << " -> " << res.raw);
    CHECK(res.status == 422);
    CHECK(res.content_type == "application/problem+json");
    CHECK(res.body["type"] == "https://loyalty.example/problems/idempotency-key-reused");
    CHECK(res.body["errors"][0]["pointer"] == "/idempotency_key");
    CHECK(!replayed(res));
  }
  CHECK(database_fingerprint(db) == before);
  // And the key still answers its own event, byte for byte.
  auto again = post_event(api, shop, key, body);
  CHECK(again.status == 201);
  CHECK(again.raw == answers[0].raw);
  CHECK(replayed(again));
}

TEST_CASE(
    "idempotency: one key in two tenants makes two independent events, and a key is kept with its "
    "event for good",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kArgs);
  Api api(daemon.port());
  auto a = make_shop(db, "shop-a");
  auto b = make_shop(db, "shop-b");
  const json body = purchase("0771 234 567", "62.50");
  const std::string key = "till-1-0001";

  auto in_a = post_event(api, a, key, body);
  auto in_b = post_event(api, b, key, body);
  INFO(in_a.raw << "\n" << in_b.raw);
  REQUIRE(in_a.status == 201);
  REQUIRE(in_b.status == 201);
  CHECK(!replayed(in_a));
  CHECK(!replayed(in_b));  // not a replay of A's event
  CHECK(in_a.body["event"]["id"] != in_b.body["event"]["id"]);
  CHECK(in_a.body["customer"]["id"] != in_b.body["customer"]["id"]);
  CHECK(in_b.body["customer"]["enrolled"] == true);
  REQUIRE(in_a.body["issuances"].size() == 1);
  REQUIRE(in_b.body["issuances"].size() == 1);
  for (const auto* shop : {&a, &b}) {
    INFO(shop->tenant_id);
    CHECK(count(db, shop->tenant_id,
                "SELECT count(*) FROM events WHERE idempotency_key = '" + key + "'") == "1");
    CHECK(count(db, shop->tenant_id,
                "SELECT count(*) FROM ledger_movements WHERE kind = 'reserve'") == "1");
    CHECK(count(db, shop->tenant_id, "SELECT reserved_minor FROM budgets WHERE true") == "100");
  }
  // Each tenant's retry answers with its own event; another body in B does not disturb A.
  CHECK(post_event(api, a, key, body).raw == in_a.raw);
  CHECK(post_event(api, b, key, body).raw == in_b.raw);
  CHECK(post_event(api, b, key, purchase("0771 234 567", "70.00")).status == 422);
  CHECK(post_event(api, a, key, body).raw == in_a.raw);

  // Retention: a key lives as long as its event, which is never deleted — three years on, a
  // retry still gets the original answer and another body is still refused.
  sql_value(db.owner(),
            "UPDATE events SET created_at = created_at - interval '3 years', occurred_at = "
            "occurred_at - interval '3 years' WHERE tenant_id = '" +
                a.tenant_id + "' RETURNING 1");
  auto before = database_fingerprint(db);
  auto late = post_event(api, a, key, body);
  CHECK(late.status == 201);
  CHECK(late.raw == in_a.raw);
  CHECK(replayed(late));
  CHECK(post_event(api, a, key, purchase("0771 234 567", "80.00")).status == 422);
  CHECK(database_fingerprint(db) == before);
}
