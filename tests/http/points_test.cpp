// A customer's points through the real daemon: the history with its lots and reasons.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
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

/// `send` from n threads at once, each with its own connection to the daemon: the answers, by i.
std::vector<ApiResponse> at_once(int port, int n,
                                 const std::function<ApiResponse(Api&, int)>& send) {
  std::vector<ApiResponse> answers(n);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      Api client(port);
      while (!go) std::this_thread::yield();
      answers[i] = send(client, i);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  return answers;
}

/// The problem type of an answer, or "" for none.
std::string type_of(const ApiResponse& r) {
  return r.body.is_object() && r.body.contains("type") ? r.body["type"].get<std::string>() : "";
}

/// A tenant giving 10 points, valid 90 days, for every purchase.
struct PointsTenant {
  Api& api;
  loyalty::test::TenantCredentials c;
  std::string base;

  PointsTenant(TestDatabase& db, Api& client, const std::string& slug)
      : api(client), c(loyalty::test::seed_tenant(db, client, slug)) {
    base = "/v1/tenants/" + c.tenant_id;
    auto reward = api.post(base + "/reward-catalog",
                           {{"name", "10 points"},
                            {"type", "points"},
                            {"currency", "USD"},
                            {"validity_days", 90},
                            {"config", {{"points", 10}}}},
                           c.manager_token);
    INFO(reward.raw);
    REQUIRE(reward.status == 201);
    auto rule = api.post(base + "/rules",
                         {{"name", "points per purchase"},
                          {"event_type", "purchase"},
                          {"conditions", {{">", {{{"var", "event.amount"}}, 0}}}},
                          {"reward", "10 points"}},
                         c.manager_token);
    INFO(rule.raw);
    REQUIRE(rule.status == 201);
  }

  /// A purchase; returns the event's answer.
  ApiResponse purchase(const std::string& phone, const std::string& amount,
                       const std::string& key) {
    auto answer = api.post(base + "/events",
                           {{"customer", {{"phone", phone}}},
                            {"type", "purchase"},
                            {"data", {{"amount", amount}, {"currency", "USD"}}},
                            {"idempotency_key", key}},
                           c.pos_key);
    INFO(answer.raw);
    REQUIRE(answer.status == 201);
    return answer;
  }

  ApiResponse points(const std::string& customer, const std::string& query = "",
                     const std::string& role = "viewer") {
    return api.get(base + "/customers/" + customer + "/points" + query, c.token(role));
  }

  /// A customer of three purchases, once the worker has credited their 30 points.
  std::string customer_with_30_points() {
    std::string customer;
    for (int i = 0; i < 3; ++i) {
      customer = purchase("0771 234 567", "10.00", "p-" + std::to_string(i)).body["customer"]["id"];
    }
    wait_for_balance(customer, 30);
    return customer;
  }

  /// n claims of "$1 off" for the customer at once: the answers' statuses and problem types.
  std::pair<std::vector<int>, std::vector<std::string>> claims_at_once(int port,
                                                                       const std::string& customer,
                                                                       int n) {
    std::vector<int> statuses;
    std::vector<std::string> types;
    for (const auto& a : at_once(port, n, [&](Api&client, int) {
           return client.post(base + "/customers/" + customer + "/claims", {{"reward", "$1 off"}},
                              c.pos_key);
         })) {
      statuses.push_back(a.status);
      types.push_back(type_of(a));
    }
    return {statuses, types};
  }

  /// Waits for the worker to credit what the customer's events earned.
  json wait_for_balance(const std::string& customer, long long balance) {
    json last;
    for (int i = 0; i < 200; ++i) {
      last = points(customer).body;
      if (last.value("balance", -1LL) == balance) return last;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("balance stayed " << last.dump());
    return last;
  }
};

}  // namespace

