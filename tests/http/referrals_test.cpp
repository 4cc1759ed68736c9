// Referrals through the real daemon: joining with a code, the referee's first purchase
// completing the referral exactly once (also under 20 concurrent first purchases), ordinary
// rules rewarding either side (with a per-referrer cap), the refusals, the outbox row, the
// tenant's settings and the CLI's list.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <regex>
#include <thread>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using loyalty::test::wait_for_value;
using nlohmann::json;

namespace {

const std::vector<std::string> kDaemonArgs = {"--workers",       "1", "--rate-limit", "0",
                                              "--rate-limit-ip", "0"};

/// A tenant whose ordinary rules reward a completed referral: 50 points to the referrer (at
/// most `referrer_cap` times, when given), 20 to the referee.
struct ReferralShop {
  TestDatabase& db;
  Api& api;
  loyalty::test::TenantCredentials c;
  std::string base;

  ReferralShop(TestDatabase& database, Api& client, const std::string& slug, int referrer_cap = 0)
      : db(database), api(client), c(loyalty::test::seed_tenant(database, client, slug)) {
    base = "/v1/tenants/" + c.tenant_id;
    for (int points : {50, 20}) {
      auto reward = api.post(base + "/reward-catalog",
                             {{"name", std::to_string(points) + " points"},
                              {"type", "points"},
                              {"currency", "USD"},
                              {"config", {{"points", points}}}},
                             c.manager_token);
      INFO(reward.raw);
      REQUIRE(reward.status == 201);
    }
    json referrer = {{"name", "referrer bonus"},
                     {"event_type", "referral.completed"},
                     {"conditions", {{"==", {{{"var", "event.role"}}, "referrer"}}}},
                     {"reward", "50 points"}};
    if (referrer_cap > 0) {
      referrer["caps"] = {{"per_customer", {{"max", referrer_cap}, {"period", "lifetime"}}}};
    }
    auto rule = api.post(base + "/rules", referrer, c.manager_token);
    INFO(rule.raw);
    REQUIRE(rule.status == 201);
    rule = api.post(base + "/rules",
                    {{"name", "referee bonus"},
                     {"event_type", "referral.completed"},
                     {"conditions", {{"==", {{{"var", "event.role"}}, "referee"}}}},
                     {"reward", "20 points"}},
                    c.manager_token);
    INFO(rule.raw);
    REQUIRE(rule.status == 201);
  }

  ApiResponse enrol(const std::string& phone, const std::string& code = "") {
    json body = {{"phone", phone}, {"consent", true}};
    if (!code.empty()) body["referral_code"] = code;
    return api.post(base + "/customers", body, c.pos_key);
  }

  /// A new customer: {id, referral_code}.
  json customer(const std::string& phone, const std::string& code = "") {
    auto made = enrol(phone, code);
    INFO(made.raw);
    REQUIRE(made.status == 201);
    return made.body;
  }

  ApiResponse purchase(const std::string& phone, const std::string& amount, const std::string& key,
                       Api* client = nullptr) {
    return (client ? *client : api)
        .post(base + "/events",
              {{"customer", {{"phone", phone}}},
               {"type", "purchase"},
               {"data", {{"amount", amount}, {"currency", "USD"}}},
               {"idempotency_key", key}},
              c.pos_key);
  }

  ApiResponse link(const std::string& customer_id, const std::string& code) {
    return api.post(base + "/customers/" + customer_id + "/referrer", {{"referral_code", code}},
                    c.pos_key);
  }

  std::string balance(const json& customer) {
    return sql_value(db.owner(), "SELECT points_balance FROM customers WHERE id = '" +
                                     customer["id"].get<std::string>() + "'");
  }

  /// Every job the worker has been given is done.
  void wait_for_jobs() {
    CHECK(wait_for_value(db.owner(), "SELECT count(*) FROM jobs WHERE status <> 'done'", "0") ==
          "0");
  }

  std::string count(const std::string& from_where) {
    return sql_value(db.owner(), "SELECT count(*) FROM " + from_where);
  }
};

std::string problem_type(const ApiResponse& r) {
  std::string type = r.body.value("type", "");
  return type.substr(type.rfind('/') + 1);
}

}  // namespace

