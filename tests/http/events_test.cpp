// The hot path through the real daemon: a POS posts events, the worker issues the rewards, the
// till redeems them; and a daemon killed under load loses nothing it acknowledged.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/fake_graph.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using loyalty::test::wait_for_value;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kFast = {"--rate-limit", "0", "--rate-limit-ip", "0"};

std::vector<std::string> daemon_args(std::vector<std::string> extra) {
  extra.insert(extra.end(), kFast.begin(), kFast.end());
  return extra;
}

/// A tenant with a $5 voucher for purchases of $50 or more, funded by a hard-capped budget.
void seed_catalogue(Api& api, const loyalty::test::TenantCredentials& c,
                    const std::string& budget_total = "100.00") {
  std::string base = "/v1/tenants/" + c.tenant_id;
  auto budget =
      api.post(base + "/budgets",
               {{"name", "Launch"}, {"currency", "USD"}, {"total", budget_total}}, c.admin_token);
  INFO(budget.raw);
  REQUIRE(budget.status == 201);
  auto reward =
      api.post(base + "/reward-catalog",
               {{"name", "$5 off"},
                {"type", "voucher"},
                {"cost", "5.00"},
                {"currency", "USD"},
                {"validity_days", 30},
                {"budget", "Launch"},
                {"config", {{"source", "generated"}, {"prefix", "FIVE-"}, {"length", 8}}}},
               c.manager_token);
  INFO(reward.raw);
  REQUIRE(reward.status == 201);
  auto rule = api.post(base + "/rules",
                       {{"name", "Spend 50, get 5"},
                        {"event_type", "purchase"},
                        {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                        {"reward", "$5 off"},
                        {"budget", "Launch"}},
                       c.manager_token);
  INFO(rule.raw);
  REQUIRE(rule.status == 201);
}

json purchase(const std::string& phone, const std::string& amount) {
  return {{"customer", {{"phone", phone}}},
          {"type", "purchase"},
          {"occurred_at", "2026-11-24T10:15:00Z"},
          {"data", {{"amount", amount}, {"currency", "USD"}, {"store", "HRE-01"}}}};
}

ApiResponse post_event(Api& api, const std::string& tenant, const std::string& key,
                       const json& body, const std::string& token) {
  return api.send("POST", "/v1/tenants/" + tenant + "/events", body.dump(), "application/json",
                  token, {{"Idempotency-Key", key}});
}

void require_problem(const ApiResponse& res, int status, const std::string& type) {
  INFO(res.raw);
  REQUIRE(res.status == status);
  CHECK(res.content_type == "application/problem+json");
  CHECK(res.body["type"] == "https://loyalty.example/problems/" + type);
}

void require_ledger_verifies(TestDatabase& db) {
  auto verify = loyalty::test::loyaltyctl(db.owner_url(), {"ledger", "verify"});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
}

}  // namespace

