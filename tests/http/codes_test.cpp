// Who reads voucher codes: admins and managers in clear; viewers and POS keys masked, except in
// the answer to the event that issued them (a till prints that one, and redeems by the code the
// customer shows).
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::TestDatabase;
using nlohmann::json;

TEST_CASE("codes: viewers and POS keys see voucher codes masked, admins and managers in clear",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "codes-shop");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  REQUIRE(api.post(base + "/budgets", {{"name", "Launch"}, {"currency", "USD"}, {"total", "50.00"}},
                   c.admin_token)
              .status == 201);
  REQUIRE(api.post(base + "/reward-catalog",
                   {{"name", "$5 off"},
                    {"type", "voucher"},
                    {"cost", "5.00"},
                    {"currency", "USD"},
                    {"validity_days", 30},
                    {"budget", "Launch"},
                    {"config", {{"source", "generated"}, {"prefix", "FIVE-"}, {"length", 8}}}},
                   c.manager_token)
              .status == 201);
  REQUIRE(api.post(base + "/rules",
                   {{"name", "Spend 50, get 5"},
                    {"event_type", "purchase"},
                    {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                    {"reward", "$5 off"},
                    {"budget", "Launch"}},
                   c.manager_token)
              .status == 201);

  // The till gets the code it must print in the answer to its event, in clear.
  auto posted = api.send("POST", base + "/events",
                         json{{"customer", {{"phone", "0771 234 567"}}},
                              {"type", "purchase"},
                              {"data", {{"amount", "62.50"}, {"currency", "USD"}}}}
                             .dump(),
                         "application/json", c.pos_key, {{"Idempotency-Key", "till-1-0001"}});
  INFO(posted.raw);
  REQUIRE(posted.status == 201);
  REQUIRE(posted.body["issuances"].size() == 1);
  const std::string code = posted.body["issuances"][0]["code"];
  const std::string issuance = posted.body["issuances"][0]["id"];
  const std::string event = posted.body["event"]["id"];
  REQUIRE(code.size() == 13);  // FIVE- and 8 generated characters
  REQUIRE(code.rfind("FIVE-", 0) == 0);
  const std::string masked = std::string(code.size() - 4, '*') + code.substr(code.size() - 4);

  const std::vector<std::string> reads = {base + "/issuances", base + "/issuances/" + issuance,
                                          base + "/events", base + "/events/" + event,
                                          base + "/issuances?event_id=" + event};
  // Each read's issuance codes, wherever the answer holds them.
  const auto codes_in = [](const json& body) {
    std::vector<std::string> out;
    const auto from_issuance = [&](const json& i) {
      if (i.contains("code") && i["code"].is_string()) out.push_back(i["code"]);
    };
    const auto from_event = [&](const json& e) {
      for (const auto& i : e["issuances"]) from_issuance(i);
    };
    const json items = body.contains("items") ? body["items"] : json::array({body});
    for (const auto& item : items) {
      if (item.contains("issuances")) {
        from_event(item);
      } else {
        from_issuance(item);
      }
    }
    return out;
  };
  for (const std::string role : {"admin", "manager", "viewer", "pos"}) {
    const bool clear = role == "admin" || role == "manager";
    for (const auto& path : reads) {
      INFO(role << " GET " << path);
      auto res = api.get(path, c.token(role));
      INFO(res.raw);
      REQUIRE(res.status == 200);
      CHECK(codes_in(res.body) == std::vector<std::string>{clear ? code : masked});
      if (!clear) CHECK(res.raw.find(code.substr(5)) == std::string::npos);
    }
  }

  // A replay of the event is the same answer, byte for byte: the code in clear again.
  auto replayed = api.send("POST", base + "/events",
                           json{{"customer", {{"phone", "0771 234 567"}}},
                                {"type", "purchase"},
                                {"data", {{"amount", "62.50"}, {"currency", "USD"}}}}
                               .dump(),
                           "application/json", c.pos_key, {{"Idempotency-Key", "till-1-0001"}});
  CHECK(replayed.raw == posted.raw);

  // The till redeems with the code the customer shows; its answer does not repeat it.
  CHECK(loyalty::test::wait_for_value(db.owner(), "SELECT state FROM issuances", "issued") ==
        "issued");
  auto redeemed = api.post(base + "/redemptions", {{"code", code}}, c.pos_key);
  INFO(redeemed.raw);
  CHECK(redeemed.status == 200);
  CHECK(redeemed.body["state"] == "redeemed");
  CHECK(redeemed.body["code"] == masked);
  CHECK(api.get(base + "/issuances/" + issuance, c.manager_token).body["code"] == code);
}

TEST_CASE("codes: a till's expired code is refused 409 code-expired and the reward stays issued",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "expiry-shop");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  REQUIRE(api.post(base + "/budgets", {{"name", "Launch"}, {"currency", "USD"}, {"total", "50.00"}},
                   c.admin_token)
              .status == 201);
  REQUIRE(api.post(base + "/reward-catalog",
                   {{"name", "$5 off"},
                    {"type", "voucher"},
                    {"cost", "5.00"},
                    {"currency", "USD"},
                    {"validity_days", 30},
                    {"budget", "Launch"},
                    {"config", {{"source", "generated"}, {"length", 8}}}},
                   c.manager_token)
              .status == 201);
  REQUIRE(api.post(base + "/rules",
                   {{"name", "Spend 50, get 5"},
                    {"event_type", "purchase"},
                    {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                    {"reward", "$5 off"},
                    {"budget", "Launch"}},
                   c.manager_token)
              .status == 201);
  auto posted = api.send("POST", base + "/events",
                         json{{"customer", {{"phone", "0771 234 567"}}},
                              {"type", "purchase"},
                              {"data", {{"amount", "62.50"}, {"currency", "USD"}}}}
                             .dump(),
                         "application/json", c.pos_key, {{"Idempotency-Key", "till-1-0001"}});
  INFO(posted.raw);
  REQUIRE(posted.status == 201);
  REQUIRE(posted.body["issuances"].size() == 1);
  const std::string code = posted.body["issuances"][0]["code"];
  const std::string issuance = posted.body["issuances"][0]["id"];
  REQUIRE(loyalty::test::wait_for_value(db.owner(), "SELECT state FROM issuances", "issued") ==
          "issued");
  // Thirty days on, before the expiry sweep has marked it: its expiry is past, its state issued.
  loyalty::test::sql_value(
      db.owner(), "UPDATE issuances SET expires_at = now() - interval '1 minute' RETURNING 1");

  auto refused = api.post(base + "/redemptions", {{"code", code}}, c.pos_key);
  INFO(refused.raw);
  CHECK(refused.status == 409);
  CHECK(refused.content_type == "application/problem+json");
  CHECK(refused.body["type"] == "https://loyalty.example/problems/code-expired");
  CHECK(refused.raw.find(code) == std::string::npos);
  auto shown = api.get(base + "/issuances/" + issuance, c.manager_token);
  CHECK(shown.body["state"] == "issued");
  CHECK(loyalty::test::sql_value(db.owner(), "SELECT redeemed_at IS NULL FROM issuances") == "t");
  CHECK(loyalty::test::sql_value(db.owner(), "SELECT spent_minor FROM budgets") == "0");
  CHECK(loyalty::test::sql_value(
            db.owner(), "SELECT count(*) FROM outbox WHERE event_type = 'reward.redeemed'") == "0");
}
