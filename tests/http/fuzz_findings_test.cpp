// Regressions for what the libFuzzer targets (tests/fuzz/) found, asserted as a caller sees them
// through the real daemon.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::TestDatabase;

TEST_CASE("body: a number past a double's range is 400 problem+json, never a 500", "[http]") {
  // Found by tests/fuzz/event_body_fuzz: nlohmann refuses 1e400 with out_of_range, which the
  // body parser did not catch, so every JSON route answered 500.
  TestDatabase db;
  auto daemon = Daemon::over(db);
  Api api(daemon.port());
  auto creds = loyalty::test::seed_tenant(db, api, "number-shop");
  const std::string events = "/v1/tenants/" + creds.tenant_id + "/events";

  for (const char* number : {"1e400", "-1e400", "1E+999"}) {
    CAPTURE(number);
    auto login = api.post_raw("/public/auth/login",
                              std::string(R"({"email":"a@b.example","password":)") + number + "}",
                              "application/json");
    CHECK(login.status == 400);
    CHECK(login.content_type == "application/problem+json");
    CHECK(login.body["type"] == "https://loyalty.example/problems/malformed-request");

    auto event = api.post_raw(events,
                              std::string(R"({"customer":{"phone":"0771234567"},"type":"purchase",)"
                                          R"("idempotency_key":"n-1","data":{"n":)") +
                                  number + "}}",
                              "application/json", creds.pos_key);
    CHECK(event.status == 400);
    CHECK(event.content_type == "application/problem+json");
    CHECK(event.body["detail"] == "the body holds a number too large to represent");
  }
  // Nothing was stored.
  auto listed = api.get(events, creds.pos_key);
  REQUIRE(listed.status == 200);
  CHECK(listed.body["items"].empty());
}
