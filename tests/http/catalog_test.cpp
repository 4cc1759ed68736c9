// The catalogue, budgets, ledger, campaigns, rules and audit endpoints through the real daemon.
// (Every route's role matrix and tenant wall are also covered by api_conventions_test.cpp.)
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

#include <set>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

struct Shop {
  TestDatabase db;
  Daemon daemon;
  Api api;
  loyalty::test::TenantCredentials creds;
  std::string base;

  explicit Shop(const std::string& slug)
      : daemon(Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0"})),
        api(daemon.port()),
        creds(loyalty::test::seed_tenant(db, api, slug)),
        base("/v1/tenants/" + creds.tenant_id) {}
};

std::set<std::string> pointers(const loyalty::test::ApiResponse& res) {
  std::set<std::string> out;
  for (const auto& e : res.body["errors"]) out.insert(e["pointer"].get<std::string>());
  return out;
}

void require_problem(const loyalty::test::ApiResponse& res, int status) {
  INFO(res.raw);
  REQUIRE(res.status == status);
  CHECK(res.content_type == "application/problem+json");
}

}  // namespace

TEST_CASE("catalog api: managers write the catalogue, viewers read it, only admins fund budgets",
          "[http]") {
  Shop shop("catalog-roles");
  auto& api = shop.api;
  auto& c = shop.creds;
  json coffee = {{"name", "Free coffee"},
                 {"type", "voucher"},
                 {"cost", "2.50"},
                 {"currency", "USD"},
                 {"config", {{"source", "pool"}}}};
  auto created = api.post(shop.base + "/reward-catalog", coffee, c.manager_token);
  INFO(created.raw);
  REQUIRE(created.status == 201);
  CHECK(created.body["pool"]["available"] == 0);
  std::string reward_id = created.body["id"];
  require_problem(api.post(shop.base + "/reward-catalog", coffee, c.viewer_token), 403);
  require_problem(api.post(shop.base + "/reward-catalog", coffee, c.manager_token), 409);

  auto listed = api.get(shop.base + "/reward-catalog?type=voucher", c.viewer_token);
  REQUIRE(listed.status == 200);
  CHECK(listed.body["items"].size() == 1);
  CHECK(listed.body["next_cursor"].is_null());
  auto patched = api.patch(shop.base + "/reward-catalog/" + reward_id,
                           {{"cost", "3.00"}, {"validity_days", 14}}, c.manager_token);
  REQUIRE(patched.status == 200);
  CHECK(patched.body["cost"] == "3.00");

  json budget = {{"name", "Coffee promo"}, {"currency", "USD"}, {"total", "100.00"}};
  require_problem(api.post(shop.base + "/budgets", budget, c.manager_token), 403);
  auto b = api.post(shop.base + "/budgets", budget, c.admin_token);
  REQUIRE(b.status == 201);
  std::string budget_id = b.body["id"];
  CHECK(api.get(shop.base + "/budgets/" + budget_id, c.manager_token).body["available"] ==
        "100.00");
  CHECK(api.get(shop.base + "/budgets", c.viewer_token).body["items"].size() == 1);

  auto topup = api.post(shop.base + "/budgets/" + budget_id + "/topup",
                        {{"amount", "50.00"}, {"reference", "INV-9"}}, c.admin_token);
  REQUIRE(topup.status == 201);
  CHECK(topup.body["budget"]["total"] == "150.00");
  auto replay = api.post(shop.base + "/budgets/" + budget_id + "/topup",
                         {{"amount", "50"}, {"reference", "INV-9"}}, c.admin_token);
  REQUIRE(replay.status == 200);
  CHECK(replay.body["replayed"] == true);
  CHECK(replay.body["movement_id"] == topup.body["movement_id"]);
  auto clash = api.post(shop.base + "/budgets/" + budget_id + "/topup",
                        {{"amount", "60"}, {"reference", "INV-9"}}, c.admin_token);
  require_problem(clash, 409);
  CHECK(clash.body["type"] == "https://loyalty.example/problems/topup-reference-conflict");
  require_problem(api.post(shop.base + "/budgets/" + budget_id + "/topup",
                           {{"amount", "5"}, {"reference", "X"}}, c.manager_token),
                  403);

  // Another tenant's ids are not found, even under that tenant's own path.
  auto other = loyalty::test::seed_tenant(shop.db, api, "catalog-other");
  require_problem(
      api.get("/v1/tenants/" + other.tenant_id + "/budgets/" + budget_id, other.admin_token), 404);
  require_problem(api.get("/v1/tenants/" + other.tenant_id + "/reward-catalog/" + reward_id,
                          other.viewer_token),
                  404);
}

