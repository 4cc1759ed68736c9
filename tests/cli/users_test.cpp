#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <loyalty/auth/password.hpp>
#include <nlohmann/json.hpp>

using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

TEST_CASE("cli: user create|list|disable and apikey create|list|revoke", "[cli]") {
  TestDatabase db;
  REQUIRE(
      loyaltyctl(db.owner_url(), {"tenant", "create", "--name", "S", "--slug", "shop"}).exit_code ==
      0);

  auto user = loyaltyctl(db.owner_url(), {"user", "create", "--tenant", "shop", "--email",
                                          "Lead@Shop.example", "--role", "manager", "--json"});
  INFO(user.err);
  REQUIRE(user.exit_code == 0);
  auto u = nlohmann::json::parse(user.out);
  CHECK(u["email"] == "lead@shop.example");
  CHECK(loyalty::auth::verify_password(u["password"].get<std::string>(),
                                       sql_value(db.owner(), "SELECT password_hash FROM users")));
  auto dup = loyaltyctl(db.owner_url(),
                        {"user", "create", "--tenant", "shop", "--email", "lead@shop.example"});
  CHECK(dup.exit_code == 4);
  auto bad_role = loyaltyctl(db.owner_url(), {"user", "create", "--tenant", "shop", "--email",
                                              "x@shop.example", "--role", "owner"});
  CHECK(bad_role.exit_code == 2);
  CHECK(bad_role.err.find("/role") != std::string::npos);

  REQUIRE(loyaltyctl(db.owner_url(), {"user", "disable", "--tenant", "shop", "lead@shop.example"})
              .exit_code == 0);
  auto users = nlohmann::json::parse(
      loyaltyctl(db.owner_url(), {"user", "list", "--tenant", "shop", "--json"}).out);
  REQUIRE(users.size() == 1);
  CHECK(users[0]["status"] == "disabled");

  auto key = loyaltyctl(db.owner_url(),
                        {"apikey", "create", "--tenant", "shop", "--name", "Till 1", "--json"});
  REQUIRE(key.exit_code == 0);
  auto k = nlohmann::json::parse(key.out);
  std::string prefix = k["prefix"];
  CHECK(k["key"].get<std::string>().find(prefix) != std::string::npos);
  auto listed = loyaltyctl(db.owner_url(), {"apikey", "list", "--tenant", "shop"});
  CHECK(listed.out.find(prefix) != std::string::npos);
  CHECK(listed.out.find(k["key"].get<std::string>()) == std::string::npos);
  REQUIRE(loyaltyctl(db.owner_url(), {"apikey", "revoke", "--tenant", "shop", prefix}).exit_code ==
          0);
  CHECK(sql_value(db.owner(), "SELECT revoked_at IS NOT NULL FROM api_keys WHERE prefix = '" +
                                  prefix + "'") == "t");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM audit_log") == "4");
  CHECK(loyaltyctl(db.owner_url(), {"apikey", "revoke", "--tenant", "shop", "nosuch"}).exit_code ==
        3);
}