TEST_CASE(
    "points api: a customer's history lists every movement newest first with its reason, rule, "
    "event, actor and lot, in pages",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  PointsTenant shop(db, api, "points-api");
  auto first = shop.purchase("0771 234 567", "40.00", "p-1");
  std::string customer = first.body["customer"]["id"];
  shop.purchase("0771 234 567", "10.00", "p-2");
  shop.wait_for_balance(customer, 20);
  // A partial refund of the first purchase takes back a quarter of its 10 points.
  auto refund = shop.api.post(shop.base + "/events",
                              {{"customer", {{"phone", "0771 234 567"}}},
                               {"type", "refund"},
                               {"data",
                                {{"original_event_id", first.body["event"]["id"]},
                                 {"amount", "10.00"},
                                 {"currency", "USD"}}},
                               {"idempotency_key", "r-1"}},
                              shop.c.pos_key);
  REQUIRE(refund.status == 201);
  CHECK(refund.body["refund"]["points_debited"] == 2);

  auto history = shop.points(customer);
  INFO(history.raw);
  REQUIRE(history.status == 200);
  CHECK(history.body["balance"] == 18);
  CHECK(history.body["spendable"] == 18);
  CHECK(history.body["next_cursor"].is_null());
  const auto& items = history.body["items"];
  REQUIRE(items.size() == 3);
  // Newest first: the refund took its 2 points from the lot that expires first (the first
  // purchase's), then the two earnings (credited in either order when the worker issues both at
  // once), each its own lot expiring 90 days after it.
  CHECK(items[0]["kind"] == "refund");
  CHECK(items[0]["points"] == -2);
  CHECK(items[0]["reason"] == "refunded in part");
  CHECK(items[0]["event_id"] == refund.body["event"]["id"]);
  CHECK(items[0]["issuance_id"] == first.body["issuances"][0]["id"]);
  CHECK(items[0]["actor"] == "system");
  json earned_first;
  for (const auto& item : {items[1], items[2]}) {
    CHECK(item["kind"] == "earn");
    CHECK(item["points"] == 10);
    CHECK(item["reason"] == "earned: 10 points");
    CHECK(item["rule_id"].is_string());
    CHECK(item["actor"] == "system");
    CHECK(item["lot"]["expires_at"].is_string());
    if (item["event_id"] == first.body["event"]["id"]) earned_first = item;
  }
  REQUIRE(earned_first.is_object());
  CHECK(earned_first["issuance_id"] == first.body["issuances"][0]["id"]);
  CHECK(items[0]["lot"]["id"] == earned_first["lot"]["id"]);
  CHECK(items[1]["lot"]["id"] != items[2]["lot"]["id"]);
  CHECK(items[0]["id"] > items[1]["id"]);
  CHECK(items[1]["id"] > items[2]["id"]);

  // Pages of one: the same three, in the same order.
  std::vector<json> paged;
  std::string cursor;
  do {
    auto page = shop.points(customer, "?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(page.status == 200);
    REQUIRE(page.body["items"].size() == 1);
    paged.push_back(page.body["items"][0]);
    cursor = page.body["next_cursor"].is_null() ? "" : page.body["next_cursor"].get<std::string>();
  } while (!cursor.empty() && paged.size() < 5);
  CHECK(json(paged) == items);

  // A POS key reads it too; an unknown customer, a bad cursor and another tenant's customer are
  // clear problems.
  CHECK(shop.points(customer, "", "pos").status == 200);
  auto unknown = shop.points("8d5f7a38-0c4e-4f7e-9a55-2f3a0b6c1d01");
  CHECK(unknown.status == 404);
  CHECK(unknown.content_type == "application/problem+json");
  auto bad_cursor = shop.points(customer, "?cursor=nope");
  CHECK(bad_cursor.status == 422);
  CHECK(bad_cursor.body["errors"][0]["pointer"] == "/cursor");
  PointsTenant other(db, api, "points-other");
  CHECK(other.points(customer).status == 404);
}

namespace {

/// A $1 voucher that customers claim for 10 points, paid from a hard-capped $100 budget.
void voucher_for_ten_points(PointsTenant& shop) {
  auto budget = shop.api.post(shop.base + "/budgets",
                              {{"name", "Claims"}, {"currency", "USD"}, {"total", "100.00"}},
                              shop.c.admin_token);
  REQUIRE(budget.status == 201);
  auto reward = shop.api.post(shop.base + "/reward-catalog",
                              {{"name", "$1 off"},
                               {"type", "voucher"},
                               {"cost", "1.00"},
                               {"currency", "USD"},
                               {"validity_days", 30},
                               {"budget", "Claims"},
                               {"points_price", 10},
                               {"config", {{"source", "generated"}, {"prefix", "PTS-"}}}},
                              shop.c.manager_token);
  INFO(reward.raw);
  REQUIRE(reward.status == 201);
  CHECK(reward.body["points_price"] == 10);
}

}  // namespace

TEST_CASE(
    "points api: a claim spends the points price from the lots that expire first and issues the "
    "reward at once, its cost charged to the budget",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  PointsTenant shop(db, api, "points-claim");
  voucher_for_ten_points(shop);
  auto first = shop.purchase("0771 234 567", "10.00", "p-1");
  std::string customer = first.body["customer"]["id"];
  shop.purchase("0771 234 567", "10.00", "p-2");
  shop.wait_for_balance(customer, 20);

  auto claim = api.post(shop.base + "/customers/" + customer + "/claims", {{"reward", "$1 off"}},
                        shop.c.pos_key);
  INFO(claim.raw);
  REQUIRE(claim.status == 201);
  CHECK(claim.body["points_spent"] == 10);
  CHECK(claim.body["balance"] == 10);
  CHECK(claim.body["issuance"]["state"] == "issued");
  CHECK(claim.body["issuance"]["reward"]["name"] == "$1 off");
  CHECK(claim.body["issuance"]["event_id"].is_null());
  CHECK(claim.body["issuance"]["code"].get<std::string>().rfind("PTS-", 0) == 0);
  CHECK(sql_value(db.owner(), "SELECT utilized_minor FROM budgets") == "100");

  auto history = shop.points(customer);
  REQUIRE(history.status == 200);
  CHECK(history.body["balance"] == 10);
  const auto& spend = history.body["items"][0];
  CHECK(spend["kind"] == "spend");
  CHECK(spend["points"] == -10);
  CHECK(spend["reason"] == "claimed: $1 off");
  CHECK(spend["issuance_id"] == claim.body["issuance"]["id"]);
  CHECK(spend["actor"].get<std::string>().rfind("api_key:", 0) == 0);
  // The first purchase's lot expires first: the spend emptied it.
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(remaining::text, ',' ORDER BY expires_at) FROM "
                  "points_lots") == "0,10");

  // Refusals, each a problem with its type, nothing spent.
  auto problem = [&](const ApiResponse& r, int status, const std::string& type) {
    INFO(r.raw);
    CHECK(r.status == status);
    CHECK(r.content_type == "application/problem+json");
    CHECK(r.body["type"].get<std::string>().find(type) != std::string::npos);
  };
  auto claims = shop.base + "/customers/" + customer + "/claims";
  problem(api.post(claims, {{"reward", "10 points"}}, shop.c.pos_key), 422,
          "not-claimable-with-points");
  problem(api.post(claims, {{"reward", "no such reward"}}, shop.c.pos_key), 404, "not-found");
  problem(api.post(claims, json::object(), shop.c.pos_key), 422, "validation-failed");
  problem(api.post(claims, {{"reward", "$1 off"}}, shop.c.viewer_token), 403, "forbidden");
  problem(api.post(shop.base + "/customers/8d5f7a38-0c4e-4f7e-9a55-2f3a0b6c1d01/claims",
                   {{"reward", "$1 off"}}, shop.c.pos_key),
          404, "not-found");
  auto patch = api.patch(shop.base + "/reward-catalog/$1%20off", {{"points_price", 11}},
                         shop.c.manager_token);
  INFO(patch.raw);
  CHECK(patch.body["points_price"] == 11);
  auto short_of = api.post(claims, {{"reward", "$1 off"}}, shop.c.pos_key);
  problem(short_of, 422, "insufficient-points");
  CHECK(short_of.body["spendable"] == "10");
  CHECK(short_of.body["points_price"] == "11");
  // A points reward cannot have a points price.
  auto bad = api.patch(shop.base + "/reward-catalog/10%20points", {{"points_price", 5}},
                       shop.c.manager_token);
  CHECK(bad.status == 422);
  CHECK(bad.body["errors"][0]["pointer"] == "/points_price");
  CHECK(shop.points(customer).body["balance"] == 10);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances WHERE event_id IS NULL") == "1");
}