TEST_CASE(
    "referrals: a customer who joins with a code is linked, the first purchase completes the "
    "referral and rewards both sides once, a second purchase does not",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  ReferralShop shop(db, api, "referrals-basic");

  auto ann = shop.customer("0771 000 001");
  const std::string code = ann["referral_code"];
  CHECK(std::regex_match(code, std::regex("^[2-9A-HJ-NP-Z]{8}$")));
  // Shown with the customer, and typed by a friend in lower case with a dash.
  CHECK(api.get(shop.base + "/customers/" + ann["id"].get<std::string>(), shop.c.viewer_token)
            .body["referral_code"] == code);
  std::string typed = code.substr(0, 4) + "-" + code.substr(4);
  for (auto& ch : typed) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto bob = shop.customer("0771 000 002", typed);
  CHECK(bob["referral_code"] != code);

  auto bobs = api.get(shop.base + "/customers/" + bob["id"].get<std::string>() + "/referrals",
                      shop.c.viewer_token);
  INFO(bobs.raw);
  REQUIRE(bobs.status == 200);
  REQUIRE(bobs.body["items"].size() == 1);
  const auto referral = bobs.body["items"][0];
  CHECK(referral["referrer_id"] == ann["id"]);
  CHECK(referral["referee_id"] == bob["id"]);
  CHECK(referral["status"] == "open");
  CHECK(referral["channel"] == "api");
  CHECK(referral["completed_at"].is_null());

  // A visit is not a purchase: the referral stays open.
  auto visit = api.post(
      shop.base + "/events",
      {{"customer", {{"phone", "0771 000 002"}}}, {"type", "visit"}, {"idempotency_key", "v-1"}},
      shop.c.pos_key);
  REQUIRE(visit.status == 201);
  auto first = shop.purchase("0771 000 002", "12.00", "p-1");
  INFO(first.raw);
  REQUIRE(first.status == 201);
  CHECK(wait_for_value(db.owner(),
                       "SELECT points_balance FROM customers WHERE phone = '+263771000001'",
                       "50") == "50");
  CHECK(wait_for_value(db.owner(),
                       "SELECT points_balance FROM customers WHERE phone = '+263771000002'",
                       "20") == "20");
  auto second = shop.purchase("0771 000 002", "30.00", "p-2");
  REQUIRE(second.status == 201);
  shop.wait_for_jobs();
  CHECK(shop.balance(ann) == "50");
  CHECK(shop.balance(bob) == "20");

  // The referral, completed by the first purchase.
  auto anns = api.get(shop.base + "/customers/" + ann["id"].get<std::string>() + "/referrals",
                      shop.c.viewer_token);
  REQUIRE(anns.body["items"].size() == 1);
  CHECK(anns.body["items"][0]["id"] == referral["id"]);
  CHECK(anns.body["items"][0]["status"] == "completed");
  CHECK(anns.body["items"][0]["completing_event_id"] == first.body["event"]["id"]);
  // Two referral.completed events, one a side, under keys derived from the referral.
  const std::string id = referral["id"];
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(idempotency_key || ' ' || (data->>'role') || ' ' || "
                  "(customer_id = (data->>'other_customer_id')::uuid)::text, ',' ORDER BY "
                  "idempotency_key) FROM events WHERE type = 'referral.completed'") ==
        "referral:" + id + ":referee referee false,referral:" + id + ":referrer referrer false");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM issuances i JOIN rules r ON r.id = i.rule_id WHERE "
                  "r.name IN ('referrer bonus', 'referee bonus') AND i.state = 'issued'") == "2");
  // The outbox row for webhooks: ids only, no phone.
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM outbox WHERE event_type = 'referral.completed'") == "1");
  auto payload = json::parse(sql_value(
      db.owner(), "SELECT payload::text FROM outbox WHERE event_type = 'referral.completed'"));
  CHECK(payload == json{{"referral_id", id},
                        {"referrer_customer_id", ann["id"]},
                        {"referee_customer_id", bob["id"]},
                        {"event_id", first.body["event"]["id"]}});

  // The operator's list.
  auto listed = loyalty::test::loyaltyctl(db.owner_url(),
                                          {"referrals", "list", "--tenant", "referrals-basic"});
  INFO(listed.err);
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find(id + "  ") == 0);
  CHECK(listed.out.find("referrer " + ann["id"].get<std::string>() + "  referee " +
                        bob["id"].get<std::string>() + "  completed ") != std::string::npos);
  CHECK(listed.out.find(" by event " + first.body["event"]["id"].get<std::string>()) !=
        std::string::npos);
  auto of_bob = loyalty::test::loyaltyctl(
      db.owner_url(),
      {"referrals", "list", "--tenant", "referrals-basic", "--customer", "0771 000 002", "--json"});
  REQUIRE(of_bob.exit_code == 0);
  CHECK(json::parse(of_bob.out)["items"].size() == 1);
}

