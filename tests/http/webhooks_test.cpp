// Outbound webhooks through the real daemon to a real receiver on loopback (tests/receiver, which
// verifies every delivery with the reference standardwebhooks library from the npm registry).
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"
#include "support/webhook_receiver.hpp"
#include "webhook_steps.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <functional>
#include <set>
#include <thread>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TenantCredentials;
using loyalty::test::TestDatabase;
using loyalty::test::WebhookReceiver;
using nlohmann::json;
using namespace std::chrono_literals;
using namespace loyalty::test::webhooks;

TEST_CASE(
    "webhooks: each event type reaches a subscribed receiver and verifies with the reference "
    "standardwebhooks library, and an unsubscribed type does not arrive",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  auto daemon = Daemon::over(db, webhook_daemon());
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "hooks");
  const std::string base = "/v1/tenants/" + c.tenant_id;

  auto all = subscribe(api, c, receiver.url("all"), {"*"});
  auto enrolments = subscribe(api, c, receiver.url("enrolments"), {"customer.enrolled"});
  receiver.configure("all", {all.body["secret"]});
  receiver.configure("enrolments", {enrolments.body["secret"]});
  CHECK(api.get(base + "/webhooks/" + all.body["id"].get<std::string>(), c.admin_token)
            .body.contains("secret") == false);

  // A catalogue whose budget crosses its soft cap with the first voucher.
  REQUIRE(api.post(base + "/budgets",
                   {{"name", "Launch"},
                    {"currency", "USD"},
                    {"total", "100.00"},
                    {"soft_cap_threshold", "0.04"}},
                   c.admin_token)
              .status == 201);
  REQUIRE(api.post(base + "/reward-catalog",
                   {{"name", "$5 off"},
                    {"type", "voucher"},
                    {"cost", "5.00"},
                    {"currency", "USD"},
                    {"validity_days", 30},
                    {"budget", "Launch"},
                    {"config", {{"source", "generated"}, {"prefix", "FIVE-"}, {"length", 8}}}},
                   c.manager_token)
              .status == 201);
  REQUIRE(api.post(base + "/rules",
                   {{"name", "Spend 50, get 5"},
                    {"event_type", "purchase"},
                    {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                    {"reward", "$5 off"},
                    {"budget", "Launch"}},
                   c.manager_token)
              .status == 201);

  // Three purchases by a new customer: one voucher redeemed, one cancelled, one expired.
  std::vector<std::string> issuances;
  for (int i = 0; i < 3; ++i) {
    auto res =
        api.send("POST", base + "/events",
                 json{{"customer", {{"phone", "0771 234 567"}}},
                      {"type", "purchase"},
                      {"data", {{"amount", "60.00"}, {"currency", "USD"}}}}
                     .dump(),
                 "application/json", c.pos_key, {{"Idempotency-Key", "till-" + std::to_string(i)}});
    INFO(res.raw);
    REQUIRE(res.status == 201);
    REQUIRE(res.body["issuances"].size() == 1);
    issuances.push_back(res.body["issuances"][0]["id"]);
  }
  // Issued by the worker; then the till redeems the first and a manager cancels the second.
  for (const auto& id : issuances) {
    REQUIRE(loyalty::test::wait_for_value(db.owner(),
                                          "SELECT state FROM issuances WHERE id = '" + id + "'",
                                          "issued") == "issued");
  }
  auto first = api.get(base + "/issuances/" + issuances[0], c.admin_token);
  REQUIRE(api.post(base + "/redemptions", {{"code", first.body["code"]}}, c.pos_key).status == 200);
  REQUIRE(api.post(base + "/issuances/" + issuances[1] + "/cancel", json::object(), c.manager_token)
              .status == 200);
  sql_value(db.owner(),
            "UPDATE issuances SET expires_at = now() - interval '1 minute' WHERE id = '" +
                issuances[2] + "' RETURNING 1");
  auto expire = loyalty::test::loyaltyctl(db.owner_url(), {"expire", "--tenant", c.slug});
  INFO(expire.out << expire.err);
  REQUIRE(expire.exit_code == 0);

  const std::set<std::string> six = {"customer.enrolled", "reward.issued",  "reward.redeemed",
                                     "reward.cancelled",  "reward.expired", "budget.threshold"};
  auto got = receiver.wait_for("all", [&](const json& received) {
    std::set<std::string> types;
    for (const auto& r : received) types.insert(type_of(r));
    return types == six && received.size() >= 8;
  });
  INFO(got.dump(1));
  std::set<std::string> types;
  for (const auto& r : got) {
    types.insert(type_of(r));
    CHECK(r["verified"] == json::array({true}));
    auto body = json::parse(r["body"].get<std::string>());
    CHECK(body.contains("timestamp"));
    CHECK(body["data"].is_object());
    CHECK(r["id"].get<std::string>().rfind("msg_", 0) == 0);
  }
  CHECK(types == six);
  CHECK(count_if(got, [](const json& r) { return type_of(r) == "reward.issued"; }) == 3);

  auto only = receiver.wait_for("enrolments", [](const json& r) { return !r.empty(); });
  std::this_thread::sleep_for(500ms);  // anything else sent to it would have arrived by now
  only = receiver.received("enrolments");
  REQUIRE(only.size() == 1);
  CHECK(type_of(only[0]) == "customer.enrolled");
  CHECK(only[0]["verified"] == json::array({true}));

  // The deliveries are listed with the webhook-id the receiver saw.
  auto listed =
      api.get(base + "/webhooks/" + enrolments.body["id"].get<std::string>() + "/deliveries",
              c.admin_token);
  REQUIRE(listed.status == 200);
  REQUIRE(listed.body["items"].size() == 1);
  CHECK(listed.body["items"][0]["webhook_id"] == only[0]["id"]);
  CHECK(listed.body["items"][0]["status"] == "delivered");
  // Viewers and POS keys do not see subscriptions.
  CHECK(api.get(base + "/webhooks", c.viewer_token).status == 403);
  CHECK(api.get(base + "/webhooks", c.pos_key).status == 403);
}