TEST_CASE(
    "points api: 50 concurrent claims by a customer whose balance affords 3 give exactly 3 "
    "issuances and 47 insufficient-points answers",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  PointsTenant shop(db, api, "points-race");
  voucher_for_ten_points(shop);
  auto customer = shop.customer_with_30_points();

  constexpr int kClaims = 50;
  auto [statuses, types] = shop.claims_at_once(daemon.port(), customer, kClaims);
  int created = 0, refused = 0;
  for (int i = 0; i < kClaims; ++i) {
    INFO(i << ": " << statuses[i] << " " << types[i]);
    if (statuses[i] == 201) {
      ++created;
    } else {
      CHECK(statuses[i] == 422);
      CHECK(types[i].find("insufficient-points") != std::string::npos);
      ++refused;
    }
  }
  CHECK(created == 3);
  CHECK(refused == 47);
  auto after = shop.points(customer);
  CHECK(after.body["balance"] == 0);
  CHECK(after.body["spendable"] == 0);
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM issuances WHERE event_id IS NULL AND state "
                  "= 'issued'") == "3");
  CHECK(sql_value(db.owner(), "SELECT -sum(points) FROM points_ledger WHERE kind = 'spend'") ==
        "30");
  CHECK(sql_value(db.owner(), "SELECT utilized_minor FROM budgets") == "300");
  CHECK(sql_value(db.owner(), "SELECT sum(remaining) FROM points_lots") == "0");
}

