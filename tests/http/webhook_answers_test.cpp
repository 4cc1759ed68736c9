// How the daemon takes what a webhook receiver answers: 410 Gone, the abort header, Retry-After,
// and a response body of any bytes (real daemon, real receiver on loopback).
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/webhook_receiver.hpp"
#include "webhook_steps.hpp"

#include <catch2/catch.hpp>

#include <loyalty/core/utf8.hpp>

#include <thread>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using loyalty::test::WebhookReceiver;
using nlohmann::json;
using namespace std::chrono_literals;
using namespace loyalty::test::webhooks;

namespace {

/// The one delivery of a subscription, once it is no longer pending.
ApiResponse settled_delivery(Api& api, const std::string& tenant_id, const std::string& token,
                             const std::string& subscription_id) {
  const std::string base = "/v1/tenants/" + tenant_id;
  auto listed = poll(
      api, base + "/webhooks/" + subscription_id + "/deliveries", token, [](const ApiResponse& r) {
        return r.body["items"].size() == 1 && r.body["items"][0]["status"] != "pending";
      });
  INFO(listed.raw);
  REQUIRE(listed.body["items"].size() == 1);
  return api.get(base + "/webhook-deliveries/" + listed.body["items"][0]["id"].get<std::string>(),
                 token);
}

}  // namespace

TEST_CASE(
    "webhooks: an endpoint answering 410 Gone is disabled at once, with its reason and an audit "
    "row, and is sent nothing more",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  auto daemon = Daemon::over(db, webhook_daemon());
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "gone");
  auto sub = subscribe(api, c, receiver.url("gone"), {"*"});
  const std::string sub_id = sub.body["id"];
  receiver.configure("gone", {sub.body["secret"]}, 100, 410);
  enrol(api, c, "0772 100 410");

  auto delivery = settled_delivery(api, c.tenant_id, c.admin_token, sub_id);
  INFO(delivery.raw);
  CHECK(delivery.body["status"] == "failed");
  CHECK(delivery.body["attempts"] == 1);
  CHECK(delivery.body["attempt_log"][0]["status_code"] == 410);
  auto shown = api.get("/v1/tenants/" + c.tenant_id + "/webhooks/" + sub_id, c.admin_token);
  INFO(shown.raw);
  CHECK(shown.body["active"] == false);
  CHECK(shown.body["status"] == "disabled");
  CHECK(shown.body["disabled_reason"] == "the endpoint answered 410 Gone");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM audit_log WHERE action = "
                  "'webhook.disable' AND actor_type = 'system' AND entity_id = '" +
                      sub_id + "'") == "1");

  // Another event queues nothing for it, and the first is not retried (the schedule is 100 ms).
  enrol(api, c, "0772 100 411");
  std::this_thread::sleep_for(1s);
  CHECK(receiver.received("gone").size() == 1);
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM webhook_deliveries WHERE "
                  "subscription_id = '" +
                      sub_id + "'") == "1");
}

TEST_CASE(
    "webhooks: a receiver answering webhook-delivery: abort-message stops that message's retries "
    "and does not open the breaker",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  // A breaker that opens at the first counted failure.
  auto daemon = Daemon::over(db, webhook_daemon({"--webhook-breaker", "1"}));
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "abort");
  auto sub = subscribe(api, c, receiver.url("abort"), {"customer.enrolled"});
  const std::string sub_id = sub.body["id"];
  receiver.configure_failures("abort", {sub.body["secret"]}, 1, 422,
                              {{"webhook-delivery", "abort-message"}}, "unknown customer");
  enrol(api, c, "0772 100 422");

  auto delivery = settled_delivery(api, c.tenant_id, c.admin_token, sub_id);
  INFO(delivery.raw);
  CHECK(delivery.body["status"] == "failed");
  CHECK(delivery.body["attempts"] == 1);
  CHECK(delivery.body["attempt_log"][0]["error"] ==
        "answered 422 (the receiver aborted the message)");
  CHECK(delivery.body["attempt_log"][0]["response_body"] == "unknown customer");
  auto shown = api.get("/v1/tenants/" + c.tenant_id + "/webhooks/" + sub_id, c.admin_token);
  CHECK(shown.body["status"] == "healthy");
  CHECK(shown.body["consecutive_failures"] == 0);

  // The breaker is closed: the next message goes straight through.
  enrol(api, c, "0772 100 423");
  auto got = receiver.wait_for("abort", [](const json& r) { return r.size() >= 2; });
  REQUIRE(got.size() == 2);
  CHECK(got[1]["answered"] == 200);
  std::this_thread::sleep_for(500ms);
  CHECK(receiver.received("abort").size() == 2);
}

TEST_CASE("webhooks: Retry-After on a 429 holds the next attempt back that long", "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  auto daemon = Daemon::over(db, webhook_daemon());  // the schedule alone would wait 100 ms
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "throttled");
  auto sub = subscribe(api, c, receiver.url("throttled"), {"customer.enrolled"});
  receiver.configure_failures("throttled", {sub.body["secret"]}, 1, 429, {{"retry-after", "2"}},
                              "slow down");
  enrol(api, c, "0772 100 429");

  auto got = receiver.wait_for("throttled", [](const json& r) { return r.size() >= 2; });
  INFO(got.dump(1));
  REQUIRE(got.size() == 2);
  CHECK(got[0]["answered"] == 429);
  CHECK(got[1]["answered"] == 200);
  CHECK(got[1]["id"] == got[0]["id"]);
  CHECK(got[1]["at"].get<std::int64_t>() - got[0]["at"].get<std::int64_t>() >= 2000);
}

TEST_CASE(
    "webhooks: a response body of any bytes is kept as valid text, cut at a character, and the "
    "delivery goes on",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  auto daemon = Daemon::over(db, webhook_daemon());
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "bytes");
  auto sub = subscribe(api, c, receiver.url("bytes"), {"customer.enrolled"});
  // Two invalid bytes and a NUL (each kept as the 3-byte U+FFFD), 1,014 bytes, then a two-byte
  // character that would end past the 1,024 bytes kept.
  std::string body = "\xff\xfe";
  body += '\0';
  body += "bad" + std::string(1011, 'x') + "\xc3\xa9" + std::string(3000, 'y');
  receiver.configure_failures("bytes", {sub.body["secret"]}, 1, 500, json::object(), body);
  enrol(api, c, "0772 100 500");

  auto delivery = settled_delivery(api, c.tenant_id, c.admin_token, sub.body["id"]);
  INFO(delivery.raw);
  CHECK(delivery.body["status"] == "delivered");
  REQUIRE(delivery.body["attempt_log"].size() == 2);
  const std::string kept = delivery.body["attempt_log"][0]["response_body"];
  CHECK(loyalty::utf8::valid(kept));
  const std::string replacement = "\xEF\xBF\xBD";
  CHECK(kept == replacement + replacement + replacement + "bad" + std::string(1011, 'x'));
  CHECK(kept.size() <= 1024);
}
