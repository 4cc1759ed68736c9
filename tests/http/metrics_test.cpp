// /metrics after real traffic through the real daemon: the series an operator alerts on hold
// the values the traffic implies, Debian's promtool finds nothing wrong with the exposition, and
// the Grafana dashboard and the alert rules name only series the daemon serves.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using loyalty::test::wait_for_value;
using nlohmann::json;

namespace {

ApiResponse post_event(Api& api, const std::string& tenant, const std::string& key,
                       const json& body, const std::string& token) {
  return api.send("POST", "/v1/tenants/" + tenant + "/events", body.dump(), "application/json",
                  token, {{"Idempotency-Key", key}});
}

json purchase(const std::string& phone, const std::string& amount) {
  return {{"customer", {{"phone", phone}}},
          {"type", "purchase"},
          {"data", {{"amount", amount}, {"currency", "USD"}}}};
}

/// The samples of an exposition: "name{labels}" -> value.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Every metric name of ours (loyalty_...) that a text mentions.
std::set<std::string> loyalty_names(const std::string& text) {
  static const std::regex kName("loyalty_[a-z0-9_]+");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), kName), end; it != end; ++it) {
    out.insert(it->str());
  }
  return out;
}

/// The PromQL expressions of a Grafana dashboard: every panel target's "expr" (rows and nested
/// panels included) and the queries of its query variables.
void panel_queries(const json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "expr" && value.is_string()) out.push_back(value);
      panel_queries(value, out);
    }
  } else if (node.is_array()) {
    for (const auto& item : node) panel_queries(item, out);
  }
}
std::vector<std::string> dashboard_queries(const json& dashboard) {
  std::vector<std::string> out;
  panel_queries(dashboard.value("panels", json::array()), out);
  for (const auto& variable : dashboard["templating"].value("list", json::array())) {
    if (variable.value("type", "") != "query") continue;
    const auto& q = variable["query"];
    out.push_back(q.is_object() ? q.value("query", "") : q.get<std::string>());
  }
  return out;
}

bool served(const std::string& exposition, const std::string& name) {
  return exposition.find("\n" + name + "{") != std::string::npos ||
         exposition.find("\n" + name + " ") != std::string::npos;
}

}  // namespace