TEST_CASE(
    "points api: admins adjust points with a reason, and 20 concurrent debits of a balance that "
    "affords 3 never take it below zero",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  PointsTenant shop(db, api, "points-adjust");
  auto bought = shop.purchase("0771 234 567", "10.00", "p-1");
  std::string customer = bought.body["customer"]["id"];
  shop.wait_for_balance(customer, 10);
  auto adjustments = shop.base + "/customers/" + customer + "/points/adjustments";

  auto up = api.post(adjustments, {{"points", 20}, {"reason", "goodwill"}}, shop.c.admin_token);
  INFO(up.raw);
  REQUIRE(up.status == 201);
  CHECK(up.body["points"] == 20);
  CHECK(up.body["balance"] == 30);
  CHECK(up.body["lot_id"].is_number());
  CHECK(api.post(adjustments, {{"points", 5}, {"reason", "x"}}, shop.c.manager_token).status ==
        403);
  CHECK(api.post(adjustments, {{"points", 5}, {"reason", "x"}}, shop.c.pos_key).status == 403);
  auto bad = api.post(adjustments, {{"points", 0}, {"reason", ""}}, shop.c.admin_token);
  INFO(bad.raw);
  CHECK(bad.status == 422);
  CHECK(bad.body["errors"].size() == 2);
  auto history = shop.points(customer);
  CHECK(history.body["items"][0]["kind"] == "adjustment");
  CHECK(history.body["items"][0]["reason"] == "goodwill");
  CHECK(history.body["items"][0]["actor"].get<std::string>().rfind("user:", 0) == 0);

  constexpr int kDebits = 20;
  std::vector<int> statuses;
  for (const auto& a : at_once(daemon.port(), kDebits, [&](Api&client, int) {
         return client.post(adjustments, {{"points", -10}, {"reason", "correction"}},
                            shop.c.admin_token);
       })) {
    statuses.push_back(a.status);
  }
  CHECK(std::count(statuses.begin(), statuses.end(), 201) == 3);
  CHECK(std::count(statuses.begin(), statuses.end(), 422) == 17);
  CHECK(shop.points(customer).body["balance"] == 0);
  CHECK(sql_value(db.owner(), "SELECT sum(remaining) FROM points_lots") == "0");

  // Each movement went to the outbox as a webhook event, in order: the earning, the goodwill
  // credit and the three debits (one event each, however many lots it took from), all the
  // customer's.
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(event_type || ' ' || (payload->>'points') || ' ' || "
                  "(payload->>'reason'), ', ' ORDER BY id) FROM outbox "
                  "WHERE event_type LIKE 'points.%'") ==
        "points.earned 10 earned: 10 points, points.adjusted 20 goodwill, points.adjusted -10 "
        "correction, "
        "points.adjusted -10 correction, points.adjusted -10 correction");
  CHECK(sql_value(db.owner(),
                  "SELECT count(DISTINCT payload->>'customer_id') FROM outbox "
                  "WHERE event_type LIKE 'points.%' AND payload->>'customer_id' = '" +
                      customer + "'") == "1");
}

