// The daemon's log: one JSON object per line, and never PostgreSQL's DETAIL text (which quotes
// the offending row: phone numbers, codes, keys).
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <thread>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

TEST_CASE(
    "logs: database errors are logged by SQLSTATE and constraint, never with their DETAIL, and "
    "every line is JSON",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--log-level", "debug"});
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "logs-shop");
  const std::string base = "/v1/tenants/" + c.tenant_id;

  // Constraints the library does not check before writing (as a rule of the data added by an
  // operator would be), so the daemon meets PostgreSQL's own violations: a CHECK on a phone
  // number, and a UNIQUE key on a value of the event's data.
  sql_value(db.owner(),
            "ALTER TABLE customers ADD CONSTRAINT logs_test_no_blocked_phone "
            "CHECK (phone <> '+263772555123')");
  sql_value(db.owner(),
            "CREATE UNIQUE INDEX logs_test_one_event_per_till ON events "
            "(tenant_id, (data->>'till'))");

  auto check_violation =
      api.post(base + "/customers", {{"phone", "0772 555 123"}, {"consent", true}}, c.admin_token);
  INFO(check_violation.raw);
  CHECK(check_violation.status == 422);
  CHECK(check_violation.content_type == "application/problem+json");

  const auto post_event = [&](const std::string& key) {
    return api.send("POST", base + "/events",
                    json{{"customer", {{"phone", "0772 555 777"}}},
                         {"type", "visit"},
                         {"data", {{"till", "+263772555124 \"quoted\" \\ till"}}}}
                        .dump(),
                    "application/json", c.pos_key, {{"Idempotency-Key", key}});
  };
  REQUIRE(post_event("logs-1").status == 201);
  auto unique_violation = post_event("logs-2");
  INFO(unique_violation.raw);
  CHECK(unique_violation.status == 409);
  CHECK(unique_violation.content_type == "application/problem+json");
  for (const auto& raw : {check_violation.raw, unique_violation.raw}) {
    // The request id is random hex and may hold any digits: the rest of the answer is searched.
    auto answer = json::parse(raw);
    answer.erase("request_id");
    CHECK(answer.dump().find("555") == std::string::npos);
    CHECK(answer.dump().find("Key (") == std::string::npos);
  }

  // Once both failures are in the log, every line of it is read.
  std::string log;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    log = daemon.log();
    if (log.find("logs_test_one_event_per_till") != std::string::npos &&
        log.find("logs_test_no_blocked_phone") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::istringstream lines(log);
  std::string line;
  int count = 0;
  bool check_logged = false, unique_logged = false;
  while (std::getline(lines, line)) {
    INFO(line);
    ++count;
    auto parsed = json::parse(line, nullptr, false);
    REQUIRE(parsed.is_object());
    CHECK(parsed.contains("ts"));
    CHECK(parsed.contains("level"));
    CHECK(parsed["msg"].is_string());
    for (const char* leak :
         {"DETAIL", "Key (", "Failing row", "555123", "555124", "555777", "+26377255"}) {
      CHECK(line.find(leak) == std::string::npos);
    }
    if (parsed["msg"] == "db.error" &&
        parsed.value("constraint", "") == "logs_test_no_blocked_phone") {
      check_logged = parsed["sqlstate"] == "23514" && parsed["table"] == "customers";
    }
    if (parsed["msg"] == "db.error" &&
        parsed.value("constraint", "") == "logs_test_one_event_per_till") {
      unique_logged = parsed["sqlstate"] == "23505" && !parsed.contains("error");
    }
  }
  CHECK(count > 5);
  CHECK(check_logged);
  CHECK(unique_logged);
}
