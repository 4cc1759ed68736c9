// loyaltyctl jobs list|retry against a real PostgreSQL.
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

TEST_CASE("cli: jobs list shows dead jobs with their error and jobs retry queues them again",
          "[cli]") {
  TestDatabase db;
  REQUIRE(
      loyaltyctl(db.owner_url(), {"tenant", "create", "--name", "S", "--slug", "shop"}).exit_code ==
      0);
  auto tenant = sql_value(db.owner(), "SELECT id FROM tenants");
  sql_value(db.owner(),
            "INSERT INTO jobs (tenant_id, kind, status, attempts, last_error) VALUES ('" + tenant +
                "', 'event.issue', 'dead', 10, 'boom'), ('" + tenant +
                "', 'event.issue', 'dead', 10, 'bang'), ('" + tenant +
                "', 'event.issue', 'done', 1, NULL)");

  auto listed = loyaltyctl(db.owner_url(), {"jobs", "list", "--status", "dead", "--json"});
  INFO(listed.err);
  REQUIRE(listed.exit_code == 0);
  auto dead = nlohmann::json::parse(listed.out);
  REQUIRE(dead.size() == 2);
  CHECK(dead[0]["last_error"] == "bang");
  CHECK(dead[0]["tenant_id"] == tenant);
  long long first = dead[1]["id"];

  auto one = loyaltyctl(db.owner_url(), {"jobs", "retry", std::to_string(first), "--json"});
  REQUIRE(one.exit_code == 0);
  CHECK(nlohmann::json::parse(one.out)["retried"] == 1);
  CHECK(sql_value(db.owner(), "SELECT status || ' ' || attempts FROM jobs WHERE id = " +
                                  std::to_string(first)) == "pending 0");
  CHECK(loyaltyctl(db.owner_url(), {"jobs", "retry", std::to_string(first)}).exit_code == 3);

  auto rest = loyaltyctl(db.owner_url(), {"jobs", "retry", "--tenant", "shop"});
  REQUIRE(rest.exit_code == 0);
  CHECK(rest.out == "retried 1 dead job\n");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM jobs WHERE status = 'dead'") == "0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM jobs WHERE status = 'done'") == "1");

  CHECK(loyaltyctl(db.owner_url(), {"jobs", "list", "--status", "stuck"}).exit_code == 2);
}