TEST_CASE(
    "points api: with a returns window, a refund inside it takes back only pending points, 50 "
    "concurrent claims spend only the spendable ones, and past the window they are spendable",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  PointsTenant shop(db, api, "points-pending");
  voucher_for_ten_points(shop);

  // The window is the admins' to set, 0 to 365 days.
  auto settings = shop.base + "/settings";
  CHECK(api.patch(settings, {{"points_pending_days", 14}}, shop.c.manager_token).status == 403);
  auto bad = api.patch(settings, {{"points_pending_days", 366}}, shop.c.admin_token);
  INFO(bad.raw);
  CHECK(bad.status == 422);
  CHECK(bad.body["errors"][0]["pointer"] == "/points_pending_days");
  auto set = api.patch(settings, {{"points_pending_days", 14}}, shop.c.admin_token);
  INFO(set.raw);
  REQUIRE(set.status == 200);
  CHECK(set.body["settings"]["points_pending_days"] == 14);

  // A purchase 20 days ago is past its window: spendable at once. Today's is pending.
  auto old = api.post(shop.base + "/events",
                      {{"customer", {{"phone", "0771 234 567"}}},
                       {"type", "purchase"},
                       {"occurred_at", sql_value(db.owner(),
                                                 "SELECT to_char((now() - interval "
                                                 "'20 days') AT TIME ZONE 'UTC', "
                                                 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")},
                       {"data", {{"amount", "10.00"}, {"currency", "USD"}}},
                       {"idempotency_key", "old"}},
                      shop.c.pos_key);
  REQUIRE(old.status == 201);
  std::string customer = old.body["customer"]["id"];
  auto today = shop.purchase("0771 234 567", "40.00", "today");
  json history;
  for (int i = 0; i < 200; ++i) {
    history = shop.points(customer).body;
    if (history.value("pending", -1LL) == 10 && history.value("balance", -1LL) == 10) break;
    std::this_thread::sleep_for(50ms);
  }
  INFO(history.dump());
  REQUIRE(history["balance"] == 10);
  CHECK(history["spendable"] == 10);
  CHECK(history["pending"] == 10);
  REQUIRE(history["pending_lots"].size() == 1);
  CHECK(history["pending_lots"][0]["points"] == 10);
  std::string until =
      sql_value(db.owner(),
                "SELECT to_char((occurred_at + interval '14 days') AT TIME ZONE "
                "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM events WHERE id = '" +
                    today.body["event"]["id"].get<std::string>() + "'");
  CHECK(history["pending_lots"][0]["until"] == until);
  // The worker may credit both purchases at once: each earn says whether it was pending.
  for (const auto& item : history["items"]) {
    CHECK(item["kind"] == "earn");
    CHECK(item["pending"] == (item["event_id"] == today.body["event"]["id"] ? 10 : 0));
  }
  auto seen = api.get(shop.base + "/customers/" + customer, shop.c.token("viewer"));
  CHECK(seen.body["points_balance"] == 10);
  CHECK(seen.body["points_pending"] == 10);
  CHECK(seen.body["points_pending_until"] == until);

  // A quarter of today's purchase refunded inside the window: 2 of its pending 10 points back,
  // the spendable 10 untouched.
  auto refund = api.post(shop.base + "/events",
                         {{"customer", {{"phone", "0771 234 567"}}},
                          {"type", "refund"},
                          {"data",
                           {{"original_event_id", today.body["event"]["id"]},
                            {"amount", "10.00"},
                            {"currency", "USD"}}},
                          {"idempotency_key", "refund"}},
                         shop.c.pos_key);
  INFO(refund.raw);
  REQUIRE(refund.status == 201);
  CHECK(refund.body["refund"]["points_debited"] == 2);
  auto after_refund = shop.points(customer).body;
  CHECK(after_refund["balance"] == 10);
  CHECK(after_refund["pending"] == 8);
  CHECK(after_refund["items"][0]["kind"] == "refund");
  CHECK(after_refund["items"][0]["points"] == -2);
  CHECK(after_refund["items"][0]["pending"] == -2);

  // 50 concurrent claims of a 10-point reward: the 10 spendable points pay for one, the pending
  // 8 for none.
  constexpr int kClaims = 50;
  auto [statuses, types] = shop.claims_at_once(daemon.port(), customer, kClaims);
  int refused = 0;
  for (int i = 0; i < kClaims; ++i) {
    if (statuses[i] != 201 && statuses[i] == 422 &&
        types[i].find("insufficient-points") != std::string::npos)
      ++refused;
  }
  CHECK(std::count(statuses.begin(), statuses.end(), 201) == 1);
  CHECK(refused == 49);
  auto after_claims = shop.points(customer).body;
  CHECK(after_claims["balance"] == 0);
  CHECK(after_claims["pending"] == 8);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances WHERE event_id IS NULL") == "1");

  // The window passes (the lot's due time moved into the past, as time would): the next answer
  // releases the 8 points, spendable now, and the ledger agrees.
  sql_value(db.owner(),
            "UPDATE points_lots SET pending_until = now() - interval '1 second' "
            "WHERE pending_until IS NOT NULL RETURNING 1");
  auto released = shop.points(customer).body;
  INFO(released.dump());
  CHECK(released["balance"] == 8);
  CHECK(released["spendable"] == 8);
  CHECK(released["pending"] == 0);
  CHECK(released["pending_lots"].empty());
  CHECK(released["items"][0]["kind"] == "release");
  CHECK(released["items"][0]["points"] == 0);
  CHECK(released["items"][0]["pending"] == -8);
  auto short_of = api.post(shop.base + "/customers/" + customer + "/claims", {{"reward", "$1 off"}},
                           shop.c.pos_key);
  CHECK(short_of.status == 422);
  CHECK(short_of.body["spendable"] == "8");
  auto verify = loyalty::budgets::verify_ledger(db.owner(), shop.c.tenant_id);
  CHECK(verify.ok());
}

TEST_CASE(
    "points api: 10 concurrent retries of a claim under one idempotency key spend the points once "
    "and answer the same issuance, and the key for another reward is refused",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  PointsTenant shop(db, api, "claim-retry");
  voucher_for_ten_points(shop);
  auto customer = shop.customer_with_30_points();
  const std::string claims = shop.base + "/customers/" + customer + "/claims";

  constexpr int kRetries = 10;
  auto answers = at_once(daemon.port(), kRetries, [&](Api& client, int) {
    return client.post_raw(claims, json{{"reward", "$1 off"}}.dump(), "application/json",
                           shop.c.pos_key, {{"Idempotency-Key", "till-3-claim-0042"}});
  });
  int replayed = 0;
  for (const auto& a : answers) {
    INFO(a.raw);
    REQUIRE(a.status == 201);
    CHECK(a.body["issuance"]["id"] == answers[0].body["issuance"]["id"]);
    CHECK(a.body["issuance"]["code"] == answers[0].body["issuance"]["code"]);
    CHECK(a.body["points_spent"] == 10);
    CHECK(a.body["balance"] == 20);
    if (a.headers.count("Idempotent-Replayed")) ++replayed;
  }
  CHECK(replayed == kRetries - 1);
  CHECK(shop.points(customer).body["balance"] == 20);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM issuances WHERE event_id IS NULL") == "1");
  CHECK(sql_value(db.owner(), "SELECT -sum(points) FROM points_ledger WHERE kind = 'spend'") ==
        "10");
  CHECK(sql_value(db.owner(), "SELECT utilized_minor FROM budgets") == "100");

  // The key in the body works the same; a retry after the voucher was redeemed still answers
  // the claim, its issuance as it is now.
  auto redeemed = api.post(shop.base + "/redemptions",
                           {{"code", answers[0].body["issuance"]["code"]}}, shop.c.pos_key);
  INFO(redeemed.raw);
  REQUIRE(redeemed.status == 200);
  auto later = api.post(claims, {{"reward", "$1 off"}, {"idempotency_key", "till-3-claim-0042"}},
                        shop.c.pos_key);
  CHECK(later.status == 201);
  CHECK(later.headers.count("Idempotent-Replayed") == 1);
  CHECK(later.body["issuance"]["state"] == "redeemed");
  CHECK(later.body["balance"] == 20);

  // Another key claims again; the first key for another reward, or a header and a body that
  // disagree, are refused and write nothing.
  auto keyed = [&](const json& body, const std::string& key) {
    return api.post_raw(claims, body.dump(), "application/json", shop.c.pos_key,
                        {{"Idempotency-Key", key}});
  };
  auto second = keyed({{"reward", "$1 off"}}, "till-3-claim-0043");
  CHECK(second.status == 201);
  CHECK(second.headers.count("Idempotent-Replayed") == 0);
  CHECK(second.body["balance"] == 10);
  auto other = api.post(shop.base + "/reward-catalog",
                        {{"name", "$2 off"},
                         {"type", "voucher"},
                         {"cost", "2.00"},
                         {"currency", "USD"},
                         {"budget", "Claims"},
                         {"points_price", 10},
                         {"config", {{"source", "generated"}, {"prefix", "TWO-"}}}},
                        shop.c.manager_token);
  REQUIRE(other.status == 201);
  auto reused = keyed({{"reward", "$2 off"}}, "till-3-claim-0042");
  INFO(reused.raw);
  CHECK(reused.status == 422);
  CHECK(reused.body["type"] == "https://loyalty.example/problems/idempotency-key-reused");
  CHECK(reused.body["errors"][0]["pointer"] == "/idempotency_key");
  auto mismatch = keyed({{"reward", "$1 off"}, {"idempotency_key", "a"}}, "b");
  CHECK(mismatch.status == 422);
  CHECK(mismatch.body["errors"][0]["pointer"] == "/idempotency_key");
  CHECK(shop.points(customer).body["balance"] == 10);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM claim_keys") == "2");
}