TEST_CASE(
    "referrals: 20 concurrent first purchases of one referee complete the referral once and "
    "reward each side once",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  ReferralShop shop(db, api, "referrals-race");
  auto ann = shop.customer("0771 000 011");
  auto bob = shop.customer("0771 000 012", ann["referral_code"]);

  constexpr int kPurchases = 20;
  std::vector<int> statuses(kPurchases);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < kPurchases; ++i) {
    threads.emplace_back([&, i] {
      Api client(daemon.port());
      while (!go) std::this_thread::yield();
      statuses[i] =
          shop.purchase("0771 000 012", "5.00", "race-" + std::to_string(i), &client).status;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  CHECK(std::count(statuses.begin(), statuses.end(), 201) == kPurchases);
  CHECK(wait_for_value(db.owner(), "SELECT count(*) FROM issuances WHERE state = 'issued'", "2") ==
        "2");
  shop.wait_for_jobs();
  CHECK(shop.count("referrals WHERE completed_at IS NOT NULL") == "1");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM referrals r JOIN events e ON e.id = "
                  "r.completing_event_id WHERE e.idempotency_key LIKE 'race-%'") == "1");
  CHECK(shop.count("events WHERE type = 'referral.completed'") == "2");
  CHECK(shop.count("outbox WHERE event_type = 'referral.completed'") == "1");
  CHECK(shop.count("customers WHERE referral_open") == "0");
  CHECK(shop.balance(ann) == "50");
  CHECK(shop.balance(bob) == "20");
}

TEST_CASE(
    "referrals: self-referral, a loop, a code after events, an unknown code, a second "
    "referrer and a till's own referral.completed are refused with their problem types",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  ReferralShop shop(db, api, "referrals-refused");
  auto ann = shop.customer("0771 000 021");
  auto bob = shop.customer("0771 000 022", ann["referral_code"]);
  auto cat = shop.customer("0771 000 023");
  const std::string ann_id = ann["id"], bob_id = bob["id"], cat_id = cat["id"];

  auto self = shop.link(ann_id, ann["referral_code"]);
  CHECK(self.status == 422);
  CHECK(problem_type(self) == "self-referral");
  // Ann referred Bob: Bob's code cannot make Bob Ann's referrer.
  auto loop = shop.link(ann_id, bob["referral_code"]);
  CHECK(loop.status == 422);
  CHECK(problem_type(loop) == "referral-loop");
  // Nor along a chain: Bob refers Cat, then Cat's code for Ann.
  auto cat_by_bob = shop.link(cat_id, bob["referral_code"]);
  INFO(cat_by_bob.raw);
  REQUIRE(cat_by_bob.status == 201);
  CHECK(cat_by_bob.body["referrer_id"] == bob_id);
  CHECK(cat_by_bob.body["status"] == "open");
  auto chain = shop.link(ann_id, cat["referral_code"]);
  CHECK(chain.status == 422);
  CHECK(problem_type(chain) == "referral-loop");
  // Bob has a referrer already.
  auto again = shop.link(bob_id, cat["referral_code"]);
  CHECK(again.status == 409);
  CHECK(problem_type(again) == "already-referred");
  // Dan bought before he gave a code.
  REQUIRE(shop.purchase("0771 000 024", "3.00", "dan-1").status == 201);
  auto dan = sql_value(db.owner(), "SELECT id FROM customers WHERE phone = '+263771000024'");
  auto late = shop.link(dan, ann["referral_code"]);
  CHECK(late.status == 422);
  CHECK(problem_type(late) == "referral-too-late");
  // A code no customer has: refused at enrolment, and nothing is enrolled.
  auto unknown = shop.enrol("0771 000 025", "ZZZZ2222");
  CHECK(unknown.status == 422);
  CHECK(problem_type(unknown) == "unknown-referral-code");
  CHECK(unknown.body["errors"][0]["pointer"] == "/referral_code");
  CHECK(shop.count("customers WHERE phone = '+263771000025'") == "0");
  auto junk = shop.link(dan, "not a code");
  CHECK(junk.status == 422);
  CHECK(problem_type(junk) == "unknown-referral-code");
  auto nobody = shop.link("00000000-0000-0000-0000-000000000000", ann["referral_code"]);
  CHECK(nobody.status == 404);
  // A till cannot make up a completion: the platform sends referral.completed itself.
  auto forged = api.post(shop.base + "/events",
                         {{"customer", {{"id", ann_id}}},
                          {"type", "referral.completed"},
                          {"data", {{"role", "referrer"}}},
                          {"idempotency_key", "forged-1"}},
                         shop.c.pos_key);
  CHECK(forged.status == 422);
  CHECK(forged.body["errors"][0]["pointer"] == "/type");
  CHECK(shop.count("events WHERE type = 'referral.completed'") == "0");
  // What stayed: Ann referred Bob, Bob referred Cat.
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(a.phone || '>' || b.phone, ',' ORDER BY b.phone) FROM "
                  "referrals r JOIN customers a ON a.id = r.referrer_id JOIN customers b ON "
                  "b.id = r.referee_id") ==
        "+263771000021>+263771000022,+263771000022>+263771000023");
  // The database refuses a self-referral whoever writes it.
  CHECK_THROWS(sql_value(db.owner(),
                         "INSERT INTO referrals (tenant_id, referrer_id, referee_id, channel) "
                         "SELECT tenant_id, id, id, 'api' FROM customers WHERE phone = "
                         "'+263771000024' RETURNING 1"));
}