TEST_CASE("catalog api: bad input is a problem+json with every field's pointer", "[http]") {
  Shop shop("catalog-input");
  auto& api = shop.api;
  auto& c = shop.creds;
  auto bad = api.post(shop.base + "/reward-catalog",
                      {{"name", ""},
                       {"type", "discount"},
                       {"cost", 2.5},
                       {"currency", "EUR"},
                       {"config", {{"kind", "percent"}, {"percent", 0}}}},
                      c.admin_token);
  require_problem(bad, 422);
  CHECK(pointers(bad) == std::set<std::string>{"/name", "/cost", "/currency", "/config/percent"});
  auto unknown = api.post(shop.base + "/budgets",
                          {{"name", "b"}, {"currency", "USD"}, {"colour", "red"}}, c.admin_token);
  require_problem(unknown, 400);
  CHECK(pointers(unknown) == std::set<std::string>{"/colour"});
  auto budget = api.post(shop.base + "/budgets",
                         {{"name", "b"}, {"currency", "USD"}, {"period", "hourly"}}, c.admin_token);
  require_problem(budget, 422);
  CHECK(pointers(budget) == std::set<std::string>{"/period"});
  require_problem(api.get(shop.base + "/ledger?type=gift&from=soon", c.viewer_token), 422);
  require_problem(api.get(shop.base + "/reward-catalog?active=maybe", c.viewer_token), 422);
  require_problem(api.get(shop.base + "/budgets?limit=0", c.viewer_token), 422);
  require_problem(api.get(shop.base + "/budgets/no-such-budget", c.viewer_token), 404);
  CHECK(sql_value(shop.db.owner(), "SELECT count(*) FROM budgets") == "0");
  CHECK(sql_value(shop.db.owner(), "SELECT count(*) FROM rewards") == "0");
}

TEST_CASE("catalog api: codes upload as text/csv and the reward shows its pool", "[http]") {
  Shop shop("catalog-codes");
  auto& api = shop.api;
  auto& c = shop.creds;
  auto reward = api.post(shop.base + "/reward-catalog",
                         {{"name", "Free coffee"},
                          {"type", "voucher"},
                          {"currency", "USD"},
                          {"config", {{"source", "pool"}}}},
                         c.admin_token);
  REQUIRE(reward.status == 201);
  std::string path = shop.base + "/reward-catalog/" + reward.body["id"].get<std::string>();
  auto upload = api.post_raw(path + "/upload-codes",
                             "code\r\nCOFFEE-0001\r\nCOFFEE-0001\r\nnot a code\r\nCOFFEE-0002\r\n",
                             "text/csv", c.manager_token);
  INFO(upload.raw);
  REQUIRE(upload.status == 200);
  CHECK(upload.body["inserted"] == 2);
  CHECK(upload.body["duplicates_in_file"] == 1);
  CHECK(upload.body["invalid"][0]["line"] == 4);
  auto plain = api.post_raw(path + "/upload-codes", "COFFEE-0002\nCOFFEE-0003\n", "text/plain",
                            c.manager_token);
  CHECK(plain.body["already_present"] == 1);
  require_problem(
      api.post_raw(path + "/upload-codes", R"(["CODE1234"])", "application/json", c.admin_token),
      415);
  require_problem(api.post_raw(path + "/upload-codes", "ABCD1234\n", "text/csv", c.viewer_token),
                  403);
  auto shown = api.get(path, c.viewer_token);
  CHECK(shown.body["pool"] == json{{"available", 3}, {"assigned", 0}, {"redeemed", 0}});
}