TEST_CASE("events api: a POS posts a purchase, the worker issues the voucher, the till redeems it",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, daemon_args({"--workers", "1"}));
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "till");
  seed_catalogue(api, c);
  std::string base = "/v1/tenants/" + c.tenant_id;

  auto first =
      post_event(api, c.tenant_id, "till-1-0001", purchase("0771 234 567", "62.50"), c.pos_key);
  INFO(first.raw);
  REQUIRE(first.status == 201);
  CHECK(first.body["customer"]["enrolled"] == true);
  CHECK(first.body["event"]["idempotency_key"] == "till-1-0001");
  REQUIRE(first.body["issuances"].size() == 1);
  auto issuance = first.body["issuances"][0];
  CHECK(issuance["state"] == "reserved");
  CHECK(issuance["reward"]["name"] == "$5 off");
  CHECK(issuance["cost"] == json{{"amount", "5.00"}, {"currency", "USD"}});
  std::string code = issuance["code"];
  CHECK(code.rfind("FIVE-", 0) == 0);

  // The same key and body again: the original answer, byte for byte, marked as a replay.
  auto replay =
      post_event(api, c.tenant_id, "till-1-0001", purchase("0771 234 567", "62.50"), c.pos_key);
  CHECK(replay.status == 201);
  CHECK(replay.raw == first.raw);
  CHECK(replay.headers.find("Idempotent-Replayed") != replay.headers.end());
  // The same key with another body is refused and writes nothing.
  require_problem(
      post_event(api, c.tenant_id, "till-1-0001", purchase("0771 234 567", "99.00"), c.pos_key),
      422, "idempotency-key-reused");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "1");

  // A small purchase matches no rule; the key may also come in the body.
  json small = purchase("0771 234 567", "12.00");
  small["idempotency_key"] = "till-1-0002";
  auto no_reward = api.post(base + "/events", small, c.pos_key);
  INFO(no_reward.raw);
  REQUIRE(no_reward.status == 201);
  CHECK(no_reward.body["issuances"].empty());
  CHECK(no_reward.body["customer"]["enrolled"] == false);

  // Bad input: a problem naming every bad field; viewers may not post.
  auto bad = post_event(api, c.tenant_id, "till-1-0003",
                        {{"customer", json::object()},
                         {"type", "purchase"},
                         {"data", {{"amount", "12.345"}, {"currency", "USD"}}}},
                        c.pos_key);
  require_problem(bad, 422, "validation-failed");
  CHECK(bad.body["errors"].size() >= 2);
  require_problem(
      post_event(api, c.tenant_id, "till-1-0004", purchase("0771 234 567", "60"), c.viewer_token),
      403, "forbidden");

  // The worker issues the voucher: budget charged, the customer sees it.
  std::string issuance_path = base + "/issuances/" + issuance["id"].get<std::string>();
  CHECK(wait_for_value(db.owner(), "SELECT state FROM issuances", "issued") == "issued");
  auto shown = api.get(issuance_path, c.viewer_token);
  CHECK(shown.body["state"] == "issued");
  CHECK(shown.body["issued_at"].is_string());
  auto customer =
      api.get(base + "/customers/" + first.body["customer"]["id"].get<std::string>(), c.pos_key);
  CHECK(customer.body["phone"] == "+263771234567");
  auto listed = api.get(
      base + "/events?customer_id=" + first.body["customer"]["id"].get<std::string>() + "&limit=1",
      c.viewer_token);
  REQUIRE(listed.status == 200);
  CHECK(listed.body["items"].size() == 1);
  CHECK(listed.body["next_cursor"].is_string());
  auto event =
      api.get(base + "/events/" + first.body["event"]["id"].get<std::string>(), c.viewer_token);
  REQUIRE(event.status == 200);
  CHECK(event.body["issuances"][0]["state"] == "issued");

  // The issuances list, filtered as the dashboard or a till would.
  std::string customer_id = first.body["customer"]["id"];
  auto issued =
      api.get(base + "/issuances?customer_id=" + customer_id + "&state=issued", c.viewer_token);
  INFO(issued.raw);
  REQUIRE(issued.status == 200);
  REQUIRE(issued.body["items"].size() == 1);
  CHECK(issued.body["items"][0]["id"] == issuance["id"]);
  CHECK(issued.body["next_cursor"].is_null());
  CHECK(api.get(base + "/issuances?customer_id=" + customer_id + "&state=redeemed", c.pos_key)
            .body["items"]
            .empty());
  CHECK(api.get(base + "/issuances?event_id=" + first.body["event"]["id"].get<std::string>(),
                c.pos_key)
            .body["items"]
            .size() == 1);
  CHECK(api.get(base + "/issuances?event_id=" + no_reward.body["event"]["id"].get<std::string>(),
                c.pos_key)
            .body["items"]
            .empty());
  CHECK(api.get(base + "/issuances?reward_id=" + issuance["reward"]["id"].get<std::string>(),
                c.pos_key)
            .body["items"]
            .size() == 1);
  require_problem(api.get(base + "/issuances?customer_id=0771234567", c.pos_key), 422,
                  "validation-failed");

  // At the till: redeem by code once; the second time and unknown codes are distinct problems.
  auto redeemed = api.post(base + "/redemptions", {{"code", code}}, c.pos_key);
  INFO(redeemed.raw);
  REQUIRE(redeemed.status == 200);
  CHECK(redeemed.body["state"] == "redeemed");
  require_problem(api.post(base + "/redemptions", {{"code", code}}, c.pos_key), 409,
                  "code-already-redeemed");
  require_problem(api.post(base + "/redemptions", {{"code", "FIVE-NOSUCH00"}}, c.pos_key), 404,
                  "unknown-code");
  require_problem(api.post(issuance_path + "/cancel", json::object(), c.manager_token), 409,
                  "invalid-transition");

  // The ledger tells the voucher's story: reserved, charged, spent.
  auto ledger = api.get(base + "/ledger?limit=10", c.viewer_token);
  REQUIRE(ledger.status == 200);
  std::vector<std::string> kinds;
  for (const auto& m : ledger.body["items"]) kinds.push_back(m["kind"]);
  CHECK(kinds == std::vector<std::string>{"spend", "charge", "reserve", "topup"});
  auto budget = api.get(base + "/budgets/Launch", c.viewer_token);
  INFO(budget.raw);
  CHECK(budget.body["spent"] == "5.00");
  require_ledger_verifies(db);

  // A tenant that does not enrol on the fly refuses strangers and keeps nothing.
  sql_value(db.owner(), "UPDATE tenants SET settings = '{\"auto_enrol\": false}' RETURNING 1");
  auto other = Daemon::over(db, daemon_args({"--workers", "0"}));
  Api fresh(other.port());
  require_problem(
      post_event(fresh, c.tenant_id, "till-1-0005", purchase("0772 000 111", "70"), c.pos_key), 422,
      "unknown-customer");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM events") == "2");
}

