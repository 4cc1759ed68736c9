// loyaltyctl rules simulate: which of a tenant's rules an event would match and whether each
// would issue, as the operator reads it, writing nothing; a bad event file is one line on stderr.
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <loyalty/core/actor.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

TEST_CASE(
    "rules simulate cli: a new customer's purchase, the same customer at their cap, --json, and "
    "a bad event file",
    "[cli]") {
  TestDatabase db;
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Sim Shop";
  req.slug = "sim-shop";
  auto tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  auto dir = std::filesystem::temp_directory_path() / ("simulate-cli-" + db.name());
  std::filesystem::create_directories(dir);

  auto reward = loyaltyctl(
      db.owner_url(), {"rewards", "create", "--tenant", "sim-shop", "--name", "10 points", "--type",
                       "points", "--currency", "USD", "--config", R"({"points":10})"});
  INFO(reward.err);
  REQUIRE(reward.exit_code == 0);
  auto rules = (dir / "rules.json").string();
  std::ofstream(rules) << R"({"rules": [
    {"name": "Welcome points", "event_type": "purchase", "priority": 20,
     "conditions": {">": [{"var": "event.amount"}, 0]}, "reward": "10 points",
     "caps": {"per_customer": {"max": 1, "period": "lifetime"}}},
    {"name": "Big spender", "event_type": "purchase", "priority": 10,
     "conditions": {">=": [{"var": "event.amount"}, 100]}, "reward": "10 points"}]})";
  auto imported = loyaltyctl(db.owner_url(), {"rules", "import", "--tenant", "sim-shop", rules});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);

  json purchase = {{"customer", {{"phone", "0771 234 567"}}},
                   {"type", "purchase"},
                   {"data", {{"amount", "25.00"}, {"currency", "USD"}}}};
  auto event = (dir / "event.json").string();
  std::ofstream(event) << purchase.dump();
  std::vector<std::string> simulate = {"rules",    "simulate", "--tenant",
                                       "sim-shop", "--event",  event};

  // Nobody has this phone yet: the first rule would issue, the second does not match.
  auto first = loyaltyctl(db.owner_url(), simulate);
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(first.out ==
        "(customer unknown: treated as new)\n"
        "match    Welcome points  -> would issue\n"
        "no match Big spender\n");
  // It wrote nothing: no customer, no event.
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM customers") == "0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "0");

  // The same purchase once processed, the customer is at the welcome rule's cap.
  auto app = loyalty::db::Database::open_url(db.app_url(), 2);
  loyalty::events::RulesCache cache;
  auto posted = purchase;
  posted["idempotency_key"] = "till-1";
  loyalty::events::process_event(*app, cache, tenant, posted, "", loyalty::Actor::system());
  auto again = loyaltyctl(db.owner_url(), simulate);
  CHECK(again.exit_code == 0);
  CHECK(again.out ==
        "match    Welcome points  -> would not issue: per_customer_cap\n"
        "no match Big spender\n");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "1");

  auto with_json = simulate;
  with_json.push_back("--json");
  auto as_json = loyaltyctl(db.owner_url(), with_json);
  REQUIRE(as_json.exit_code == 0);
  auto answer = json::parse(as_json.out);
  CHECK(answer["customer_known"] == true);
  REQUIRE(answer["rules"].size() == 2);
  CHECK(answer["rules"][0]["rule"] == "Welcome points");
  CHECK(answer["rules"][0]["would_issue"] == false);
  CHECK(answer["rules"][0]["reason"] == "per_customer_cap");
  CHECK(answer["rules"][1]["matches"] == false);

  // A file that is not a JSON object, and one that does not exist: one line each, exit 2.
  auto bad = (dir / "bad.json").string();
  std::ofstream(bad) << "[1, 2";
  auto refused =
      loyaltyctl(db.owner_url(), {"rules", "simulate", "--tenant", "sim-shop", "--event", bad});
  CHECK(refused.exit_code == 2);
  CHECK(refused.out == "");
  CHECK(refused.err == "loyaltyctl: " + bad + " is not a JSON object\n");
  auto missing = (dir / "missing.json").string();
  auto unread =
      loyaltyctl(db.owner_url(), {"rules", "simulate", "--tenant", "sim-shop", "--event", missing});
  CHECK(unread.exit_code == 2);
  CHECK(unread.err == "loyaltyctl: cannot read " + missing + "\n");
  std::filesystem::remove_all(dir);
}
