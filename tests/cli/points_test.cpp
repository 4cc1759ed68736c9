// loyaltyctl points adjust and history: the operator's view of a customer's points.
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <loyalty/customers/customers.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>

using loyalty::Actor;
using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

TEST_CASE(
    "points cli: adjust adds a lot that never expires, takes points back from the lot expiring "
    "first, never below zero, and history shows each with its reason",
    "[cli]") {
  TestDatabase db;
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Adjust Shop";
  req.slug = "adjust-shop";
  auto tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  loyalty::customers::NewCustomer who;
  who.phone = "0771 234 567";
  who.consent = true;
  auto customer = loyalty::customers::create_customer(db.app(), tenant, who, Actor::system());

  auto up = loyaltyctl(db.owner_url(),
                       {"points", "adjust", "--tenant", "adjust-shop", "--customer", "0771 234 567",
                        "--points", "25", "--reason", "goodwill: late delivery"});
  INFO(up.err);
  CHECK(up.exit_code == 0);
  CHECK(up.out == "adjusted +25 points: balance 25\n");
  auto down = loyaltyctl(db.owner_url(),
                         {"points", "adjust", "--tenant", "adjust-shop", "--customer", customer.id,
                          "--points", "-10", "--reason", "duplicate credit", "--json"});
  INFO(down.err);
  CHECK(down.exit_code == 0);
  CHECK(json::parse(down.out) == json{{"points", -10}, {"balance", 15}, {"lot_id", nullptr}});

  // Below zero: refused with one line, nothing changed.
  auto refused =
      loyaltyctl(db.owner_url(), {"points", "adjust", "--tenant", "adjust-shop", "--customer",
                                  customer.id, "--points", "-16", "--reason", "too much"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.out.empty());
  CHECK(refused.err.find("cannot go below zero") != std::string::npos);
  CHECK(std::count(refused.err.begin(), refused.err.end(), '\n') == 1);
  auto no_reason =
      loyaltyctl(db.owner_url(), {"points", "adjust", "--tenant", "adjust-shop", "--customer",
                                  customer.id, "--points", "5", "--reason", ""});
  CHECK(no_reason.exit_code != 0);
  CHECK(no_reason.err.find("/reason") != std::string::npos);
  CHECK(sql_value(db.owner(), "SELECT points_balance FROM customers") == "15");
  CHECK(sql_value(db.owner(),
                  "SELECT amount || ' ' || remaining || ' ' || "
                  "coalesce(expires_at::text, 'never') FROM points_lots") == "25 15 never");

  auto history = loyaltyctl(db.owner_url(), {"points", "history", "--tenant", "adjust-shop",
                                             "--customer", customer.id, "--json"});
  INFO(history.err);
  REQUIRE(history.exit_code == 0);
  auto h = json::parse(history.out);
  CHECK(h["balance"] == 15);
  REQUIRE(h["items"].size() == 2);
  CHECK(h["items"][0]["kind"] == "adjustment");
  CHECK(h["items"][0]["points"] == -10);
  CHECK(h["items"][0]["reason"] == "duplicate credit");
  CHECK(h["items"][0]["actor"] == "operator");
  CHECK(h["items"][1]["reason"] == "goodwill: late delivery");
  CHECK(h["items"][1]["lot"]["expires_at"].is_null());
  auto text = loyaltyctl(
      db.owner_url(), {"points", "history", "--tenant", "adjust-shop", "--customer", customer.id});
  CHECK(text.out.rfind("balance 15 (spendable 15)\n", 0) == 0);
  CHECK(text.out.find("adjustment      -10  lot") != std::string::npos);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM audit_log WHERE action = 'points.adjust'") ==
        "2");
}

