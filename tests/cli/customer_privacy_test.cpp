// A customer's data on request: loyaltyctl customer export and erase (and the admin API), with
// the real daemon filling every table that holds a customer's data first.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

/// Tables and columns (text, json, arrays) where `needle` still appears, as "table.column".
std::vector<std::string> holders(TestDatabase& db, const std::string& needle) {
  std::vector<std::string> out;
  const std::string columns = sql_value(db.owner(), R"sql(
    SELECT string_agg(table_name || '.' || column_name, ' ' ORDER BY table_name, column_name)
      FROM information_schema.columns c
      JOIN information_schema.tables t USING (table_schema, table_name)
     WHERE table_schema = 'public' AND t.table_type = 'BASE TABLE'
       AND data_type IN ('text', 'jsonb', 'json', 'ARRAY', 'character varying'))sql");
  std::size_t from = 0;
  while (from < columns.size()) {
    auto space = columns.find(' ', from);
    const std::string tc =
        columns.substr(from, space == std::string::npos ? std::string::npos : space - from);
    from = space == std::string::npos ? columns.size() : space + 1;
    const auto dot = tc.find('.');
    const std::string n =
        sql_value(db.owner(), "SELECT count(*) FROM " + tc.substr(0, dot) + " WHERE " +
                                  tc.substr(dot + 1) + "::text LIKE '%" + needle + "%'");
    if (n != "0") out.push_back(tc);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "cli: customer export holds everything about one customer, and erase leaves no table "
    "holding the phone number or the name while the ledger still verifies",
    "[cli]") {
  TestDatabase db;
  const std::string secret = "gw-secret-123456";
  auto daemon = Daemon::over(
      db, {"--rate-limit", "0", "--rate-limit-ip", "0", "--workers", "1", "--ussd-secret", secret});
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "shop");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  REQUIRE(api.post(base + "/reward-catalog",
                   {{"name", "10 points"},
                    {"type", "points"},
                    {"currency", "USD"},
                    {"config", {{"points", 10}}}},
                   c.manager_token)
              .status == 201);
  REQUIRE(api.post(base + "/rules",
                   {{"name", "Points"},
                    {"event_type", "purchase"},
                    {"conditions", true},
                    {"reward", "10 points"}},
                   c.manager_token)
              .status == 201);
  auto created = api.post(base + "/customers",
                          {{"phone", "0771 234 567"},
                           {"external_ref", "CARD-7731"},
                           {"consent", true},
                           {"attributes", {{"name", "Tendai Moyo"}}},
                           {"tags", {"Tendai"}}},
                          c.pos_key);
  INFO(created.raw);
  REQUIRE(created.status == 201);
  const std::string id = created.body["id"];
  auto event = api.send(
      "POST", base + "/events",
      json{{"customer", {{"phone", "+263771234567"}}},
           {"type", "purchase"},
           {"data",
            {{"amount", "12.00"}, {"currency", "USD"}, {"note", "for Tendai, +263771234567"}}}}
          .dump(),
      "application/json", c.pos_key, {{"Idempotency-Key", "till-1"}});
  INFO(event.raw);
  REQUIRE(event.status == 201);
  loyalty::test::wait_for_value(db.owner(), "SELECT state FROM issuances", "issued");
  // A USSD session left open.
  REQUIRE(loyaltyctl(db.owner_url(), {"channel", "add", "--tenant", "shop", "--ussd", "*123#"})
              .exit_code == 0);
  auto ussd = api.send("POST", "/public/ussd/callback?secret=" + secret,
                       "sessionId=S1&serviceCode=%2A123%23&phoneNumber=%2B263771234567&text=",
                       "application/x-www-form-urlencoded", "", {});
  REQUIRE(ussd.status == 200);
  REQUIRE(sql_value(db.owner(), "SELECT count(*) FROM channel_sessions") == "1");
  CHECK_FALSE(holders(db, "771234567").empty());

  SECTION("export") {
    auto r = loyaltyctl(db.owner_url(),
                        {"customer", "export", "--tenant", "shop", "--customer", "0771234567"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(r.out);
    CHECK(doc["format"] == "loyalty.customer-export/1");
    CHECK(doc["customer"]["phone"] == "+263771234567");
    CHECK(doc["customer"]["attributes"]["name"] == "Tendai Moyo");
    CHECK(doc["events"].size() == 1);
    CHECK(doc["events"][0]["amount_minor"] == 1200);
    CHECK(doc["issuances"].size() == 1);
    CHECK(doc["points"].size() == 1);
    CHECK(doc["points"][0]["points"] == 10);
    CHECK(doc["channel_sessions"].size() == 1);
    CHECK(doc["tier_history"] == json::array());
    CHECK(doc["consent_history"].size() >= 1);
    CHECK(doc["consent_history"][0]["action"] == "customer.create");
    REQUIRE(doc["consents"].size() == 1);
    CHECK(doc["consents"][0]["consent"] == "given");
    CHECK(sql_value(db.owner(),
                    "SELECT count(*) FROM audit_log WHERE action = "
                    "'customer.export'") == "1");
    // The same for admins on the API; not for viewers.
    CHECK(api.get(base + "/customers/" + id + "/export", c.viewer_token).status == 403);
    auto api_doc = api.get(base + "/customers/" + id + "/export", c.admin_token);
    CHECK(api_doc.status == 200);
    CHECK(api_doc.body["events"] == doc["events"]);
  }

  SECTION("erase") {
    auto r = loyaltyctl(db.owner_url(),
                        {"customer", "erase", "--tenant", "shop", "--customer", "+263771234567"});
    CHECK(r.exit_code == 2);  // irreversible: not without --yes or a terminal
    CHECK(sql_value(db.owner(), "SELECT status FROM customers") == "active");

    r = loyaltyctl(db.owner_url(),
                   {"customer", "erase", "--tenant", "shop", "--customer", id, "--yes"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "erased " + id + " (status erased)\n");
    for (const std::string needle : {"771234567", "Tendai", "CARD-7731"}) {
      INFO(needle);
      CHECK(holders(db, needle) == std::vector<std::string>{});
    }
    // The amounts stay: the points, the event's amount, the ledger.
    CHECK(sql_value(db.owner(), "SELECT points_balance || ':' || status FROM customers") ==
          "10:erased");
    CHECK(sql_value(db.owner(), "SELECT amount_minor FROM events") == "1200");
    auto verify = loyaltyctl(db.owner_url(), {"ledger", "verify"});
    CHECK(verify.exit_code == 0);

    // Again: nothing changes, no second audit row; the API answers the same.
    r = loyaltyctl(db.owner_url(),
                   {"customer", "erase", "--tenant", "shop", "--customer", id, "--yes"});
    CHECK(r.exit_code == 0);
    auto again = api.post(base + "/customers/" + id + "/erase", json::object(), c.admin_token);
    CHECK(again.status == 200);
    CHECK(again.body["status"] == "erased");
    CHECK(again.body["phone"].is_null());
    CHECK(sql_value(db.owner(),
                    "SELECT count(*) FROM audit_log WHERE action = "
                    "'customer.erase'") == "1");
    CHECK(api.post(base + "/customers/" + id + "/erase", json::object(), c.manager_token).status ==
          403);
    // The phone number is free again: the customer can enrol anew as someone new.
    auto anew =
        api.post(base + "/customers", {{"phone", "0771 234 567"}, {"consent", true}}, c.pos_key);
    CHECK(anew.status == 201);
    CHECK(anew.body["id"] != id);
  }
}
