// Profiles and segments through the real daemon: PATCH a customer (roles, problem+json field
// errors, consent history), segments defined and listed, their members in pages, and membership
// recomputed by the daemon's worker after events.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kDaemonArgs = {"--workers",       "1", "--rate-limit", "0",
                                              "--rate-limit-ip", "0"};

std::set<std::string> pointers(const ApiResponse& r) {
  std::set<std::string> out;
  for (const auto& e : r.body.value("errors", json::array())) out.insert(e["pointer"]);
  return out;
}

/// Waits until GET `path` answers a body for which `done` holds; returns it.
json wait_for(Api& api, const std::string& path, const std::string& token,
              const std::function<bool(const json&)>& done) {
  json last;
  for (int i = 0; i < 200; ++i) {
    last = api.get(path, token).body;
    if (done(last)) return last;
    std::this_thread::sleep_for(50ms);
  }
  FAIL("still " << last.dump());
  return last;
}

}  // namespace

TEST_CASE(
    "segments api: PATCH changes a customer's profile for admins and managers, refuses bad "
    "fields as problem+json 422 with their pointers, and lists the consent history",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "profiles-api");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  auto created = api.post(base + "/customers", {{"phone", "0771 234 567"}}, c.pos_key);
  REQUIRE(created.status == 201);
  CHECK(created.body["language"].is_null());
  const std::string path = base + "/customers/" + created.body["id"].get<std::string>();

  auto patched = api.patch(path,
                           {{"attributes", {{"city", "Harare"}}},
                            {"tags", {{"add", {"vip"}}}},
                            {"birthday", "1990-05-17"},
                            {"language", "nd"},
                            {"consent", {{"given", true}, {"channel", "web"}}}},
                           c.manager_token);
  INFO(patched.raw);
  REQUIRE(patched.status == 200);
  CHECK(patched.body["attributes"] == json{{"city", "Harare"}});
  CHECK(patched.body["tags"] == json{"vip"});
  CHECK(patched.body["birthday"] == "1990-05-17");
  CHECK(patched.body["language"] == "nd");
  CHECK(patched.body["consent"]["given"] == true);
  CHECK(patched.body["consent"]["channel"] == "web");
  auto withdrawn =
      api.patch(path, {{"consent", {{"given", false}, {"channel", "whatsapp"}}}}, c.admin_token);
  REQUIRE(withdrawn.status == 200);
  CHECK(withdrawn.body["consent"] == json{{"given", false}, {"at", nullptr}, {"channel", nullptr}});

  // Viewers and POS keys may not.
  CHECK(api.patch(path, {{"tags", {"x"}}}, c.viewer_token).status == 403);
  CHECK(api.patch(path, {{"tags", {"x"}}}, c.pos_key).status == 403);

  auto bad = api.patch(path,
                       {{"birthday", "17/05/1990"},
                        {"language", "fr"},
                        {"tags", {{"add", {""}}}},
                        {"consent", {{"given", true}, {"channel", "fax"}}}},
                       c.manager_token);
  CHECK(bad.status == 422);
  CHECK(bad.content_type == "application/problem+json");
  CHECK(pointers(bad) ==
        std::set<std::string>{"/birthday", "/language", "/tags/add/0", "/consent/channel"});
  auto unknown = api.patch(path, {{"phone", "0772 000 000"}}, c.manager_token);
  CHECK(unknown.status == 400);
  CHECK(pointers(unknown) == std::set<std::string>{"/phone"});
  CHECK(api.get(path, c.viewer_token).body == withdrawn.body);

  auto history = api.get(path + "/consents", c.viewer_token);
  INFO(history.raw);
  REQUIRE(history.status == 200);
  REQUIRE(history.body["items"].size() == 2);
  CHECK(history.body["items"][0]["consent"] == "given");
  CHECK(history.body["items"][0]["channel"] == "web");
  CHECK(history.body["items"][0]["actor_type"] == "user");
  CHECK(history.body["items"][1]["consent"] == "withdrawn");
  CHECK(history.body["items"][1]["channel"] == "whatsapp");
  CHECK(history.body["next_cursor"].is_null());
  CHECK(api.get(path + "/consents", c.pos_key).status == 403);

  // The audit log through the API: who changed which field.
  auto audit = api.get(base + "/audit", c.admin_token);
  REQUIRE(audit.status == 200);
  const auto& newest = audit.body["items"][0];
  CHECK(newest["action"] == "customer.update");
  CHECK(newest["actor_type"] == "user");
  CHECK(newest["before"] == json{{"consent", {{"given", true}, {"channel", "web"}}}});
  CHECK(newest["after"] == json{{"consent", {{"given", false}, {"channel", nullptr}}}});
}