TEST_CASE(
    "webhooks: a receiver failing its first 3 attempts gets the 4th, with the same webhook-id on "
    "every attempt, and every attempt is kept",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  auto daemon = Daemon::over(db, webhook_daemon());
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "flaky");
  auto sub = subscribe(api, c, receiver.url("flaky"), {"customer.enrolled"});
  receiver.configure("flaky", {sub.body["secret"]}, 3, 500);
  enrol(api, c, "0772 100 200");

  auto got = receiver.wait_for("flaky", [](const json& r) { return r.size() >= 4; });
  INFO(got.dump(1));
  REQUIRE(got.size() == 4);
  for (const auto& r : got) {
    CHECK(r["id"] == got[0]["id"]);
    CHECK(r["body"] == got[0]["body"]);  // byte for byte
    CHECK(r["verified"] == json::array({true}));
  }
  CHECK(got[3]["answered"] == 200);

  const std::string base = "/v1/tenants/" + c.tenant_id;
  auto listed = api.get(base + "/webhooks/" + sub.body["id"].get<std::string>() + "/deliveries",
                        c.admin_token);
  REQUIRE(listed.body["items"].size() == 1);
  auto delivery_id = listed.body["items"][0]["id"].get<std::string>();
  // Recorded after the receiver answered: poll until the fourth attempt is settled.
  auto delivery = poll(api, base + "/webhook-deliveries/" + delivery_id, c.admin_token,
                       [](const ApiResponse& r) { return r.body["status"] == "delivered"; });
  INFO(delivery.raw);
  CHECK(delivery.body["status"] == "delivered");
  CHECK(delivery.body["attempts"] == 4);
  CHECK(delivery.body["webhook_id"] == got[0]["id"]);
  const auto& log = delivery.body["attempt_log"];
  REQUIRE(log.size() == 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(log[i]["status_code"] == 500);
    CHECK(log[i]["response_body"] == "not now");
    CHECK(log[i]["error"] == "answered 500");
  }
  CHECK(log[3]["status_code"] == 200);
  CHECK(log[3]["error"].is_null());
  auto shown = api.get(base + "/webhooks/" + sub.body["id"].get<std::string>(), c.admin_token);
  CHECK(shown.body["status"] == "healthy");
  CHECK(shown.body["consecutive_failures"] == 0);
}

