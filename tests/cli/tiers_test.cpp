// loyaltyctl tiers: set a ladder from a file, list it, refuse a bad one with a line per field,
// recompute every tenant, and show a customer's history.
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
    "tiers cli: set, list, a bad ladder refused field by field, recompute --all and a "
    "customer's history",
    "[cli]") {
  TestDatabase db;
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Tier Shop";
  req.slug = "tier-shop";
  auto tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  auto dir = std::filesystem::temp_directory_path() / ("tiers-cli-" + db.name());
  std::filesystem::create_directories(dir);
  auto good = (dir / "ladder.json").string();
  std::ofstream(good) << R"({"measure": "amount_spent", "window": "calendar_year",
    "tiers": [{"name": "Silver", "threshold": 10000},
              {"name": "Gold", "threshold": 25000, "multiplier_bp": 15000}]})";
  auto set = loyaltyctl(db.owner_url(), {"tiers", "set", "--tenant", "tier-shop", good});
  INFO(set.err);
  CHECK(set.exit_code == 0);
  const std::string shown =
      "measure amount_spent, window calendar year, grace 0 days\n"
      " 1  Silver               from 10000  x1.0000\n"
      " 2  Gold                 from 25000  x1.5000\n";
  CHECK(set.out == shown);
  auto list = loyaltyctl(db.owner_url(), {"tiers", "list", "--tenant", "tier-shop"});
  CHECK(list.out == shown);
  auto as_json = loyaltyctl(db.owner_url(), {"tiers", "list", "--tenant", "tier-shop", "--json"});
  CHECK(json::parse(as_json.out)["tiers"][1]["name"] == "Gold");

  auto bad_file = (dir / "bad.json").string();
  std::ofstream(bad_file) << R"({"measure": "amount_spent", "window": "calendar_year",
    "tiers": [{"name": "Silver", "threshold": 10000}, {"name": "Gold", "threshold": 100}]})";
  auto bad = loyaltyctl(db.owner_url(), {"tiers", "set", "--tenant", "tier-shop", bad_file});
  CHECK(bad.exit_code == 2);
  CHECK(bad.out == "");
  CHECK(bad.err ==
        "loyaltyctl: the ladder is not valid\n"
        "  /tiers/1/threshold: must be greater than the threshold of the tier below (10000)\n");
  CHECK(loyaltyctl(db.owner_url(), {"tiers", "list", "--tenant", "tier-shop"}).out == shown);

  // A customer reaches Silver by a purchase; the recompute keeps them there.
  auto app = loyalty::db::Database::open_url(db.app_url(), 2);
  loyalty::events::RulesCache cache;
  loyalty::events::process_event(*app, cache, tenant,
                                 {{"customer", {{"phone", "0771 234 567"}}},
                                  {"type", "purchase"},
                                  {"data", {{"amount", "150.00"}, {"currency", "USD"}}},
                                  {"idempotency_key", "p-1"}},
                                 "", loyalty::Actor::system());
  auto recompute = loyaltyctl(db.owner_url(), {"tiers", "recompute", "--all"});
  INFO(recompute.err);
  CHECK(recompute.exit_code == 0);
  CHECK(recompute.out == "tenant " + tenant + ": 1 customers, 0 upgraded, 0 downgraded\n");
  auto neither = loyaltyctl(db.owner_url(), {"tiers", "recompute"});
  CHECK(neither.exit_code == 2);
  CHECK(neither.err == "loyaltyctl: name a tenant (--tenant T) or --all\n");

  auto history = loyaltyctl(
      db.owner_url(), {"tiers", "history", "--tenant", "tier-shop", "--customer", "0771 234 567"});
  INFO(history.err);
  CHECK(history.exit_code == 0);
  auto since = sql_value(db.owner(),
                         "SELECT to_char(changed_at AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM customer_tier_history");
  CHECK(history.out == "tier Silver since " + since + ", measure 15000\n" + since +
                           "  upgrade   none -> Silver  measure 15000\n");
  std::filesystem::remove_all(dir);
}
