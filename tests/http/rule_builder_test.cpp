// The rule builder's API through the real daemon: a draft rule (or bare JsonLogic) validated with
// every problem at the JSON pointer of its node, and simulated against a sample event through
// the pipeline's stages, writing nothing.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

#include <set>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

std::set<std::string> pointers(const loyalty::test::ApiResponse& res) {
  std::set<std::string> out;
  for (const auto& e : res.body["errors"]) out.insert(e["pointer"].get<std::string>());
  return out;
}

std::string message_at(const loyalty::test::ApiResponse& res, const std::string& pointer) {
  for (const auto& e : res.body["errors"]) {
    if (e["pointer"] == pointer) return e["message"];
  }
  return "";
}

void require_problem(const loyalty::test::ApiResponse& res, int status) {
  INFO(res.raw);
  REQUIRE(res.status == status);
  CHECK(res.content_type == "application/problem+json");
}

}  // namespace

TEST_CASE(
    "rule builder api: validate answers ok or lists each problem at the pointer of its node, "
    "for a rule or bare JsonLogic",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "builder-validate");
  loyalty::test::free_coffee_on_every_visit(api, c);
  const std::string path = "/v1/tenants/" + c.tenant_id + "/rules/validate";
  const std::string rules_before = sql_value(db.owner(), "SELECT count(*) FROM rules");

  // Bare JsonLogic: fine, and then with an unknown operator and a loyalty operator misused.
  json logic = {
      {"and", {{{">=", {{{"var", "event.amount"}}, 50}}}, {{"weekday_in", {"sat", "sun"}}}}}};
  auto ok = api.post(path, {{"logic", logic}}, c.viewer_token);
  INFO(ok.raw);
  REQUIRE(ok.status == 200);
  CHECK(ok.body == json{{"ok", true}});
  auto bad = api.post(path,
                      {{"logic",
                        {{"and",
                          {{{">=", {{{"var", "event.amount"}}, 50}}},
                           {{"=>", {1, 2}}},
                           {{"event_count", {"visit"}}}}}}}},
                      c.manager_token);
  require_problem(bad, 422);
  auto p = pointers(bad);
  CHECK(p == std::set<std::string>{"/logic/and/1/=>", "/logic/and/2/event_count"});
  CHECK(message_at(bad, "/logic/and/1/=>").find("unknown operator") != std::string::npos);
  CHECK(message_at(bad, "/logic/and/2/event_count").find("event_count") != std::string::npos);

  // A rule: the engine's problems and the tenant's, each at its field or node.
  auto wrong = api.post(path,
                        {{"rule",
                          {{"name", "Weekend"},
                           {"event_type", "purchase"},
                           {"conditions", {{"or", {true, {{"no-such-op", {1}}}}}}},
                           {"reward", "Free cofee"},
                           {"caps", {{"per_customer", {{"max", 0}, {"period", "week"}}}}}}}},
                        c.manager_token);
  require_problem(wrong, 422);
  p = pointers(wrong);
  CHECK(p.count("/rule/reward"));
  CHECK(p.count("/rule/caps/per_customer/max"));
  CHECK(p.count("/rule/conditions/or/1/no-such-op"));
  CHECK(message_at(wrong, "/rule/reward") == "no reward 'Free cofee' in this tenant");

  // Fixed: ok, with the rule as the engine reads it (defaults written out).
  auto fixed = api.post(path,
                        {{"rule",
                          {{"name", "Weekend"},
                           {"event_type", "purchase"},
                           {"conditions", logic},
                           {"reward", "Free coffee"},
                           {"caps", {{"per_customer", {{"max", 1}, {"period", "week"}}}}}}}},
                        c.manager_token);
  INFO(fixed.raw);
  REQUIRE(fixed.status == 200);
  CHECK(fixed.body["ok"] == true);
  CHECK(fixed.body["rule"]["priority"] == 0);
  CHECK(fixed.body["rule"]["active"] == true);
  CHECK(fixed.body["rule"]["conditions"] == logic);
  // The name of a stored rule is not a problem here: the builder validates the rule it edits.
  auto same_name = api.post(path,
                            {{"rule",
                              {{"name", "Any visit"},
                               {"event_type", "visit"},
                               {"conditions", true},
                               {"reward", "Free coffee"}}}},
                            c.manager_token);
  CHECK(same_name.status == 200);

  // Neither or both, another shape, an unknown field.
  require_problem(api.post(path, json::object(), c.manager_token), 422);
  require_problem(api.post(path, {{"logic", true}, {"rule", json::object()}}, c.manager_token),
                  422);
  auto array = api.post(path, {{"rule", json::array()}}, c.manager_token);
  require_problem(array, 422);
  CHECK(pointers(array) == std::set<std::string>{"/rule"});
  require_problem(api.post(path, {{"logic", true}, {"extra", 1}}, c.manager_token), 400);
  require_problem(api.post(path, {{"logic", true}}, ""), 401);
  require_problem(api.post(path, {{"logic", true}}, c.pos_key), 403);
  // Nothing was written.
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM rules") == rules_before);
}