TEST_CASE(
    "segments api: segments are defined, refused with the engine's pointers, listed, renamed "
    "and deleted, and their members list in pages",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "segments-api");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  std::vector<std::string> vips;
  for (int i = 0; i < 5; ++i) {
    auto vip =
        api.post(base + "/customers",
                 {{"phone", "+26377100000" + std::to_string(i)}, {"tags", {"vip"}}}, c.pos_key);
    REQUIRE(vip.status == 201);
    vips.push_back(vip.body["id"]);
    REQUIRE(
        api.post(base + "/customers", {{"phone", "+26377200000" + std::to_string(i)}}, c.pos_key)
            .status == 201);
  }

  auto invalid =
      api.post(base + "/segments", {{"name", "bad"}, {"conditions", {{"days_since", {"visit"}}}}},
               c.manager_token);
  CHECK(invalid.status == 422);
  CHECK(pointers(invalid) == std::set<std::string>{"/conditions/days_since"});
  CHECK(api.post(base + "/segments", {{"name", "vips"}, {"conditions", {{"has_tag", {"vip"}}}}},
                 c.viewer_token)
            .status == 403);
  auto made = api.post(
      base + "/segments",
      {{"name", "vips"}, {"description", "tagged vip"}, {"conditions", {{"has_tag", {"vip"}}}}},
      c.manager_token);
  INFO(made.raw);
  REQUIRE(made.status == 201);
  CHECK(made.body["name"] == "vips");
  CHECK(made.body["conditions"] == json{{"has_tag", {"vip"}}});
  const std::string segment = base + "/segments/" + made.body["id"].get<std::string>();
  CHECK(api.post(base + "/segments", {{"name", "vips"}, {"conditions", true}}, c.admin_token)
            .status == 409);
  auto listed = api.get(base + "/segments", c.viewer_token);
  REQUIRE(listed.body["items"].size() == 1);
  CHECK(listed.body["items"][0] == made.body);
  CHECK(api.get(segment, c.viewer_token).body == made.body);

  // The worker computes every customer's membership after the segment was created.
  wait_for(api, segment + "/customers?limit=200", c.viewer_token,
           [](const json& b) { return b["items"].size() == 5; });
  std::vector<std::string> paged;
  std::string cursor;
  int pages = 0;
  do {
    auto page =
        api.get(segment + "/customers?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
                c.viewer_token);
    REQUIRE(page.status == 200);
    ++pages;
    for (const auto& m : page.body["items"]) {
      paged.push_back(m["id"]);
      CHECK(m["segments"] == json{"vips"});
    }
    cursor = page.body["next_cursor"].is_null() ? "" : page.body["next_cursor"].get<std::string>();
  } while (!cursor.empty());
  CHECK(pages == 3);
  CHECK(paged == vips);
  CHECK(api.get(base + "/customers?segment=vips&limit=200", c.viewer_token).body["items"].size() ==
        5);

  auto renamed =
      api.send("PUT", segment,
               json{{"name", "very important"}, {"conditions", {{"has_tag", {"vip"}}}}}.dump(),
               "application/json", c.manager_token);
  INFO(renamed.raw);
  REQUIRE(renamed.status == 200);
  CHECK(renamed.body["name"] == "very important");
  CHECK(renamed.body["description"] == "");
  CHECK(api.get(base + "/customers/" + vips[0], c.viewer_token).body["segments"] ==
        json{"very important"});
  CHECK(api.del(segment, c.viewer_token).status == 403);
  CHECK(api.del(segment, c.manager_token).status == 204);
  CHECK(api.get(segment, c.viewer_token).status == 404);
  CHECK(api.get(segment + "/customers", c.viewer_token).status == 404);
  CHECK(api.get(base + "/customers/" + vips[0], c.viewer_token).body["segments"] == json::array());
}

TEST_CASE(
    "segments api: after a customer's events the daemon's worker puts them in the segment, and "
    "a rule testing in_segment then rewards them",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "segments-events");
  const std::string base = "/v1/tenants/" + c.tenant_id;
  REQUIRE(api.post(base + "/segments",
                   {{"name", "regulars"},
                    {"conditions", {{">=", {{{"event_count", {"visit", 30}}}, 2}}}}},
                   c.manager_token)
              .status == 201);
  REQUIRE(api.post(base + "/reward-catalog",
                   {{"name", "regular points"},
                    {"type", "points"},
                    {"currency", "USD"},
                    {"validity_days", 30},
                    {"config", {{"points", 5}}}},
                   c.manager_token)
              .status == 201);
  REQUIRE(api.post(base + "/rules",
                   {{"name", "regulars earn"},
                    {"event_type", "visit"},
                    {"conditions", {{"in_segment", {"regulars"}}}},
                    {"reward", "regular points"}},
                   c.manager_token)
              .status == 201);
  auto visit = [&](const std::string& key) {
    auto r = api.post(
        base + "/events",
        {{"customer", {{"phone", "0771 234 567"}}}, {"type", "visit"}, {"idempotency_key", key}},
        c.pos_key);
    INFO(r.raw);
    REQUIRE(r.status == 201);
    return r.body;
  };
  auto first = visit("v1");
  CHECK(first["issuances"].empty());
  auto second = visit("v2");
  CHECK(second["issuances"].empty());  // a member only once the worker ran
  std::string customer = second["customer"]["id"];
  wait_for(api, base + "/customers/" + customer, c.viewer_token,
           [](const json& b) { return b["segments"] == json{"regulars"}; });
  auto third = visit("v3");
  REQUIRE(third["issuances"].size() == 1);
  CHECK(third["issuances"][0]["reward"]["name"] == "regular points");
}