TEST_CASE("catalog api: rules are validated by the engine and the tenant, then managed", "[http]") {
  Shop shop("catalog-rules");
  auto& api = shop.api;
  auto& c = shop.creds;
  REQUIRE(api.post(shop.base + "/reward-catalog",
                   {{"name", "Points"},
                    {"type", "points"},
                    {"currency", "USD"},
                    {"config", {{"points", 50}}}},
                   c.admin_token)
              .status == 201);
  auto campaign = api.post(shop.base + "/campaigns", {{"name", "Summer"}, {"status", "active"}},
                           c.manager_token);
  REQUIRE(campaign.status == 201);

  auto bad = api.post(shop.base + "/rules",
                      {{"name", "bad"},
                       {"event_type", "purchase"},
                       {"conditions", {{"and", {true, {{"no-such-op", {1}}}}}}},
                       {"reward", "Nothing"},
                       {"caps", {{"per_customer", {{"max", 0}}}}}},
                      c.manager_token);
  require_problem(bad, 422);
  auto p = pointers(bad);
  CHECK(p.count("/reward"));
  CHECK(p.count("/caps/per_customer/max"));
  CHECK(std::any_of(p.begin(), p.end(),
                    [](const std::string& s) { return s.rfind("/conditions/and/1", 0) == 0; }));

  json rule = {{"name", "Big spender"},
               {"event_type", "purchase"},
               {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
               {"reward", "Points"},
               {"campaign", "Summer"}};
  auto created = api.post(shop.base + "/rules", rule, c.manager_token);
  INFO(created.raw);
  REQUIRE(created.status == 201);
  CHECK(created.body["campaign_id"] == campaign.body["id"]);
  std::string rule_path = shop.base + "/rules/" + created.body["id"].get<std::string>();
  require_problem(api.post(shop.base + "/rules", rule, c.viewer_token), 403);

  auto patched = api.patch(rule_path, {{"conditions", {{">=", {{{"var", "event.amount"}}, 80}}}}},
                           c.manager_token);
  REQUIRE(patched.status == 200);
  CHECK(patched.body["conditions"][">="][1] == 80);
  auto listed = api.get(shop.base + "/rules?campaign=Summer&active=true", c.viewer_token);
  CHECK(listed.body["items"].size() == 1);

  auto paused = api.patch(shop.base + "/campaigns/" + campaign.body["id"].get<std::string>(),
                          {{"status", "paused"}}, c.manager_token);
  CHECK(paused.body["status"] == "paused");
  require_problem(api.patch(shop.base + "/campaigns/" + campaign.body["id"].get<std::string>(),
                            {{"status", "draft"}}, c.manager_token),
                  409);

  auto deleted = api.del(rule_path, c.manager_token);
  CHECK(deleted.status == 204);
  require_problem(api.get(rule_path, c.viewer_token), 404);
  CHECK(sql_value(shop.db.owner(),
                  "SELECT rules_version > 1 FROM tenants WHERE id = '" + c.tenant_id + "'") == "t");
}

TEST_CASE("catalog api: the ledger lists movements and the audit log says who changed what",
          "[http]") {
  Shop shop("catalog-audit");
  auto& api = shop.api;
  auto& c = shop.creds;
  auto b = api.post(shop.base + "/budgets",
                    {{"name", "Main"}, {"currency", "USD"}, {"total", "10"}}, c.admin_token);
  REQUIRE(b.status == 201);
  REQUIRE(api.post(shop.base + "/budgets/Main/topup", {{"amount", "5"}, {"reference", "T-1"}},
                   c.admin_token)
              .status == 201);

  auto ledger = api.get(shop.base + "/ledger?type=topup&budget=Main&limit=1", c.viewer_token);
  REQUIRE(ledger.status == 200);
  REQUIRE(ledger.body["items"].size() == 1);
  CHECK(ledger.body["items"][0]["amount"] == "5.00");
  CHECK(ledger.body["items"][0]["reference"] == "T-1");
  REQUIRE(ledger.body["next_cursor"].is_string());
  auto next = api.get(shop.base + "/ledger?type=topup&budget=Main&limit=1&cursor=" +
                          ledger.body["next_cursor"].get<std::string>(),
                      c.viewer_token);
  CHECK(next.body["items"][0]["amount"] == "10.00");
  CHECK(next.body["next_cursor"].is_null());

  auto audit = api.get(shop.base + "/audit?limit=5", c.admin_token);
  REQUIRE(audit.status == 200);
  REQUIRE(audit.body["items"].size() >= 2);
  CHECK(audit.body["items"][0]["action"] == "budget.topup");
  CHECK(audit.body["items"][0]["actor_type"] == "user");
  CHECK(audit.body["items"][1]["action"] == "budget.create");
  require_problem(api.get(shop.base + "/audit", c.manager_token), 403);
  require_problem(api.get(shop.base + "/audit", c.pos_key), 403);
  // Cursors that decode but are not ours ("v1|abc|", "v1|-5|") are bad input, not a 500.
  for (const char* forged : {"djF8YWJjfA", "djF8LTV8"}) {
    require_problem(api.get(shop.base + "/audit?cursor=" + forged, c.admin_token), 422);
    require_problem(api.get(shop.base + "/ledger?cursor=" + forged, c.viewer_token), 422);
  }
}
