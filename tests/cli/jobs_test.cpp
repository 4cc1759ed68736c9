// loyaltyctl jobs list|retry|purge against a real PostgreSQL.
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

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

TEST_CASE("cli: jobs purge deletes only jobs done before the cutoff and --dry-run only counts",
          "[cli]") {
  TestDatabase db;
  for (const char* slug : {"shop", "cafe"}) {
    REQUIRE(loyaltyctl(db.owner_url(), {"tenant", "create", "--name", slug, "--slug", slug})
                .exit_code == 0);
  }
  auto shop = sql_value(db.owner(), "SELECT id FROM tenants WHERE slug = 'shop'");
  auto cafe = sql_value(db.owner(), "SELECT id FROM tenants WHERE slug = 'cafe'");
  // 25,000 old done jobs of the shop span three ranges of ids; beside them, jobs that stay.
  sql_value(db.owner(),
            "INSERT INTO jobs (tenant_id, kind, status, created_at, updated_at) "
            "SELECT '" +
                shop +
                "', 'event.issue', 'done', now() - interval '40 days', "
                "now() - interval '40 days' FROM generate_series(1, 25000)");
  sql_value(
      db.owner(),
      "INSERT INTO jobs (tenant_id, kind, status, created_at, updated_at) VALUES "
      "('" +
          cafe +
          "', 'event.issue', 'done', now() - interval '40 days', now() - interval '40 days'), "
          "('" +
          shop +
          "', 'event.issue', 'done', now() - interval '40 days', now() - interval '10 days'), "
          "('" +
          shop +
          "', 'event.issue', 'dead', now() - interval '40 days', now() - interval '40 days'), "
          "('" +
          shop +
          "', 'event.issue', 'pending', now() - interval '40 days', now() - interval '40 days'), "
          "('" +
          shop + "', 'event.issue', 'done', now(), now())");
  auto count = [&] { return sql_value(db.owner(), "SELECT count(*) FROM jobs"); };

  auto dry = loyaltyctl(db.owner_url(), {"jobs", "purge", "--dry-run", "--json"});
  INFO(dry.err);
  REQUIRE(dry.exit_code == 0);
  CHECK(nlohmann::json::parse(dry.out)["would_purge"] == 25001);
  CHECK(count() == "25005");

  auto cafe_only = loyaltyctl(db.owner_url(), {"jobs", "purge", "--tenant", "cafe"});
  REQUIRE(cafe_only.exit_code == 0);
  CHECK(cafe_only.out == "purged 1 done job older than 30 days\n");
  CHECK(count() == "25004");

  auto all = loyaltyctl(db.owner_url(), {"jobs", "purge", "--json"});
  REQUIRE(all.exit_code == 0);
  CHECK(nlohmann::json::parse(all.out)["purged"] == 25000);
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(status || ' ' || (updated_at > now() - interval "
                  "'11 days'), ', ' ORDER BY id) FROM jobs") ==
        "done true, dead false, pending false, done true");
  CHECK(loyaltyctl(db.owner_url(), {"jobs", "purge"}).out ==
        "purged 0 done jobs older than 30 days\n");

  auto younger = loyaltyctl(db.owner_url(), {"jobs", "purge", "--older-than", "5"});
  CHECK(younger.out == "purged 1 done job older than 5 days\n");
  CHECK(count() == "3");

  auto bad = loyaltyctl(db.owner_url(), {"jobs", "purge", "--older-than", "-1"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--older-than") != std::string::npos);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  CHECK(count() == "3");
}