TEST_CASE("events api: a PIN reward is redeemed at the till with the PIN sent to the customer",
          "[http]") {
  TestDatabase db;
  loyalty::test::FakeGraph graph("graph-token-events");
  auto daemon =
      Daemon::over(db, daemon_args({"--workers", "1", "--whatsapp-api-base", graph.api_base(),
                                    "--whatsapp-access-token", "graph-token-events"}));
  Api api(daemon.port());
  auto c = loyalty::test::seed_tenant(db, api, "pin");
  // The customer was enrolled at the till (never wrote on WhatsApp): the notice goes as the
  // tenant's template, the PIN its fourth parameter.
  REQUIRE(loyalty::test::loyaltyctl(
              db.owner_url(), {"channel", "add", "--tenant", "pin", "--whatsapp", "106540352242922",
                               "--template", "reward_issued=reward_ready"})
              .exit_code == 0);
  std::string base = "/v1/tenants/" + c.tenant_id;
  loyalty::test::free_coffee_on_every_visit(api, c);
  REQUIRE(api.post(base + "/customers", {{"phone", "0771 234 567"}, {"consent", true}}, c.pos_key)
              .status == 201);
  auto visit =
      post_event(api, c.tenant_id, "visit-1",
                 {{"customer", {{"phone", "+263771234567"}}}, {"type", "visit"}}, c.pos_key);
  INFO(visit.raw);
  REQUIRE(visit.status == 201);
  REQUIRE(visit.body["issuances"].size() == 1);
  CHECK(visit.body["issuances"][0]["pin_required"] == true);
  std::string path = base + "/issuances/" + visit.body["issuances"][0]["id"].get<std::string>();
  CHECK(wait_for_value(db.owner(), "SELECT state FROM issuances", "issued") == "issued");
  REQUIRE(graph.wait_for(1, 20s));
  auto notice = json::parse(graph.requests()[0].body);
  CHECK(notice["to"] == "+263771234567");
  std::string pin = notice["template"]["components"][0]["parameters"][3]["text"];
  REQUIRE(pin.size() == 6);
  CHECK(graph.violations().empty());

  require_problem(api.post(path + "/redeem", json::object(), c.pos_key), 422, "pin-required");
  auto wrong =
      api.post(path + "/redeem", {{"pin", pin == "123456" ? "654321" : "123456"}}, c.pos_key);
  require_problem(wrong, 422, "pin-mismatch");
  CHECK(wrong.body["attempts_left"] == "4");
  require_problem(api.post(path + "/redeem", {{"pin", "12ab"}}, c.pos_key), 422,
                  "validation-failed");
  auto ok = api.post(path + "/redeem", {{"pin", pin}}, c.pos_key);
  INFO(ok.raw);
  REQUIRE(ok.status == 200);
  CHECK(ok.body["state"] == "redeemed");
  // Neither the PIN nor the full phone number reaches the log.
  auto log = daemon.log();
  CHECK(log.find("\"" + pin + "\"") == std::string::npos);
  CHECK(log.find("771234567") == std::string::npos);
}