TEST_CASE(
    "webhooks: a failed delivery is replayed with the same webhook-id, from the API and from "
    "loyaltyctl",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  // One retry, then the delivery has failed.
  auto daemon = Daemon::over(db, webhook_daemon({"--webhook-retry-schedule", "100ms"}));
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "replay");
  auto sub = subscribe(api, c, receiver.url("down"), {"customer.enrolled"});
  receiver.configure("down", {sub.body["secret"]}, 1000, 503);
  enrol(api, c, "0772 300 400");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  const std::string deliveries =
      base + "/webhooks/" + sub.body["id"].get<std::string>() + "/deliveries";
  auto listed = poll(api, deliveries + "?status=failed", c.admin_token,
                     [](const ApiResponse& r) { return r.body["items"].size() == 1; });
  json failed = listed.body["items"].size() == 1 ? listed.body["items"][0] : json();
  INFO(failed.dump());
  REQUIRE(failed.is_object());
  CHECK(failed["attempts"] == 2);
  CHECK(failed["last_status_code"] == 503);
  auto first_id = receiver.received("down")[0]["id"];

  // The receiver is back: a replay from the API delivers it, with the same id.
  receiver.configure("down", {sub.body["secret"]});
  auto replayed =
      api.post(base + "/webhook-deliveries/" + failed["id"].get<std::string>() + "/replay",
               json::object(), c.admin_token);
  INFO(replayed.raw);
  REQUIRE(replayed.status == 200);
  auto got = receiver.wait_for("down", [](const json& r) { return !r.empty(); });
  REQUIRE(got.size() == 1);
  CHECK(got[0]["id"] == first_id);
  CHECK(got[0]["verified"] == json::array({true}));

  // And from loyaltyctl, by subscription and time.
  receiver.configure("down", {sub.body["secret"]});
  auto cli = loyalty::test::loyaltyctl(
      db.owner_url(), {"webhook", "replay", "--tenant", c.slug, "--subscription",
                       sub.body["id"].get<std::string>(), "--since", "2000-01-01T00:00:00Z"});
  INFO(cli.out << cli.err);
  REQUIRE(cli.exit_code == 0);
  CHECK(cli.out.find("replaying 1 deliveries") != std::string::npos);
  got = receiver.wait_for("down", [](const json& r) { return !r.empty(); });
  REQUIRE(got.size() == 1);
  CHECK(got[0]["id"] == first_id);

  require_problem(
      api.post(base + "/webhook-deliveries/999999/replay", json::object(), c.admin_token), 404,
      "not-found");
  require_problem(api.post(base + "/webhook-deliveries/abc/replay", json::object(), c.admin_token),
                  404, "not-found");
}

TEST_CASE(
    "webhooks: during a rotation both secrets verify, and a test send answers with its attempt",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  auto daemon = Daemon::over(db, webhook_daemon());
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "rotate");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  auto sub = subscribe(api, c, receiver.url("r"), {"*"});
  const std::string path = base + "/webhooks/" + sub.body["id"].get<std::string>();
  const std::string old_secret = sub.body["secret"];

  // An action takes no fields: one given is refused.
  auto stray = api.post(path + "/rotate-secret", {{"secret", "mine"}}, c.admin_token);
  CHECK(stray.status == 400);
  CHECK(stray.content_type == "application/problem+json");
  CHECK(api.post(path + "/test", {{"event", "x"}}, c.admin_token).status == 400);
  auto rotated = api.post(path + "/rotate-secret", json::object(), c.admin_token);
  INFO(rotated.raw);
  REQUIRE(rotated.status == 200);
  const std::string new_secret = rotated.body["secret"];
  CHECK(new_secret != old_secret);
  CHECK(rotated.body["previous_secret_until"].is_string());
  receiver.configure("r", {old_secret, new_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});

  auto test = api.post(path + "/test", json::object(), c.admin_token);
  INFO(test.raw);
  REQUIRE(test.status == 200);
  CHECK(test.body["event_type"] == "webhook.test");
  CHECK(test.body["status"] == "delivered");
  REQUIRE(test.body["attempt_log"].size() == 1);
  CHECK(test.body["attempt_log"][0]["status_code"] == 200);
  CHECK(test.body["attempt_log"][0]["response_body"] == "{\"ok\":true}");
  auto got = receiver.received("r");
  REQUIRE(got.size() == 1);
  // Two signatures, one per secret: each secret verifies alone; a stranger's does not.
  CHECK(got[0]["verified"] == json::array({true, true, false}));
  CHECK(got[0]["signature"].get<std::string>().find(' ') != std::string::npos);
  CHECK(type_of(got[0]) == "webhook.test");

  // A test send to a receiver that is down answers with the failed attempt.
  receiver.configure("r", {new_secret}, 1, 500);
  auto failing = api.send("POST", path + "/test", "", "", c.admin_token);  // no body at all
  INFO(failing.raw);
  REQUIRE(failing.status == 200);
  CHECK(failing.body["status"] == "failed");
  CHECK(failing.body["attempt_log"][0]["status_code"] == 500);
  // A test is not counted by the breaker.
  CHECK(api.get(path, c.admin_token).body["consecutive_failures"] == 0);
}

