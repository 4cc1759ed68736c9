// Hostile numbers and text through the real daemon: amounts above the ceiling, numbers no double
// holds, NaN and Infinity, invalid UTF-8, and emails no one can have.
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

TEST_CASE(
    "numbers: 1e400, -1e400, NaN, Infinity and invalid UTF-8 are 400 problem+json on every kind "
    "of endpoint, with no error logged",
    "[http]") {
  Shop shop("hostile-numbers");
  auto& api = shop.api;
  auto& c = shop.creds;
  auto reward = api.post(shop.base + "/reward-catalog",
                         {{"name", "Coffee"},
                          {"type", "voucher"},
                          {"currency", "USD"},
                          {"config", {{"source", "pool"}}}},
                         c.admin_token);
  REQUIRE(reward.status == 201);
  std::string reward_path = shop.base + "/reward-catalog/" + reward.body["id"].get<std::string>();
  auto budget =
      api.post(shop.base + "/budgets", {{"name", "B"}, {"currency", "USD"}}, c.admin_token);
  REQUIRE(budget.status == 201);
  std::string budget_path = shop.base + "/budgets/" + budget.body["id"].get<std::string>();
  std::string before = sql_value(
      shop.db.owner(),
      "SELECT (SELECT count(*) FROM events) || '/' || (SELECT count(*) FROM audit_log) || '/' || "
      "(SELECT count(*) FROM ledger_movements)");

  struct Endpoint {
    std::string method, path, content_type, token;
    std::string body;  ///< JSON with @ where the hostile value goes
  };
  const std::vector<Endpoint> endpoints = {
      {"POST", "/public/auth/login", "application/json", "",
       R"({"email":"admin@hostile-numbers.example","password":@})"},
      {"POST", shop.base + "/events", "application/json", c.pos_key,
       R"({"customer":{"phone":"0771 234 567"},"type":"purchase","idempotency_key":"k-1",)"
       R"("data":{"amount":@,"currency":"USD"}})"},
      {"PATCH", reward_path, "application/merge-patch+json", c.admin_token, R"({"cost":@})"},
      {"POST", shop.base + "/budgets", "application/json", c.admin_token,
       R"({"name":"C","currency":"USD","total":@})"},
      {"POST", budget_path + "/topup", "application/json", c.admin_token,
       R"({"amount":@,"reference":"INV-1"})"},
  };
  const std::vector<std::pair<std::string, std::string>> values = {
      {"1e400", "1e400"},
      {"-1e400", "-1e400"},
      {"NaN", "NaN"},
      {"Infinity", "Infinity"},
      {"-Infinity", "-Infinity"},
      {"invalid UTF-8 in a string", "\"12\xff.50\""},
      {"an overlong encoding in a string", "\"\xc0\xae\""},
      {"a UTF-16 surrogate encoded in UTF-8", "\"\xed\xa0\x80\""},
      {"an escaped lone surrogate", R"("\ud800")"},
      {"invalid UTF-8 raw, outside any string", "\xfe\xff"},
  };
  for (const auto& endpoint : endpoints) {
    for (const auto& [name, value] : values) {
      std::string body = endpoint.body;
      body.replace(body.find('@'), 1, value);
      INFO(endpoint.method << " " << endpoint.path << " with " << name);
      auto res =
          api.send(endpoint.method, endpoint.path, body, endpoint.content_type, endpoint.token);
      require_problem(res, 400, "malformed-request");
    }
  }
  // A number past 64 bits but within a double's range is a well-formed number, refused by the
  // field's own rule (amounts are decimal strings), never wrapped.
  auto wide = api.send("PATCH", reward_path, R"({"cost":18446744073709551616})",
                       "application/merge-patch+json", c.admin_token);
  require_problem(wide, 422, "validation-failed");
  CHECK(pointers(wide) == std::set<std::string>{"/cost"});

  // The code upload takes text, not JSON: invalid UTF-8 there is a 400 too, and nothing is loaded.
  for (const std::string& upload :
       {std::string("code\r\nCOFFEE-0001\r\nCOFFEE-\xff\xfe\r\n"), std::string("\xc0\xae\n")}) {
    auto res = api.post_raw(reward_path + "/upload-codes", upload, "text/csv", c.admin_token);
    require_problem(res, 400, "malformed-request");
    CHECK(res.body["detail"] == "the body is not valid UTF-8");
  }
  CHECK(sql_value(shop.db.owner(), "SELECT count(*) FROM reward_codes") == "0");

  CHECK(sql_value(shop.db.owner(),
                  "SELECT (SELECT count(*) FROM events) || '/' || (SELECT count(*) FROM "
                  "audit_log) || '/' || (SELECT count(*) FROM ledger_movements)") == before);
  auto errors = error_lines(shop.daemon);
  for (const auto& line : errors) INFO(line);
  CHECK(errors.empty());
  // The daemon is still well: an ordinary login works.
  auto login =
      api.post("/public/auth/login", {{"email", c.admin_email}, {"password", c.admin_password}});
  CHECK(login.status == 200);
}

TEST_CASE(
    "numbers: a login email over 254 characters is a 422 before any lookup, even a megabyte of "
    "one, and leaves the throttle alone",
    "[http]") {
  TestDatabase db;
  // The default rate limits and login throttle, as served.
  auto daemon = Daemon::over(db);
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "long-email");

  const std::string at_limit = std::string(254 - 13, 'a') + "@long.example";
  REQUIRE(at_limit.size() == 254);
  auto wrong = api.post("/public/auth/login", {{"email", at_limit}, {"password", "not it"}});
  INFO(wrong.raw);
  CHECK(wrong.status == 401);  // 254 is an email that could exist: looked up, and wrong

  const std::string over = "a" + at_limit;
  const std::string megabyte = std::string(1000 * 1000, 'a') + "@long.example";
  // Far more attempts than the throttle allows failures (10 per address): none counts as one.
  for (int i = 0; i < 15; ++i) {
    auto res = api.post("/public/auth/login", {{"email", i % 2 ? over : megabyte},
                                               {"password", "guess " + std::to_string(i)}});
    require_problem(res, 422, "validation-failed");
    CHECK(pointers(res) == std::set<std::string>{"/email"});
    CHECK(messages(res).find("at most 254 characters") != std::string::npos);
  }
  // The address is not throttled: no failure was recorded for any of them.
  auto login =
      api.post("/public/auth/login", {{"email", c.admin_email}, {"password", c.admin_password}});
  INFO(login.raw);
  CHECK(login.status == 200);
  CHECK(error_lines(daemon).empty());
}
