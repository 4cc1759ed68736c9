#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <loyalty/auth/password.hpp>
#include <nlohmann/json.hpp>

using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

std::string counts(TestDatabase& db) {
  return sql_value(db.owner(),
                   "SELECT (SELECT count(*) FROM tenants) || '/' || (SELECT count(*) "
                   "FROM users) || '/' || (SELECT count(*) FROM api_keys) || '/' || "
                   "(SELECT count(*) FROM audit_log)");
}

}  // namespace

TEST_CASE("cli: tenant create with an admin prints the password and key once and stores hashes",
          "[cli]") {
  TestDatabase db;
  auto r = loyaltyctl(db.owner_url(),
                      {"tenant", "create", "--name", "Chicken Inn", "--slug", "chicken-inn",
                       "--admin-email", "Owner@Chicken.example", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["slug"] == "chicken-inn");
  CHECK(out["timezone"] == "Africa/Harare");
  CHECK(out["currency"] == "USD");
  CHECK(out["admin"]["email"] == "owner@chicken.example");
  std::string password = out["admin"]["password"];
  std::string key = out["api_key"];
  CHECK(key.rfind("lk_live_", 0) == 0);

  auto hash = sql_value(db.owner(), "SELECT password_hash FROM users");
  CHECK(hash.rfind("$argon2id$", 0) == 0);
  CHECK(loyalty::auth::verify_password(password, hash));
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM api_keys WHERE key_hash LIKE '%" +
                                  key.substr(key.rfind('_') + 1) + "%'") == "0");
  CHECK(counts(db) == "1/1/1/3");

  auto shown = loyaltyctl(db.owner_url(), {"tenant", "show", "chicken-inn", "--json"});
  REQUIRE(shown.exit_code == 0);
  CHECK(nlohmann::json::parse(shown.out)["id"] == out["id"]);
  CHECK(shown.out.find(password) == std::string::npos);
}

TEST_CASE("cli: tenant create errors give one clear message, a non-zero exit, and write nothing",
          "[cli]") {
  TestDatabase db;
  REQUIRE(loyaltyctl(db.owner_url(), {"tenant", "create", "--name", "First", "--slug", "taken",
                                      "--admin-email", "first@example.com"})
              .exit_code == 0);
  auto before = counts(db);

  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"--slug", "Bad Slug!"}, "slug"},
      {{"--slug", "ok-slug", "--timezone", "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"},
      {{"--slug", "ok-slug", "--currency", "EUR"}, "currency must be USD or ZWG"},
      {{"--slug", "taken"}, "slug 'taken' already exists"},
      {{"--slug", "ok-slug", "--admin-email", "first@example.com"}, "already exists"},
      {{"--slug", "ok-slug", "--admin-email", "not-an-email"}, "not an email address"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"tenant", "create", "--name", "Second"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = loyaltyctl(db.owner_url(), args);
    INFO(r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.rfind("loyaltyctl: ", 0) == 0);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.out.empty());
    CHECK(counts(db) == before);
  }
}

TEST_CASE("cli: tenant list and suspend", "[cli]") {
  TestDatabase db;
  REQUIRE(
      loyaltyctl(db.owner_url(), {"tenant", "create", "--name", "A", "--slug", "aa"}).exit_code ==
      0);
  REQUIRE(loyaltyctl(db.owner_url(), {"tenant", "create", "--name", "B", "--slug", "bb",
                                      "--timezone", "UTC", "--currency", "ZWG"})
              .exit_code == 0);
  auto list = nlohmann::json::parse(loyaltyctl(db.owner_url(), {"tenant", "list", "--json"}).out);
  REQUIRE(list.size() == 2);
  CHECK(list[1]["currency"] == "ZWG");
  auto s = loyaltyctl(db.owner_url(), {"tenant", "suspend", "bb", "--json"});
  REQUIRE(s.exit_code == 0);
  CHECK(nlohmann::json::parse(s.out)["status"] == "suspended");
  auto missing = loyaltyctl(db.owner_url(), {"tenant", "show", "nope"});
  CHECK(missing.exit_code == 3);
  CHECK(missing.err.find("tenant 'nope' not found") != std::string::npos);
}

TEST_CASE("cli: migrate --status lists every migration as applied", "[cli]") {
  TestDatabase db;
  auto r = loyaltyctl(db.owner_url(), {"migrate", "--status", "--json"});
  REQUIRE(r.exit_code == 0);
  auto status = nlohmann::json::parse(r.out);
  REQUIRE(!status.empty());
  for (const auto& s : status) CHECK(s["applied"] == true);
  auto again = loyaltyctl(db.owner_url(), {"migrate"});
  CHECK(again.exit_code == 0);
  CHECK(again.out == "schema is up to date\n");
}

TEST_CASE(
    "cli: tenant update sets the returns window of pending points, audited, and refuses a "
    "window out of range naming the setting, with a non-zero exit",
    "[cli]") {
  TestDatabase db;
  REQUIRE(loyaltyctl(db.owner_url(), {"tenant", "create", "--name", "Shop", "--slug", "shop"})
              .exit_code == 0);
  auto set = loyaltyctl(db.owner_url(),
                        {"tenant", "update", "--tenant", "shop", "--points-pending-days", "14"});
  INFO(set.err);
  REQUIRE(set.exit_code == 0);
  CHECK(set.out.find("settings:  {\"auto_enrol\":true,\"points_pending_days\":14}\n") !=
        std::string::npos);
  CHECK(sql_value(db.owner(), "SELECT settings->>'points_pending_days' FROM tenants") == "14");
  CHECK(sql_value(db.owner(),
                  "SELECT actor_type || ' ' || before::text || ' ' || after::text "
                  "FROM audit_log WHERE action = 'tenant.settings'") ==
        "operator {\"points_pending_days\": null} {\"points_pending_days\": 14}");

  auto json = loyaltyctl(db.owner_url(), {"tenant", "update", "--tenant", "shop",
                                          "--points-pending-days", "0", "--json"});
  REQUIRE(json.exit_code == 0);
  CHECK(nlohmann::json::parse(json.out)["settings"]["points_pending_days"] == 0);

  auto out_of_range = loyaltyctl(
      db.owner_url(), {"tenant", "update", "--tenant", "shop", "--points-pending-days", "366"});
  CHECK(out_of_range.exit_code != 0);
  CHECK(out_of_range.err ==
        "loyaltyctl: the settings are not valid\n  /points_pending_days: a whole number of days, "
        "0 to 365 (0: points are spendable at once)\n");
  auto nothing = loyaltyctl(db.owner_url(), {"tenant", "update", "--tenant", "shop"});
  CHECK(nothing.exit_code != 0);
  CHECK(nothing.err == "loyaltyctl: name a setting to change (--points-pending-days)\n");
  auto unknown = loyaltyctl(
      db.owner_url(), {"tenant", "update", "--tenant", "nowhere", "--points-pending-days", "3"});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.err.find("tenant 'nowhere'") != std::string::npos);
  CHECK(sql_value(db.owner(), "SELECT settings->>'points_pending_days' FROM tenants") == "0");
}