TEST_CASE(
    "webhooks: loopback, private, link-local, CGNAT, IPv6-local and oddly spelled addresses are "
    "refused at creation, and at send time when DNS changes under a subscription",
    "[http]") {
  TestDatabase db;
  auto daemon =
      Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0", "--outbound-resolve",
                        "hooks.example.com:443:93.184.216.34,inside.example.com:443:10.1.2.3"});
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "ssrf");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  for (const std::string url : {"https://127.0.0.1/hook",
                                "https://localhost/hook",
                                "https://10.0.0.5/hook",
                                "https://172.16.3.4/hook",
                                "https://192.168.1.1/hook",
                                "https://169.254.169.254/latest",
                                "https://100.64.0.1/hook",
                                "https://0.0.0.0/hook",
                                "https://[::1]/hook",
                                "https://[fd00::1]/hook",
                                "https://[fe80::1]/hook",
                                "https://[::ffff:127.0.0.1]/hook",
                                "https://224.0.0.1/hook",
                                "https://2130706433/hook",
                                "https://0x7f.0.0.1/hook",
                                "https://0177.0.0.1/hook",
                                "https://127.1/hook",
                                "https://inside.example.com/hook",
                                "http://hooks.example.com/hook",
                                "ftp://hooks.example.com/hook",
                                "https://user:pass@hooks.example.com/hook"}) {
    INFO(url);
    auto res = api.post(base + "/webhooks", {{"url", url}, {"event_types", {"*"}}}, c.admin_token);
    require_problem(res, 422, "webhook-url-refused");
    REQUIRE(res.body["errors"].size() == 1);
    CHECK(res.body["errors"][0]["pointer"] == "/url");
  }
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM webhook_subscriptions") == "0");

  auto ok =
      api.post(base + "/webhooks",
               {{"url", "https://hooks.example.com/hook"}, {"event_types", {"*"}}}, c.admin_token);
  INFO(ok.raw);
  REQUIRE(ok.status == 201);

  // The name now resolves to loopback: the send is refused at connect, not made.
  CHECK(daemon.stop(SIGTERM) == 0);
  auto moved = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0", "--outbound-resolve",
                                 "hooks.example.com:443:127.0.0.1"});
  Api again(moved.port());
  auto test = again.post(base + "/webhooks/" + ok.body["id"].get<std::string>() + "/test",
                         json::object(), c.admin_token);
  INFO(test.raw);
  REQUIRE(test.status == 200);
  CHECK(test.body["status"] == "failed");
  REQUIRE(test.body["attempt_log"].size() == 1);
  CHECK(test.body["attempt_log"][0]["status_code"].is_null());
  CHECK(test.body["attempt_log"][0]["error"].get<std::string>().find("address refused") !=
        std::string::npos);
}

TEST_CASE(
    "webhooks: a receiver that never answers times out, its breaker opens, and another tenant's "
    "deliveries arrive meanwhile",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  auto daemon = Daemon::over(db, webhook_daemon({"--webhook-timeout", "1", "--webhook-breaker", "2",
                                                 "--webhook-breaker-cooldown", "600"}));
  Api api(daemon.port());
  auto a = loyalty::test::seed_tenant(db, api, "dead-end");
  auto b = loyalty::test::seed_tenant(db, api, "alive");
  auto dead = subscribe(api, a, receiver.url("dead"), {"customer.enrolled"});
  auto live = subscribe(api, b, receiver.url("live"), {"customer.enrolled"});
  receiver.configure("dead", {dead.body["secret"]}, 0, 500, /*hang=*/true);
  receiver.configure("live", {live.body["secret"]});
  for (int i = 0; i < 4; ++i) enrol(api, a, "0773 000 00" + std::to_string(i));
  // While the dead receiver holds its first attempts, the live one gets all of B's.
  receiver.wait_for("dead", [](const json& r) { return !r.empty(); });
  for (int i = 0; i < 5; ++i) enrol(api, b, "0774 000 00" + std::to_string(i));
  auto got = receiver.wait_for("live", [](const json& r) { return r.size() >= 5; });
  CHECK(got.size() == 5);
  const auto dead_path =
      "/v1/tenants/" + a.tenant_id + "/webhooks/" + dead.body["id"].get<std::string>();
  auto shown = poll(api, dead_path, a.admin_token,
                    [](const ApiResponse& r) { return r.body["status"] == "paused"; });
  INFO(shown.raw);
  CHECK(shown.body["status"] == "paused");
  CHECK(shown.body["consecutive_failures"].get<int>() >= 2);
  auto listed = api.get(dead_path + "/deliveries?status=pending", a.admin_token);
  REQUIRE(!listed.body["items"].empty());
  bool timed_out = false;
  for (const auto& d : listed.body["items"]) {
    if (d["last_error"].is_string() &&
        d["last_error"].get<std::string>().find("timed out") != std::string::npos) {
      timed_out = true;
    }
  }
  CHECK(timed_out);
  // The breaker holds the rest back: the dead receiver saw no more than the probing attempts.
  CHECK(receiver.received("dead").size() <= 4);
  auto metrics = api.get("/metrics");
  CHECK(metrics.raw.find("loyalty_webhook_subscriptions{state=\"open\"} 1") != std::string::npos);
}