TEST_CASE(
    "points cli: grant applies a CSV all or nothing, idempotent by reference, and reports every "
    "applied and refused line",
    "[cli]") {
  TestDatabase db;
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Grant Shop";
  req.slug = "grant-shop";
  auto tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  std::vector<std::string> ids;
  for (const char* phone : {"0771 234 567", "0772 345 678"}) {
    loyalty::customers::NewCustomer who;
    who.phone = phone;
    ids.push_back(loyalty::customers::create_customer(db.app(), tenant, who, Actor::system()).id);
  }
  const auto dir = std::filesystem::temp_directory_path() / ("points-grant-" + db.name());
  std::filesystem::create_directories(dir);
  auto file = [&](const std::string& name, const std::string& text) {
    std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  };
  // A header, CRLF line ends, a quoted reason with a comma and a quote, an id and a phone.
  auto good = file("good.csv",
                   "customer,points,reason,reference\r\n"
                   "+263771234567,100,\"launch, \"\"thank you\"\"\",LAUNCH-1\r\n" +
                       ids[1] + ",50,launch,LAUNCH-2\r\n");
  auto dry = loyaltyctl(db.owner_url(),
                        {"points", "grant", "--tenant", "grant-shop", good, "--dry-run", "--json"});
  INFO(dry.err);
  REQUIRE(dry.exit_code == 0);
  auto planned = json::parse(dry.out);
  CHECK(planned["dry_run"] == true);
  CHECK(planned["applied_all"] == false);
  CHECK(planned["lines"] == 2);
  CHECK(planned["points"] == 150);
  CHECK(planned["applied"][0] ==
        json{{"line", 2}, {"customer_id", ids[0]}, {"points", 100}, {"reference", "LAUNCH-1"}});
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM points_ledger") == "0");

  auto applied = loyaltyctl(db.owner_url(), {"points", "grant", "--tenant", "grant-shop", good});
  INFO(applied.err);
  CHECK(applied.exit_code == 0);
  CHECK(applied.out.find("2 lines: 2 granted (150 points), 0 already granted, 0 refused") !=
        std::string::npos);
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(points_balance::text, ',' ORDER BY phone) FROM "
                  "customers") == "100,50");
  CHECK(sql_value(db.owner(), "SELECT reason FROM points_ledger WHERE reference = 'LAUNCH-1'") ==
        "launch, \"thank you\"");
  CHECK(sql_value(db.owner(), "SELECT string_agg(DISTINCT kind, ',') FROM points_ledger") ==
        "grant");

  // Again: every line already granted, nothing changes.
  auto again =
      loyaltyctl(db.owner_url(), {"points", "grant", "--tenant", "grant-shop", good, "--json"});
  CHECK(again.exit_code == 0);
  CHECK(json::parse(again.out)["already_applied"] == json{2, 3});
  CHECK(sql_value(db.owner(), "SELECT sum(points_balance) FROM customers") == "150");

  // One bad line refuses the whole file: nothing applied, every refusal reported.
  auto bad = file("bad.csv",
                  "+263771234567,10,more,MORE-1\n"
                  "0779 999 999,10,unknown customer,MORE-2\n"
                  "+263772345678,-5,negative,MORE-3\n"
                  "+263772345678,5,twice,MORE-1\n"
                  "+263772345678,5,\"unclosed,MORE-4\n");
  auto refused = loyaltyctl(db.owner_url(), {"points", "grant", "--tenant", "grant-shop", bad});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err == "loyaltyctl: 4 line(s) refused: nothing was granted\n");
  CHECK(refused.out.find("line 2: refused: no such customer in this tenant") != std::string::npos);
  CHECK(refused.out.find("line 3: refused: points must be a whole number") != std::string::npos);
  CHECK(refused.out.find("line 4: refused: the reference is also on line 1") != std::string::npos);
  CHECK(refused.out.find("line 5: refused: malformed CSV") != std::string::npos);
  CHECK(refused.out.find("999999") == std::string::npos);  // never the phone number
  CHECK(sql_value(db.owner(), "SELECT sum(points_balance) FROM customers") == "150");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM points_ledger") == "2");
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "points cli: 8 concurrent runs of one grant file grant each line once: one run grants, the "
    "others report every line already granted",
    "[cli]") {
  TestDatabase db;
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Race Shop";
  req.slug = "race-shop";
  auto tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  std::string csv = "customer,points,reason,reference\n";
  for (const char* phone : {"0771 234 567", "0772 345 678", "0773 456 789"}) {
    loyalty::customers::NewCustomer who;
    who.phone = phone;
    auto id = loyalty::customers::create_customer(db.app(), tenant, who, Actor::system()).id;
    csv += id + ",40,launch," + "RACE-" + id + "\n";
  }
  const auto dir = std::filesystem::temp_directory_path() / ("points-race-" + db.name());
  std::filesystem::create_directories(dir);
  auto path = (dir / "launch.csv").string();
  std::ofstream(path, std::ios::binary) << csv;

  std::vector<std::future<loyalty::test::CommandResult>> runs;
  for (int i = 0; i < 8; ++i) {
    runs.push_back(std::async(std::launch::async, [&] {
      return loyaltyctl(db.owner_url(), {"points", "grant", "--tenant", "race-shop", path});
    }));
  }
  int granted = 0, already = 0;
  for (auto& run : runs) {
    auto r = run.get();
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    if (r.out.find("3 lines: 3 granted (120 points), 0 already granted, 0 refused") !=
        std::string::npos) {
      ++granted;
    } else if (r.out.find("3 lines: 0 granted (0 points), 3 already granted, 0 refused") !=
               std::string::npos) {
      ++already;
    }
  }
  CHECK(granted == 1);
  CHECK(already == 7);
  CHECK(sql_value(db.owner(), "SELECT string_agg(points_balance::text, ',') FROM customers") ==
        "40,40,40");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM points_ledger") == "3");
  auto verify = loyaltyctl(db.owner_url(), {"ledger", "verify"});
  CHECK(verify.exit_code == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "points cli: with a returns window, history shows the pending points, each pending lot with "
    "when it comes due, and the pending part of each movement",
    "[cli]") {
  TestDatabase db;
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Pending Shop";
  req.slug = "pending-shop";
  auto tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  REQUIRE(loyaltyctl(db.owner_url(), {"tenant", "update", "--tenant", "pending-shop",
                                      "--points-pending-days", "14"})
              .exit_code == 0);
  auto actor = Actor::operator_cli();
  loyalty::rewards::create_reward(db.owner(), tenant, actor,
                                  {{"name", "ten points"},
                                   {"type", "points"},
                                   {"currency", "USD"},
                                   {"config", {{"points", 10}}}});
  loyalty::rulesets::import_rules(db.owner(), tenant, actor,
                                  {{"rules",
                                    {{{"name", "points per purchase"},
                                      {"event_type", "purchase"},
                                      {"conditions", {{">=", {{{"var", "event.amount"}}, 1}}}},
                                      {"reward", "ten points"}}}}},
                                  {});
  loyalty::events::RulesCache cache;
  // A purchase two days ago: pending for 12 days more.
  const char* kUtc = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";
  std::string occurred = sql_value(
      db.owner(), std::string("SELECT to_char(date_trunc('second', now()) AT TIME ZONE 'UTC' - "
                              "interval '2 days', ") +
                      kUtc + ")");
  std::string until = sql_value(db.owner(), "SELECT to_char('" + occurred +
                                                "'::timestamptz AT TIME ZONE 'UTC' + interval "
                                                "'14 days', " +
                                                kUtc + ")");
  auto answer = json::parse(
      loyalty::events::process_event(db.app(), cache, tenant,
                                     {{"customer", {{"phone", "0771 234 567"}}},
                                      {"type", "purchase"},
                                      {"occurred_at", occurred},
                                      {"data", {{"amount", "5.00"}, {"currency", "USD"}}},
                                      {"idempotency_key", "buy"}},
                                     "", Actor::system())
          .body);
  REQUIRE(loyalty::issuances::issue_event(db.app(), tenant, answer["event"]["id"]) == 1);
  REQUIRE(loyaltyctl(db.owner_url(), {"points", "adjust", "--tenant", "pending-shop", "--customer",
                                      "0771 234 567", "--points", "5", "--reason", "welcome"})
              .exit_code == 0);
  std::string lot =
      sql_value(db.owner(), "SELECT id FROM points_lots WHERE issuance_id IS NOT NULL");

  auto text = loyaltyctl(db.owner_url(), {"points", "history", "--tenant", "pending-shop",
                                          "--customer", "0771 234 567"});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  // Due 14 days after the purchase occurred, in UTC.
  CHECK(text.out.rfind("balance 5 (spendable 5)\npending 10\n  lot " + lot + ": 10 pending until " +
                           until + "\n",
                       0) == 0);
  CHECK(text.out.find("earn            +10 (pending +10)  lot " + lot) != std::string::npos);
  CHECK(text.out.find("adjustment       +5  lot") != std::string::npos);
  auto h = json::parse(loyaltyctl(db.owner_url(), {"points", "history", "--tenant", "pending-shop",
                                                   "--customer", "0771 234 567", "--json"})
                           .out);
  CHECK(h["pending"] == 10);
  CHECK(h["pending_lots"] ==
        json::array({{{"lot_id", std::stoll(lot)}, {"points", 10}, {"until", until}}}));
  CHECK(loyaltyctl(db.owner_url(), {"ledger", "verify", "--tenant", "pending-shop"}).exit_code ==
        0);
}