TEST_CASE(
    "rule builder api: simulate says whether a draft rule matches a sample event and what it "
    "would issue, through caps, stock and the customer's history, and writes nothing",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "builder-simulate");
  loyalty::test::free_coffee_on_every_visit(api, c);
  const std::string base = "/v1/tenants/" + c.tenant_id;
  const std::string path = base + "/rules/simulate";
  REQUIRE(api.post(base + "/customers", {{"phone", "+263771111111"}}, c.pos_key).status == 201);
  const std::string reward_id =
      sql_value(db.owner(), "SELECT id FROM rewards WHERE name = 'Free coffee'");

  json draft = {{"name", "Harare visits"},
                {"event_type", "visit"},
                {"conditions", {{"==", {{{"var", "event.store"}}, "harare"}}}},
                {"reward", "Free coffee"},
                {"caps", {{"per_customer", {{"max", 1}, {"period", "lifetime"}}}}}};
  auto visit = [](const std::string& store) {
    return json{{"customer", {{"phone", "+263771111111"}}},
                {"type", "visit"},
                {"data", {{"store", store}}}};
  };
  auto fingerprint = [&] {
    return sql_value(db.owner(),
                     "SELECT (SELECT count(*) FROM events) || '/' || (SELECT count(*) FROM "
                     "issuances) || '/' || (SELECT count(*) FROM rules) || '/' || (SELECT "
                     "count(*) FROM customers)");
  };
  const auto before = fingerprint();

  auto matched = api.post(path, {{"rule", draft}, {"event", visit("harare")}}, c.viewer_token);
  INFO(matched.raw);
  REQUIRE(matched.status == 200);
  CHECK(matched.body == json{{"customer_known", true},
                             {"matches", true},
                             {"would_issue", true},
                             {"reward_id", reward_id}});
  auto elsewhere = api.post(path, {{"rule", draft}, {"event", visit("bulawayo")}}, c.manager_token);
  CHECK(elsewhere.body == json{{"customer_known", true},
                               {"matches", false},
                               {"would_issue", false},
                               {"reason", "conditions_not_met"}});
  json purchase = {{"customer", {{"phone", "+263771111111"}}},
                   {"type", "purchase"},
                   {"data", {{"amount", "12.00"}, {"currency", "USD"}}}};
  CHECK(api.post(path, {{"rule", draft}, {"event", purchase}}, c.manager_token).body["reason"] ==
        "other_event_type");
  // A customer the tenant would enrol on the fly is evaluated as new.
  auto stranger = visit("harare");
  stranger["customer"] = {{"phone", "+263779999999"}};
  auto unknown = api.post(path, {{"rule", draft}, {"event", stranger}}, c.manager_token);
  CHECK(unknown.body["customer_known"] == false);
  CHECK(unknown.body["would_issue"] == true);
  // A loyalty operator reads the customer's history: no earlier visit yet.
  json second_visit = draft;
  second_visit["conditions"] = {{">=", {{{"event_count", {"visit", 30}}}, 1}}};
  CHECK(api.post(path, {{"rule", second_visit}, {"event", visit("harare")}}, c.manager_token)
            .body["matches"] == false);
  CHECK(fingerprint() == before);

  // Stored and used once, the rule's cap is reached for this customer: simulating the draft as
  // an edit of that rule says so; as a new rule it would still issue.
  REQUIRE(api.post(base + "/rules", draft, c.manager_token).status == 201);
  auto posted = api.send("POST", base + "/events", visit("harare").dump(), "application/json",
                         c.pos_key, {{"Idempotency-Key", "visit-1"}});
  INFO(posted.raw);
  REQUIRE(posted.status == 201);
  auto capped =
      api.post(path, {{"rule", draft}, {"event", visit("harare")}, {"rule_id", "Harare visits"}},
               c.manager_token);
  CHECK(capped.body == json{{"customer_known", true},
                            {"matches", true},
                            {"would_issue", false},
                            {"reason", "per_customer_cap"}});
  CHECK(api.post(path, {{"rule", draft}, {"event", visit("harare")}}, c.manager_token)
            .body["would_issue"] == true);
  CHECK(api.post(path, {{"rule", second_visit}, {"event", visit("harare")}}, c.manager_token)
            .body["matches"] == true);

  // Problems of the rule at /rule/..., of the event at /event/...; an unknown rule_id is 404.
  json broken = draft;
  broken["conditions"] = {{"==", {1}}};
  broken["reward"] = "Nothing";
  auto refused = api.post(path, {{"rule", broken}, {"event", visit("harare")}}, c.manager_token);
  require_problem(refused, 422);
  CHECK(pointers(refused) == std::set<std::string>{"/rule/conditions/==", "/rule/reward"});
  auto bad_event = visit("harare");
  bad_event["type"] = "Not A Type";
  auto refused_event = api.post(path, {{"rule", draft}, {"event", bad_event}}, c.manager_token);
  require_problem(refused_event, 422);
  CHECK(pointers(refused_event) == std::set<std::string>{"/event/type"});
  auto missing = api.post(path, {{"rule", draft}}, c.manager_token);
  require_problem(missing, 422);
  CHECK(pointers(missing) == std::set<std::string>{"/event"});
  require_problem(
      api.post(path, {{"rule", draft}, {"event", visit("harare")}, {"rule_id", "No such rule"}},
               c.manager_token),
      404);
  // The simulations wrote nothing: the one event and its two issuances (Any visit's and Harare
  // visits') are all there is.
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances") == "2");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "1");
}