TEST_CASE(
    "webhooks: a daemon killed between sending and recording leaves the delivery to the next, "
    "which sends it again with the same webhook-id once the lease runs out",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  // A 2 s timeout makes the lease 12 s.
  auto first = Daemon::over(db, webhook_daemon({"--webhook-timeout", "2"}));
  Api api(first.port());
  auto c = loyalty::test::seed_tenant(db, api, "killed");
  auto sub = subscribe(api, c, receiver.url("k"), {"customer.enrolled"});
  receiver.configure("k", {sub.body["secret"]}, 0, 500, /*hang=*/true);
  enrol(api, c, "0775 000 001");
  auto got = receiver.wait_for("k", [](const json& r) { return !r.empty(); });
  REQUIRE(got.size() == 1);
  const auto id = got[0]["id"];
  CHECK(first.stop(SIGKILL) == 128 + SIGKILL);  // the attempt in flight, never recorded

  receiver.configure("k", {sub.body["secret"]});
  auto second = Daemon::over(db, webhook_daemon({"--webhook-timeout", "2"}));
  got = receiver.wait_for(
      "k", [](const json& r) { return !r.empty(); }, 60s);
  REQUIRE(got.size() == 1);
  CHECK(got[0]["id"] == id);
  CHECK(got[0]["verified"] == json::array({true}));
  CHECK(loyalty::test::wait_for_value(db.owner(),
                                      "SELECT status || ' ' || attempts FROM webhook_deliveries",
                                      "delivered 2") == "delivered 2");
}

TEST_CASE(
    "webhooks: two daemons on one database send every delivery once, never the same one at the "
    "same time",
    "[http]") {
  TestDatabase db;
  WebhookReceiver receiver;
  auto one = Daemon::over(db, webhook_daemon());
  auto two = Daemon::over(db, webhook_daemon());
  Api api(one.port());
  auto c = loyalty::test::seed_tenant(db, api, "pair");
  auto sub = subscribe(api, c, receiver.url("pair"), {"customer.enrolled"});
  receiver.configure("pair", {sub.body["secret"]});
  constexpr int kCustomers = 60;
  std::vector<std::thread> posts;
  for (int t = 0; t < 2; ++t) {
    posts.emplace_back([&, t] {
      Api mine(t == 0 ? one.port() : two.port());
      for (int i = t; i < kCustomers; i += 2) {
        char phone[32];
        std::snprintf(phone, sizeof phone, "0776 %03d %03d", i / 1000, i % 1000);
        mine.post("/v1/tenants/" + c.tenant_id + "/customers",
                  {{"phone", phone}, {"consent", true}}, c.pos_key);
      }
    });
  }
  for (auto& p : posts) p.join();
  auto got = receiver.wait_for(
      "pair", [&](const json& r) { return r.size() >= kCustomers; }, 60s);
  std::this_thread::sleep_for(500ms);  // a second copy of anything would have arrived by now
  got = receiver.received("pair");
  std::set<std::string> ids;
  for (const auto& r : got) {
    ids.insert(r["id"].get<std::string>());
    CHECK(r["verified"] == json::array({true}));
  }
  CHECK(got.size() == static_cast<std::size_t>(kCustomers));
  CHECK(ids.size() == static_cast<std::size_t>(kCustomers));
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM webhook_attempts") ==
        std::to_string(kCustomers));
  // Both daemons took part.
  CHECK(sql_value(db.owner(), "SELECT count(DISTINCT worker) FROM webhook_attempts") == "2");
}
