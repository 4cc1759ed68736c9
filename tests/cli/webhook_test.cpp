// loyaltyctl webhook: subscriptions managed by the operator, with the address rules of the
// daemon, and purge of old attempts and messages.
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

TEST_CASE(
    "cli: webhook add shows the secret once, list, disable, enable and remove follow, and refused "
    "URLs exit 2",
    "[cli]") {
  TestDatabase db;
  auto run = [&](std::vector<std::string> args) { return loyaltyctl(db.owner_url(), args); };
  REQUIRE(run({"tenant", "create", "--name", "Hooks", "--slug", "hooks"}).exit_code == 0);

  auto refused =
      run({"webhook", "add", "--tenant", "hooks", "--url", "https://10.0.0.1/x", "--events", "*"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.rfind("loyaltyctl: ", 0) == 0);
  CHECK(refused.err.find("private") != std::string::npos);
  auto plain = run({"webhook", "add", "--tenant", "hooks", "--url", "http://hooks.example.com/x",
                    "--events", "*"});
  CHECK(plain.exit_code == 2);
  auto unknown = run({"--outbound-resolve", "hooks.example.com:443:93.184.216.34", "webhook", "add",
                      "--tenant", "hooks", "--url", "https://hooks.example.com/x", "--events",
                      "reward.issued,points.nope"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("/event_types/1") != std::string::npos);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM webhook_subscriptions") == "0");

  auto added = run({"--outbound-resolve", "hooks.example.com:443:93.184.216.34", "webhook", "add",
                    "--tenant", "hooks", "--url", "https://hooks.example.com/x", "--events",
                    "reward.issued,reward.redeemed", "--json"});
  INFO(added.out << added.err);
  REQUIRE(added.exit_code == 0);
  auto sub = json::parse(added.out);
  const std::string id = sub["id"];
  CHECK(sub["secret"].get<std::string>().rfind("whsec_", 0) == 0);
  CHECK(sub["event_types"] == json::array({"reward.issued", "reward.redeemed"}));

  auto shown = run({"webhook", "show", "--tenant", "hooks", id, "--json"});
  REQUIRE(shown.exit_code == 0);
  CHECK(json::parse(shown.out).contains("secret") == false);
  auto listed = run({"webhook", "list", "--tenant", "hooks"});
  CHECK(listed.out.find(id + "  healthy  https://hooks.example.com/x") != std::string::npos);

  auto disabled = run({"webhook", "disable", "--tenant", "hooks", id, "--json"});
  REQUIRE(disabled.exit_code == 0);
  CHECK(json::parse(disabled.out)["status"] == "disabled");
  CHECK(json::parse(disabled.out)["disabled_reason"] == "disabled by operator");
  auto enabled = run({"webhook", "enable", "--tenant", "hooks", id, "--json"});
  REQUIRE(enabled.exit_code == 0);
  CHECK(json::parse(enabled.out)["status"] == "healthy");

  auto rotated = run({"webhook", "rotate-secret", "--tenant", "hooks", id, "--json"});
  REQUIRE(rotated.exit_code == 0);
  CHECK(json::parse(rotated.out)["secret"] != sub["secret"]);

  CHECK(run({"webhook", "remove", "--tenant", "hooks", id}).exit_code == 0);
  CHECK(run({"webhook", "show", "--tenant", "hooks", id}).exit_code != 0);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM webhook_subscriptions") == "0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM audit_log WHERE action LIKE 'webhook.%'") ==
        "5");
}

TEST_CASE(
    "cli: webhook purge removes old attempts, settled deliveries and sent messages, and keeps "
    "pending ones",
    "[cli]") {
  TestDatabase db;
  auto run = [&](std::vector<std::string> args) { return loyaltyctl(db.owner_url(), args); };
  REQUIRE(run({"tenant", "create", "--name", "Old", "--slug", "old"}).exit_code == 0);
  const auto tenant = sql_value(db.owner(), "SELECT id FROM tenants WHERE slug = 'old'");
  sql_value(db.owner(),
            "INSERT INTO webhook_subscriptions (tenant_id, url, secret, event_types) "
            "VALUES ('" +
                tenant +
                "', 'https://hooks.example.com/x', 'whsec_x', "
                "'{*}') RETURNING 1");
  // Four messages fanned out to it: two old (one delivered, one pending), two recent.
  sql_value(db.owner(),
            "INSERT INTO outbox (tenant_id, event_type, payload, created_at) "
            "SELECT '" +
                tenant +
                "', 'customer.enrolled', '{}', now() - (n || ' "
                "days')::interval FROM unnest(ARRAY[40, 40, 1, 1]) n RETURNING 1");
  sql_value(db.owner(),
            "UPDATE webhook_deliveries d SET created_at = o.created_at FROM outbox o "
            "WHERE o.id = d.outbox_id RETURNING 1");
  sql_value(db.owner(),
            "UPDATE webhook_deliveries SET status = 'delivered' WHERE id IN "
            "(SELECT min(id) FROM webhook_deliveries UNION SELECT max(id) FROM "
            "webhook_deliveries) RETURNING 1");
  sql_value(db.owner(),
            "INSERT INTO webhook_attempts (tenant_id, delivery_id, status_code, "
            "attempted_at) SELECT tenant_id, id, 200, created_at FROM "
            "webhook_deliveries RETURNING 1");
  auto purged = run({"webhook", "purge", "--older-than", "30", "--json"});
  INFO(purged.out << purged.err);
  REQUIRE(purged.exit_code == 0);
  CHECK(json::parse(purged.out) == json{{"attempts", 2}, {"deliveries", 1}, {"messages", 1}});
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM webhook_deliveries") == "3");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM outbox") == "3");
  // Again: nothing more to remove.
  auto again = run({"webhook", "purge", "--older-than", "30", "--json"});
  CHECK(json::parse(again.out) == json{{"attempts", 0}, {"deliveries", 0}, {"messages", 0}});
}
