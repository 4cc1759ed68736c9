// Hostile numbers through the real daemon: amounts above the ceiling.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <set>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
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

std::set<std::string> pointers(const ApiResponse& res) {
  std::set<std::string> out;
  for (const auto& e : res.body["errors"]) out.insert(e["pointer"].get<std::string>());
  return out;
}

void require_problem(const ApiResponse& res, int status, const std::string& type) {
  INFO(res.raw);
  REQUIRE(res.status == status);
  CHECK(res.content_type == "application/problem+json");
  CHECK(res.body["type"] == "https://loyalty.example/problems/" + type);
}

/// The messages of a problem's field errors, joined.
std::string messages(const ApiResponse& res) {
  std::string out;
  for (const auto& e : res.body["errors"]) out += e["message"].get<std::string>() + "\n";
  return out;
}

json purchase(const std::string& amount, const std::string& key) {
  return {{"customer", {{"phone", "0771 234 567"}}},
          {"type", "purchase"},
          {"data", {{"amount", amount}, {"currency", "USD"}}},
          {"idempotency_key", key}};
}

/// The daemon's log lines at error level or above.
std::vector<std::string> error_lines(const Daemon& daemon) {
  std::vector<std::string> out;
  std::string log = daemon.log();
  std::size_t start = 0;
  while (start < log.size()) {
    auto end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string line = log.substr(start, end - start);
    if (line.find("\"level\":\"error\"") != std::string::npos ||
        line.find("\"level\":\"critical\"") != std::string::npos) {
      out.push_back(line);
    }
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE(
    "numbers: amounts above 10^12 minor units are 422 with their pointer, and the maximum passes",
    "[http]") {
  Shop shop("amount-ceiling");
  auto& api = shop.api;
  auto& c = shop.creds;
  const std::string over = "10000000000.01", max = "10000000000.00";

  // An event: 10^12 + 1 minor units is refused, and nothing is written.
  auto refused = api.post(shop.base + "/events", purchase(over, "too-much"), c.pos_key);
  require_problem(refused, 422, "validation-failed");
  CHECK(pointers(refused) == std::set<std::string>{"/data/amount"});
  CHECK(messages(refused).find("at most 10000000000.00") != std::string::npos);
  auto huge = api.post(shop.base + "/events", purchase("92233720368547758.08", "wraps"), c.pos_key);
  require_problem(huge, 422, "validation-failed");
  CHECK(pointers(huge) == std::set<std::string>{"/data/amount"});
  CHECK(sql_value(shop.db.owner(), "SELECT count(*) FROM events") == "0");
  // 10^12 exactly is an ordinary purchase.
  auto accepted = api.post(shop.base + "/events", purchase(max, "the-most"), c.pos_key);
  INFO(accepted.raw);
  CHECK(accepted.status == 201);
  CHECK(sql_value(shop.db.owner(), "SELECT amount_minor FROM events") == "1000000000000");

  // A reward's cost and a fixed discount; a points reward's points.
  auto cost = api.post(shop.base + "/reward-catalog",
                       {{"name", "Yacht"},
                        {"type", "discount"},
                        {"cost", over},
                        {"currency", "USD"},
                        {"config", {{"kind", "fixed"}, {"amount", over}}}},
                       c.admin_token);
  require_problem(cost, 422, "validation-failed");
  CHECK(pointers(cost) == std::set<std::string>{"/cost", "/config/amount"});
  auto points = api.post(shop.base + "/reward-catalog",
                         {{"name", "Points"},
                          {"type", "points"},
                          {"currency", "USD"},
                          {"config", {{"points", 1'000'000'001}}}},
                         c.admin_token);
  require_problem(points, 422, "validation-failed");
  CHECK(pointers(points) == std::set<std::string>{"/config/points"});
  auto top = api.post(shop.base + "/reward-catalog",
                      {{"name", "Yacht"},
                       {"type", "discount"},
                       {"cost", max},
                       {"currency", "USD"},
                       {"config", {{"kind", "fixed"}, {"amount", max}}}},
                      c.admin_token);
  INFO(top.raw);
  CHECK(top.status == 201);
  // A patch is checked like a create.
  auto patched =
      api.send("PATCH", shop.base + "/reward-catalog/" + top.body["id"].get<std::string>(),
               json{{"cost", over}}.dump(), "application/merge-patch+json", c.admin_token);
  require_problem(patched, 422, "validation-failed");
  CHECK(pointers(patched) == std::set<std::string>{"/cost"});

  // A budget's total, each top-up, and the total a top-up would reach.
  auto budget = api.post(shop.base + "/budgets",
                         {{"name", "Big"}, {"currency", "USD"}, {"total", over}}, c.admin_token);
  require_problem(budget, 422, "validation-failed");
  CHECK(pointers(budget) == std::set<std::string>{"/total"});
  auto full = api.post(shop.base + "/budgets",
                       {{"name", "Big"}, {"currency", "USD"}, {"total", max}}, c.admin_token);
  INFO(full.raw);
  REQUIRE(full.status == 201);
  std::string topup = shop.base + "/budgets/" + full.body["id"].get<std::string>() + "/topup";
  auto one_over = api.post(topup, {{"amount", over}, {"reference", "INV-1"}}, c.admin_token);
  require_problem(one_over, 422, "validation-failed");
  CHECK(pointers(one_over) == std::set<std::string>{"/amount"});
  auto past_total = api.post(topup, {{"amount", "0.01"}, {"reference", "INV-2"}}, c.admin_token);
  require_problem(past_total, 422, "amount-too-large");
  CHECK(pointers(past_total) == std::set<std::string>{"/amount"});
  // Nothing of the refused top-up stays: the total, the movements and the reference are as before.
  auto shown = api.get(shop.base + "/budgets/Big", c.admin_token);
  CHECK(shown.body["total"] == max);
  CHECK(sql_value(shop.db.owner(), "SELECT count(*) FROM budget_topups") == "0");
  CHECK(sql_value(shop.db.owner(), "SELECT count(*) FROM ledger_movements") == "1");
  auto verify = loyalty::test::loyaltyctl(shop.db.owner_url(), {"ledger", "verify"});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  CHECK(error_lines(shop.daemon).empty());
}