TEST_CASE(
    "referrals: a per-referrer cap of 2 over 3 referees rewards the referrer twice and every "
    "referee",
    "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  ReferralShop shop(db, api, "referrals-cap", 2);
  auto ann = shop.customer("0771 000 031");
  std::vector<json> referees;
  for (int i = 0; i < 3; ++i) {
    std::string phone = "0771 000 03" + std::to_string(i + 2);
    referees.push_back(shop.customer(phone, ann["referral_code"]));
    REQUIRE(shop.purchase(phone, "9.00", "cap-" + std::to_string(i)).status == 201);
  }
  CHECK(wait_for_value(db.owner(), "SELECT count(*) FROM events WHERE type = 'referral.completed'",
                       "6") == "6");
  shop.wait_for_jobs();
  CHECK(shop.count("referrals WHERE completed_at IS NOT NULL") == "3");
  CHECK(shop.balance(ann) == "100");
  for (const auto& r : referees) CHECK(shop.balance(r) == "20");
  // The third completion's event for Ann says why it gave nothing.
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM events WHERE type = 'referral.completed' AND "
                  "data->>'role' = 'referrer' AND response::text LIKE '%per_customer_cap%'") ==
        "1");
}

TEST_CASE("referrals: the tenant's settings name the completing event types and a minimum amount",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, kDaemonArgs);
  Api api(daemon.port());
  ReferralShop shop(db, api, "referrals-settings");
  auto shown = loyalty::test::loyaltyctl(
      db.owner_url(), {"referrals", "settings", "--tenant", "referrals-settings"});
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out == "event types purchase, minimum amount none\n");
  auto set = loyalty::test::loyaltyctl(
      db.owner_url(), {"referrals", "settings", "--tenant", "referrals-settings", "--event-types",
                       "purchase,order", "--min-amount", "10.00"});
  INFO(set.err);
  REQUIRE(set.exit_code == 0);
  CHECK(set.out == "event types purchase,order, minimum amount 10.00\n");
  auto bad = loyalty::test::loyaltyctl(
      db.owner_url(),
      {"referrals", "settings", "--tenant", "referrals-settings", "--event-types", "Refund"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("event_types/0") != std::string::npos);

  auto ann = shop.customer("0771 000 041");
  auto bob = shop.customer("0771 000 042", ann["referral_code"]);
  // The cache takes the tenant's settings again within a second.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  REQUIRE(shop.purchase("0771 000 042", "9.99", "small").status == 201);
  shop.wait_for_jobs();
  CHECK(shop.count("referrals WHERE completed_at IS NOT NULL") == "0");
  CHECK(shop.count("customers WHERE referral_open") == "1");
  auto order = api.post(shop.base + "/events",
                        {{"customer", {{"phone", "0771 000 042"}}},
                         {"type", "order"},
                         {"data", {{"amount", "10.00"}, {"currency", "USD"}}},
                         {"idempotency_key", "order-1"}},
                        shop.c.pos_key);
  REQUIRE(order.status == 201);
  CHECK(wait_for_value(db.owner(),
                       "SELECT points_balance FROM customers WHERE phone = '+263771000041'",
                       "50") == "50");
  CHECK(sql_value(db.owner(),
                  "SELECT e.idempotency_key FROM referrals r JOIN events e ON e.id = "
                  "r.completing_event_id") == "order-1");
  CHECK(shop.balance(bob) == "20");
}