TEST_CASE(
    "events api: kill -9 under load loses no acknowledged event and a restart finishes the jobs",
    "[http]") {
  TestDatabase db;
  auto first = std::make_unique<Daemon>(
      Daemon::over(db, daemon_args({"--workers", "1", "--worker-lease", "2"})));
  loyalty::test::TenantCredentials c;
  {
    Api api(first->port());
    c = loyalty::test::seed_tenant(db, api, "crash");
    seed_catalogue(api, c, "100000.00");
  }

  // Eight POS lanes post purchases as fast as they can; every 2xx answer is remembered.
  std::mutex mu;
  std::map<std::string, json> acknowledged;  // idempotency key -> the answer's body
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> lanes;
  int port = first->port();
  for (int lane = 0; lane < 8; ++lane) {
    lanes.emplace_back([&, lane] {
      Api api(port);
      for (int n = 0; !stop; ++n) {
        std::string key = "lane" + std::to_string(lane) + "-" + std::to_string(n);
        std::string phone = "+26377" + std::to_string(2000000 + lane * 1000 + n % 50);
        ApiResponse res;
        try {
          res = post_event(api, c.tenant_id, key, purchase(phone, "55.00"), c.pos_key);
        } catch (const std::runtime_error&) {
          return;  // no answer: the daemon is gone, and this event was never acknowledged
        }
        if (res.status >= 200 && res.status < 300) {
          std::lock_guard lock(mu);
          acknowledged[key] = res.body;
        } else {
          ++failures;
        }
      }
    });
  }
  auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard lock(mu);
      if (acknowledged.size() >= 60) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  CHECK(first->stop(SIGKILL) == 128 + SIGKILL);
  stop = true;
  for (auto& t : lanes) t.join();
  first.reset();
  REQUIRE(acknowledged.size() >= 60);
  CHECK(failures == 0);

  auto second = Daemon::over(db, daemon_args({"--workers", "1", "--worker-lease", "2"}));
  Api api(second.port());
  std::string base = "/v1/tenants/" + c.tenant_id;
  std::size_t issuances = 0;
  for (const auto& [key, answer] : acknowledged) {
    // A manager reads the codes in clear (a POS key sees them masked).
    auto event =
        api.get(base + "/events/" + answer["event"]["id"].get<std::string>(), c.manager_token);
    INFO(key << ": " << event.raw);
    REQUIRE(event.status == 200);
    REQUIRE(event.body["issuances"].size() == answer["issuances"].size());
    for (std::size_t i = 0; i < answer["issuances"].size(); ++i) {
      CHECK(event.body["issuances"][i]["id"] == answer["issuances"][i]["id"]);
      CHECK(event.body["issuances"][i]["code"] == answer["issuances"][i]["code"]);
    }
    issuances += answer["issuances"].size();
  }
  // Replaying an acknowledged key after the crash gives the original answer.
  const auto& [key, answer] = *acknowledged.begin();
  int lane = std::stoi(key.substr(4, key.find('-') - 4)),
      n = std::stoi(key.substr(key.find('-') + 1));
  auto replay = post_event(
      api, c.tenant_id, key,
      purchase("+26377" + std::to_string(2000000 + lane * 1000 + n % 50), "55.00"), c.pos_key);
  CHECK(replay.status == 201);
  CHECK(replay.body == answer);

  // The restarted worker (and the killed one's expired leases) leave nothing reserved.
  CHECK(wait_for_value(db.owner(), "SELECT count(*) FROM jobs WHERE status <> 'done'", "0") == "0");
  CHECK(wait_for_value(db.owner(), "SELECT count(*) FROM issuances WHERE state = 'reserved'",
                       "0") == "0");
  CHECK(std::stoul(sql_value(
            db.owner(), "SELECT count(*) FROM issuances WHERE state = 'issued'")) >= issuances);
  require_ledger_verifies(db);
}