TEST_CASE(
    "metrics: after events, a replay, rejections, redemptions, a refund and a dead job, /metrics "
    "counts each as a user expects and promtool check metrics passes",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--workers", "1", "--rate-limit", "0", "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "metrics-shop");
  std::string base = "/v1/tenants/" + c.tenant_id;
  auto budget =
      api.post(base + "/budgets", {{"name", "Launch"}, {"currency", "USD"}, {"total", "100.00"}},
               c.admin_token);
  INFO(budget.raw);
  REQUIRE(budget.status == 201);
  std::string budget_id = budget.body["id"];
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
  // One reward an hour per customer for a purchase of $50 or more.
  auto rule = api.post(base + "/rules",
                       {{"name", "Spend 50, get 5"},
                        {"event_type", "purchase"},
                        {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                        {"caps", {{"cooldown", 3600}}},
                        {"reward", "$5 off"},
                        {"budget", "Launch"}},
                       c.manager_token);
  INFO(rule.raw);
  REQUIRE(rule.status == 201);

  const std::string alice = "0771 234 567", bob = "0772 345 678";
  auto rewarded = post_event(api, c.tenant_id, "m-1", purchase(alice, "62.50"), c.pos_key);
  INFO(rewarded.raw);
  REQUIRE(rewarded.status == 201);
  REQUIRE(rewarded.body["issuances"].size() == 1);
  std::string code = rewarded.body["issuances"][0]["code"];
  REQUIRE(post_event(api, c.tenant_id, "m-1", purchase(alice, "62.50"), c.pos_key).status == 201);
  REQUIRE(post_event(api, c.tenant_id, "m-1", purchase(alice, "99.00"), c.pos_key).status == 422);
  REQUIRE(post_event(api, c.tenant_id, "m-2", purchase(alice, "12.00"), c.pos_key).status == 201);
  auto cooling = post_event(api, c.tenant_id, "m-3", purchase(alice, "70.00"), c.pos_key);
  REQUIRE(cooling.status == 201);
  REQUIRE(cooling.body["not_issued"][0]["reason"] == "cooldown");
  REQUIRE(post_event(api, c.tenant_id, "m-4", {{"customer", {{"phone", alice}}}, {"type", "visit"}},
                     c.pos_key)
              .status == 201);
  REQUIRE(post_event(api, c.tenant_id, "m-5", {{"customer", json::object()}, {"type", "purchase"}},
                     c.pos_key)
              .status == 422);
  auto bobs = post_event(api, c.tenant_id, "m-6", purchase(bob, "55.00"), c.pos_key);
  REQUIRE(bobs.status == 201);
  REQUIRE(bobs.body["issuances"].size() == 1);

  // The worker issues both; then Bob's purchase is refunded, which cancels his reward.
  CHECK(wait_for_value(db.owner(), "SELECT count(*) FROM issuances WHERE state = 'issued'", "2") ==
        "2");
  auto refund =
      post_event(api, c.tenant_id, "m-7",
                 {{"customer", {{"phone", bob}}},
                  {"type", "refund"},
                  {"data", {{"original_event_id", bobs.body["event"]["id"].get<std::string>()}}}},
                 c.pos_key);
  INFO(refund.raw);
  REQUIRE(refund.status == 201);
  REQUIRE(refund.body["refund"]["cancelled"].size() == 1);

  // At the till: Alice's code once, then again, then a code nobody has.
  REQUIRE(api.post(base + "/redemptions", {{"code", code}}, c.pos_key).status == 200);
  REQUIRE(api.post(base + "/redemptions", {{"code", code}}, c.pos_key).status == 409);
  REQUIRE(api.post(base + "/redemptions", {{"code", "FIVE-NOSUCH00"}}, c.pos_key).status == 404);

  // A job nobody can run is dead-lettered by the worker.
  sql_value(db.owner(), "INSERT INTO jobs (tenant_id, kind) VALUES ('" + c.tenant_id +
                            "', 'no.such.kind') RETURNING 1");
  CHECK(wait_for_value(db.owner(), "SELECT status FROM jobs WHERE kind = 'no.such.kind'", "dead") ==
        "dead");
  CHECK(wait_for_value(db.owner(),
                       "SELECT count(*) FROM jobs WHERE kind = 'event.issue' AND status = 'done'",
                       "2") == "2");

  auto scrape = api.get("/metrics");
  REQUIRE(scrape.status == 200);
  const std::string& text = scrape.raw;
  INFO(text);
  auto m = samples(text);
  auto value = [&](const std::string& series) {
    INFO(series);
    REQUIRE(m.count(series) == 1);
    return m.at(series);
  };

  CHECK(value(R"(loyalty_events_total{type="purchase",outcome="rewarded"})") == 2);
  CHECK(value(R"(loyalty_events_total{type="purchase",outcome="not_rewarded"})") == 2);
  CHECK(value(R"(loyalty_events_total{type="purchase",outcome="replayed"})") == 1);
  CHECK(value(R"(loyalty_events_total{type="visit",outcome="not_rewarded"})") == 1);
  CHECK(value(R"(loyalty_events_total{type="refund",outcome="not_rewarded"})") == 1);
  CHECK(value(R"(loyalty_events_rejected_total{problem="idempotency-key-reused"})") == 1);
  CHECK(value(R"(loyalty_events_rejected_total{problem="validation-failed"})") == 1);
  // Posted one after the other, every event that reached a transaction had one of its own: the
  // 7 processed and the one whose key was reused (the invalid body never got that far).
  CHECK(value(R"(loyalty_event_group_size_bucket{le="1"})") == 8);
  CHECK(value(R"(loyalty_event_group_size_bucket{le="+Inf"})") == 8);
  CHECK(value("loyalty_event_group_size_count") == 8);
  CHECK(value("loyalty_event_group_size_sum") == 8);

  CHECK(value(R"(loyalty_rule_evaluations_total{result="matched"})") == 3);
  CHECK(value(R"(loyalty_rule_evaluations_total{result="not_matched"})") == 1);
  CHECK(value(R"(loyalty_rule_evaluations_total{result="error"})") == 0);
  CHECK(value(R"(loyalty_rewards_not_issued_total{reason="cooldown"})") == 1);

  CHECK(value(R"(loyalty_issuance_transitions_total{transition="reserved"})") == 2);
  CHECK(value(R"(loyalty_issuance_transitions_total{transition="issued"})") == 2);
  CHECK(value(R"(loyalty_issuance_transitions_total{transition="redeemed"})") == 1);
  CHECK(value(R"(loyalty_issuance_transitions_total{transition="cancelled"})") == 0);
  CHECK(value(R"(loyalty_issuance_transitions_total{transition="refunded"})") == 1);
  CHECK(value(R"(loyalty_redemptions_total{outcome="redeemed"})") == 1);
  CHECK(value(R"(loyalty_redemptions_total{outcome="code-already-redeemed"})") == 1);
  CHECK(value(R"(loyalty_redemptions_total{outcome="unknown-code"})") == 1);

  // Eight events reached the rules (the malformed one did not): compiled once, then reused.
  CHECK(value(R"(loyalty_rules_cache_lookups_total{result="miss"})") == 1);
  CHECK(value(R"(loyalty_rules_cache_lookups_total{result="hit"})") +
            value(R"(loyalty_rules_cache_lookups_total{result="revalidated"})") ==
        7);

  CHECK(value(R"(loyalty_worker_jobs_total{outcome="done"})") == 2);
  CHECK(value(R"(loyalty_worker_jobs_total{outcome="dead"})") == 1);
  CHECK(value(R"(loyalty_jobs{state="dead"})") == 1);
  CHECK(value(R"(loyalty_jobs{state="due"})") == 0);
  CHECK(value(R"(loyalty_jobs{state="running"})") == 0);
  CHECK(value("loyalty_database_up") == 1);
  // $5 of $100 spent: Alice's voucher; Bob's was released by the refund.
  CHECK(value("loyalty_budgets_funded") == 1);
  CHECK(value("loyalty_budget_utilisation_ratio{tenant=\"metrics-shop\",budget=\"" + budget_id +
              "\"}") == Approx(0.05));
  // The webhook series are still there.
  CHECK(m.count(R"(loyalty_webhook_attempts_total{outcome="delivered"})") == 1);

  // Debian's promtool (2.42): a parse error exits 1, a lint problem exits 3 and names it on
  // stderr — as this exposition with a counter lacking _total and a series lacking HELP shows.
  auto bad = loyalty::test::run_command(
      {"/usr/bin/promtool", "check", "metrics"},
      "# HELP loyalty_x Counted.\n# TYPE loyalty_x counter\nloyalty_x 1\nloyalty_y 2\n");
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("_total") != std::string::npos);
  CHECK(bad.err.find("loyalty_y no help text") != std::string::npos);
  // The daemon's exposition: no parse error and no lint problem.
  auto check = loyalty::test::run_command({"/usr/bin/promtool", "check", "metrics"}, text);
  INFO("promtool stdout: " << check.out << "\npromtool stderr: " << check.err);
  CHECK(check.exit_code == 0);
  CHECK(check.out.empty());
  CHECK(check.err.empty());

  // The alert rules and the dashboard name only series a real scrape has (or Prometheus's own
  // `up`), so neither can drift from the daemon.
  std::string alerts = read_file(LOYALTY_SOURCE_DIR "/deploy/prometheus/loyalty-alerts.yml");
  for (const auto& name : loyalty_names(alerts)) {
    INFO("alert rules name " << name);
    CHECK(served(text, name));
  }
  auto dashboard =
      json::parse(read_file(LOYALTY_SOURCE_DIR "/deploy/grafana/loyalty-dashboard.json"));
  auto queries = dashboard_queries(dashboard);
  CHECK(queries.size() >= 10);
  std::set<std::string> named;
  for (const auto& q : queries) {
    auto names = loyalty_names(q);
    INFO("dashboard query " << q);
    CHECK((!names.empty() || q.find("up{") != std::string::npos));
    named.insert(names.begin(), names.end());
  }
  for (const auto& name : named) {
    INFO("dashboard names " << name);
    CHECK(served(text, name));
  }
}
