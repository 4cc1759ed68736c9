// Points taken back — by a cancel, a partial refund, an expiry — are taken back once: found by the
// seeded model test (tests/pg/model_test.cpp), kept here as plain cases. Then lots: every order of
// earn, spend, partial refund and expiry leaves the balance, the lots and the movements agreeing
// with a model of lots spent oldest expiry first.
#include "db/tx.hpp"
#include "points/lots.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/customers/customers.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <thread>

using loyalty::test::sql_value;
using loyalty::test::TestDatabase;

namespace {

/// A tenant giving 100 points, valid 10 days, for every purchase.
struct PointsShop {
  TestDatabase& db;
  std::string tenant_id;
  std::unique_ptr<loyalty::db::Database> app;
  loyalty::events::RulesCache cache;

  explicit PointsShop(TestDatabase& database, const std::string& slug = "points") : db(database) {
    loyalty::tenants::CreateTenantRequest req;
    req.name = "Points " + slug;
    req.slug = slug;
    tenant_id = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
    auto actor = loyalty::Actor::operator_cli();
    loyalty::rewards::create_reward(db.owner(), tenant_id, actor,
                                    {{"name", "points"},
                                     {"type", "points"},
                                     {"currency", "USD"},
                                     {"validity_days", 10},
                                     {"config", {{"points", 100}}}});
    loyalty::rulesets::import_rules(db.owner(), tenant_id, actor,
                                    {{"rules",
                                      {{{"name", "points per purchase"},
                                        {"event_type", "purchase"},
                                        {"conditions", {{">", {{{"var", "event.amount"}}, 0}}}},
                                        {"reward", "points"}}}}},
                                    {});
    app = loyalty::db::Database::open_url(db.app_url(), 2);
  }

  /// Posts an event and returns its answer.
  nlohmann::json post(const nlohmann::json& event) {
    return nlohmann::json::parse(
        loyalty::events::process_event(*app, cache, tenant_id, event, "", loyalty::Actor::system())
            .body);
  }

  std::string clock;  ///< app_now() as RFC 3339 since clock_in_days, or empty: now()

  /// A purchase whose points the worker has credited, occurring at the clock; returns its answer.
  nlohmann::json purchase(const std::string& key, const std::string& amount) {
    nlohmann::json event = {{"customer", {{"phone", "0771 234 567"}}},
                            {"type", "purchase"},
                            {"data", {{"amount", amount}, {"currency", "USD"}}},
                            {"idempotency_key", key}};
    if (!clock.empty()) event["occurred_at"] = clock;
    auto answer = post(event);
    REQUIRE(loyalty::issuances::issue_event(*app, tenant_id, answer["event"]["id"]) == 1);
    return answer;
  }

  /// app_now() of every new session `days` from now; the pool starts again with new sessions.
  void clock_in_days(int days) {
    pqxx::connection admin(db.owner_url());
    pqxx::nontransaction n(admin);
    auto at = n.exec1("SELECT (now() + " + std::to_string(days) +
                      " * interval '1 day')::text, to_char((now() + " + std::to_string(days) +
                      " * interval '1 day') AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
    n.exec("ALTER DATABASE " + db.name() + " SET app.now = " + n.quote(at[0].as<std::string>()));
    clock = at[1].as<std::string>();
    app = loyalty::db::Database::open_url(db.app_url(), 2);
  }

  std::string balance() {
    return sql_value(db.owner(),
                     "SELECT points_balance FROM customers WHERE tenant_id = '" + tenant_id + "'");
  }

  /// The tenant's returns window: points earned by events are pending for `days` days.
  void pending_days(int days) {
    loyalty::tenants::update_settings(db.owner(), tenant_id, {{"points_pending_days", days}},
                                      loyalty::Actor::operator_cli());
  }

  /// A purchase by `phone` that occurred `days_ago` days ago (per the database's real clock),
  /// its points credited by the worker; returns its answer.
  nlohmann::json purchase_by(const std::string& phone, const std::string& key,
                             const std::string& amount, int days_ago = 0) {
    nlohmann::json event = {{"customer", {{"phone", phone}}},
                            {"type", "purchase"},
                            {"data", {{"amount", amount}, {"currency", "USD"}}},
                            {"idempotency_key", key}};
    if (days_ago > 0) {
      event["occurred_at"] = sql_value(
          db.owner(),
          "SELECT to_char((now() - " + std::to_string(days_ago) +
              " * interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
    }
    auto answer = post(event);
    REQUIRE(loyalty::issuances::issue_event(*app, tenant_id, answer["event"]["id"]) == 1);
    return answer;
  }

  /// "points_balance points_pending" of the customer with this id.
  std::string balances(const std::string& customer) {
    return sql_value(db.owner(),
                     "SELECT points_balance || ' ' || points_pending FROM customers "
                     "WHERE id = '" +
                         customer + "'");
  }

  nlohmann::json refund(const nlohmann::json& bought, const std::string& key,
                        const std::string& amount = "") {
    nlohmann::json data = {{"original_event_id", bought["event"]["id"]}, {"currency", "USD"}};
    if (!amount.empty()) data["amount"] = amount;
    return post({{"customer", {{"id", bought["customer"]["id"]}}},
                 {"type", "refund"},
                 {"data", data},
                 {"idempotency_key", key}});
  }
};

}  // namespace

TEST_CASE("points: a cancelled points reward is not taken back again when its expiry comes",
          "[pg]") {
  TestDatabase db;
  PointsShop shop(db);
  auto first = shop.purchase("one", "10.00");
  loyalty::issuances::cancel(*shop.app, shop.tenant_id, first["issuances"][0]["id"], "mistake",
                             loyalty::Actor::system());
  CHECK(shop.balance() == "0");
  shop.clock_in_days(5);
  shop.purchase("two", "10.00");  // expires in 15 days
  CHECK(shop.balance() == "100");

  // The first reward's expiry passes: its points were already taken back by the cancel.
  shop.clock_in_days(11);
  auto report = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, false);
  CHECK(report.points_expired == 0);
  CHECK(shop.balance() == "100");
  CHECK(sql_value(db.owner(), "SELECT sum(points) FROM points_ledger") == "100");
}

TEST_CASE(
    "points: after a partial refund, a cancel and an expiry take back only the points still "
    "held",
    "[pg]") {
  TestDatabase db;
  PointsShop shop(db);
  auto bought = shop.purchase("buy", "80.00");
  shop.purchase("other", "10.00");
  CHECK(shop.balance() == "200");
  auto refund = shop.post(
      {{"customer", {{"phone", "0771 234 567"}}},
       {"type", "refund"},
       {"data",
        {{"original_event_id", bought["event"]["id"]}, {"amount", "20.00"}, {"currency", "USD"}}},
       {"idempotency_key", "refund"}});
  CHECK(refund["refund"]["points_debited"] == 25);  // 100 × 20/80
  CHECK(shop.balance() == "175");

  // Cancelled now, the reward takes back the 75 points the refund left, not all 100.
  loyalty::issuances::cancel(*shop.app, shop.tenant_id, bought["issuances"][0]["id"], "mistake",
                             loyalty::Actor::system());
  CHECK(shop.balance() == "100");

  // A second purchase refunded in part, then expired: the expiry takes the 75 left of it.
  auto third = shop.purchase("third", "80.00");
  shop.post(
      {{"customer", {{"phone", "0771 234 567"}}},
       {"type", "refund"},
       {"data",
        {{"original_event_id", third["event"]["id"]}, {"amount", "20.00"}, {"currency", "USD"}}},
       {"idempotency_key", "refund-3"}});
  CHECK(shop.balance() == "175");
  shop.clock_in_days(11);
  auto dry = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, true);
  CHECK(dry.points_expired == 175);  // "other" (100) and what is left of "third" (75)
  auto report = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, false);
  CHECK(report.points_expired == 175);
  CHECK(shop.balance() == "0");
  CHECK(sql_value(db.owner(), "SELECT sum(points) FROM points_ledger") == "0");
}

namespace {

/// Lots as the issue describes them, independently of the SQL: debits take from the lots not
/// past their expiry and not pending, the one expiring first first (a refund from its own pending
/// lot first); the expiry run empties what is past its day.
struct LotModel {
  struct Lot {
    int expires_day;
    long long remaining;
    int spendable_day = 0;  ///< the day its returns window ends (pending before it)
  };
  std::vector<Lot> lots;  // in creation order = lot id order

  static bool pending(const Lot& l, int today) { return l.spendable_day > today; }
  long long live(int today) const {
    long long sum = 0;
    for (const auto& l : lots)
      if (l.expires_day > today && !pending(l, today)) sum += l.remaining;
    return sum;
  }
  /// `own`: the index of the lot whose issuance a refund takes back, or -1.
  long long debit(long long points, bool partial, int today, int own = -1) {
    if (!partial && live(today) < points) return 0;
    std::vector<std::size_t> order;
    const bool own_first = own >= 0 && pending(lots[own], today) && lots[own].remaining > 0;
    if (own_first) order.push_back(own);
    for (std::size_t i = 0; i < lots.size(); ++i)
      if (lots[i].expires_day > today && !pending(lots[i], today) && lots[i].remaining > 0)
        order.push_back(i);
    std::stable_sort(
        order.begin() + (own_first ? 1 : 0), order.end(),
        [&](std::size_t a, std::size_t b) { return lots[a].expires_day < lots[b].expires_day; });
    long long taken = 0;
    for (auto i : order) {
      long long t = std::min(lots[i].remaining, points - taken);
      lots[i].remaining -= t;
      taken += t;
    }
    return taken;
  }
  long long expire(int today) {
    long long sum = 0;
    for (auto& l : lots) {
      if (l.expires_day <= today) {
        sum += l.remaining;
        l.remaining = 0;
      }
    }
    return sum;
  }
  long long balance() const {
    long long sum = 0;
    for (const auto& l : lots) sum += l.remaining;
    return sum;
  }
  long long held_pending(int today) const {
    long long sum = 0;
    for (const auto& l : lots)
      if (pending(l, today)) sum += l.remaining;
    return sum;
  }
};

}  // namespace

TEST_CASE(
    "points: in every order of earn, spend, partial refund and expiry, the balance, the lots and "
    "the movements agree with lots spent oldest expiry first, without and with a returns window "
    "of pending points",
    "[pg]") {
  TestDatabase db;
  enum Op { earn, spend, refund, expire };
  int base = 0;  // the database's clock only moves forward: each order starts later
  // Without pending points, then with a 4-day returns window: A (day 0) is spendable from day 4,
  // B (day 5) and a C earned on day 5 from day 9 (pending when the steps start, released by the
  // expiry run on day 11), a C earned on day 11 from day 15.
  for (int window : {0, 4}) {
    std::array<Op, 4> ops = {earn, spend, refund, expire};
    int orders = 0;
    do {
      std::string slug = "order-" + std::to_string(window) + "-" + std::to_string(orders);
      INFO(slug << ": " << ops[0] << ops[1] << ops[2] << ops[3]);
      PointsShop shop(db, slug);
      if (window > 0) shop.pending_days(window);
      LotModel model;
      // Two lots: A expires on day 10, B on day 15 (each purchase earns 100 points for 10 days).
      shop.clock_in_days(base);
      auto a = shop.purchase(slug + "-a", "80.00");
      model.lots.push_back({base + 10, 100, window > 0 ? base + window : 0});
      shop.clock_in_days(base + 5);
      shop.purchase(slug + "-b", "10.00");
      model.lots.push_back({base + 15, 100, window > 0 ? base + 5 + window : 0});
      int today = base + 5;
      std::string customer = sql_value(
          db.owner(), "SELECT id FROM customers WHERE tenant_id = '" + shop.tenant_id + "'");
      int n = 0;
      for (Op op : ops) {
        ++n;
        switch (op) {
          case earn:  // a third lot, expiring 10 days from today
            shop.purchase(slug + "-c", "10.00");
            model.lots.push_back({today + 10, 100, window > 0 ? today + window : 0});
            break;
          case spend: {
            long long taken = loyalty::db::with_tenant(*shop.app, shop.tenant_id, [&](auto& tx) {
              loyalty::points::lock_customers(tx, shop.tenant_id, {customer});
              loyalty::points::Cause cause;
              cause.kind = "spend";
              cause.reason = "test spend";
              return loyalty::points::debit(
                  tx, shop.tenant_id, customer, 60, loyalty::points::Shortfall::refuse,
                  loyalty::points::Lots::live, cause, loyalty::Actor::operator_cli());
            });
            CHECK(taken == model.debit(60, false, today));
            break;
          }
          case refund: {  // a quarter of A's purchase: 25 of its 100 points, unless they expired
            // (the expiry run expired A's points reward too: nothing is left to take back)
            auto answer = shop.post({{"customer", {{"phone", "0771 234 567"}}},
                                     {"type", "refund"},
                                     {"data",
                                      {{"original_event_id", a["event"]["id"]},
                                       {"amount", "20.00"},
                                       {"currency", "USD"}}},
                                     {"idempotency_key", slug + "-refund"}});
            CHECK(answer["refund"]["points_debited"] ==
                  (today > base + 10 ? 0 : model.debit(25, true, today, 0)));
            break;
          }
          case expire: {  // past A's expiry, before B's
            today = base + 11;
            shop.clock_in_days(today);
            auto report = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, false, 0);
            CHECK(report.points_expired == model.expire(today));
            break;
          }
        }
        INFO("after step " << n);
        // The customer's answer (which releases what is due first): spendable and pending as
        // the model has them.
        auto h = loyalty::points::history(*shop.app, shop.tenant_id, customer, {200, ""});
        CHECK(h.spendable == model.live(today));
        CHECK(h.pending == model.held_pending(today));
        // The balance and pending, the sum of the movements and the sum of the lots are the
        // model's.
        auto where = " WHERE tenant_id = '" + shop.tenant_id + "'";
        CHECK(shop.balances(customer) ==
              std::to_string(model.balance() - model.held_pending(today)) + " " +
                  std::to_string(model.held_pending(today)));
        CHECK(sql_value(db.owner(),
                        "SELECT coalesce(sum(points), 0) || ' ' || coalesce(sum(pending), 0) "
                        "FROM points_ledger" +
                            where) ==
              std::to_string(model.balance()) + " " + std::to_string(model.held_pending(today)));
        CHECK(sql_value(db.owner(), "SELECT coalesce(sum(remaining), 0) FROM points_lots" +
                                        where) == std::to_string(model.balance()));
        // Each lot holds what the model says, and what its movements sum to.
        std::string expected;
        for (const auto& l : model.lots)
          expected += (expected.empty() ? "" : ",") + std::to_string(l.remaining);
        CHECK(sql_value(db.owner(),
                        "SELECT string_agg(remaining::text, ',' ORDER BY id) FROM "
                        "points_lots" +
                            where) == expected);
        CHECK(sql_value(db.owner(),
                        "SELECT count(*) FROM points_lots l" + where +
                            " AND remaining <> (SELECT sum(points) FROM points_ledger m WHERE "
                            "m.lot_id = l.id)") == "0");
      }
      // Every movement says why, who and which lot; a debit never outlives its lot.
      CHECK(sql_value(db.owner(),
                      "SELECT count(*) FROM points_ledger WHERE tenant_id = '" + shop.tenant_id +
                          "' AND (reason = '' OR actor = '' OR lot_id IS NULL)") == "0");
      bool refunded =
          std::find(ops.begin(), ops.end(), refund) < std::find(ops.begin(), ops.end(), expire);
      CHECK(sql_value(db.owner(),
                      "SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM "
                      "points_ledger WHERE tenant_id = '" +
                          shop.tenant_id + "'") == std::string("earn,expire") +
                                                       (refunded ? ",refund" : "") +
                                                       (window > 0 ? ",release" : "") + ",spend");
      auto report = loyalty::budgets::verify_ledger(db.owner(), shop.tenant_id);
      CHECK(report.ok());
      CHECK(report.points_lots == 3);
      ++orders;
      base += 30;
    } while (std::next_permutation(ops.begin(), ops.end()));
    CHECK(orders == 24);
  }
}

TEST_CASE("points: the database refuses a lot's remaining outside 0..amount and a balance below 0",
          "[pg]") {
  TestDatabase db;
  PointsShop shop(db);
  shop.purchase("one", "10.00");
  auto fails = [&](const std::string& sql) {
    try {
      sql_value(db.owner(), sql);
      return false;
    } catch (const std::exception&) {
      return true;
    }
  };
  CHECK(fails("UPDATE points_lots SET remaining = -1 RETURNING 1"));
  CHECK(fails("UPDATE points_lots SET remaining = amount + 1 RETURNING 1"));
  CHECK(fails("UPDATE points_lots SET expired_at = now() RETURNING 1"));  // points still in it
  CHECK(fails("UPDATE customers SET points_balance = -1 RETURNING 1"));
  CHECK(fails("UPDATE points_ledger SET points = 1 RETURNING 1"));  // append-only
  CHECK(fails("DELETE FROM points_ledger RETURNING 1"));
  CHECK(shop.balance() == "100");
}

// Pending points: the tenant's returns window (settings.points_pending_days, migration 0113).

TEST_CASE(
    "pending points: a refund inside the returns window takes back the pending points, in part "
    "and then in full, and never touches the spendable balance",
    "[pg]") {
  TestDatabase db;
  PointsShop shop(db, "pending-refund");
  shop.pending_days(14);
  auto bought = shop.purchase_by("0771 234 567", "buy", "80.00");
  std::string customer = bought["customer"]["id"];
  CHECK(shop.balances(customer) == "0 100");
  // 50 spendable points at once: an adjustment is never pending.
  loyalty::points::adjust(*shop.app, shop.tenant_id, customer, 50, "welcome",
                          loyalty::Actor::operator_cli());
  CHECK(shop.balances(customer) == "50 100");

  auto history = loyalty::points::history(*shop.app, shop.tenant_id, customer, {50, ""});
  CHECK(history.balance == 50);
  CHECK(history.spendable == 50);
  CHECK(history.pending == 100);
  REQUIRE(history.pending_lots.size() == 1);
  CHECK(history.pending_lots[0].points == 100);
  // Due 14 days (of 24 hours, in UTC) after the purchase occurred.
  CHECK(history.pending_lots[0].until ==
        sql_value(db.owner(),
                  "SELECT to_char((occurred_at + interval '336 hours') AT TIME ZONE "
                  "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM events WHERE id = '" +
                      bought["event"]["id"].get<std::string>() + "'"));
  REQUIRE(history.movements.items.size() == 2);
  CHECK(history.movements.items[1].kind == "earn");
  CHECK(history.movements.items[1].points == 100);
  CHECK(history.movements.items[1].pending == 100);
  CHECK(history.movements.items[0].kind == "adjustment");
  CHECK(history.movements.items[0].pending == 0);
  auto customer_json = loyalty::customers::to_json(
      loyalty::customers::get_customer(*shop.app, shop.tenant_id, customer));
  CHECK(customer_json["points_balance"] == 50);
  CHECK(customer_json["points_pending"] == 100);
  CHECK(customer_json["points_pending_until"] == history.pending_lots[0].until);

  // A quarter refunded: 25 of the pending 100 taken back, the 50 spendable untouched.
  auto partial = shop.refund(bought, "refund-1", "20.00");
  CHECK(partial["refund"]["points_debited"] == 25);
  CHECK(shop.balances(customer) == "50 75");
  CHECK(sql_value(db.owner(),
                  "SELECT points || ' ' || pending FROM points_ledger WHERE kind = "
                  "'refund'") == "-25 -25");

  // The rest refunded: the reward is cancelled and takes back the 75 left, all pending.
  auto full = shop.refund(bought, "refund-2");
  CHECK(full["refund"]["cancelled"].size() == 1);
  CHECK(shop.balances(customer) == "50 0");
  CHECK(sql_value(db.owner(),
                  "SELECT points || ' ' || pending FROM points_ledger WHERE kind = "
                  "'cancel'") == "-75 -75");
  CHECK(sql_value(db.owner(), "SELECT remaining FROM points_lots WHERE issuance_id IS NOT NULL") ==
        "0");

  // The webhooks say which points were pending; the spendable 50 is still all spendable.
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(event_type || ' ' || (payload->>'points') || ' ' || "
                  "coalesce(payload->>'pending', '-'), ', ' ORDER BY id) FROM outbox WHERE "
                  "event_type LIKE 'points.%'") ==
        "points.earned 100 100, points.adjusted 50 -, points.reversed -25 -25, "
        "points.reversed -75 -75");
  CHECK(loyalty::points::history(*shop.app, shop.tenant_id, customer, {50, ""}).spendable == 50);
  auto report = loyalty::budgets::verify_ledger(db.owner(), shop.tenant_id);
  for (const auto& p : report.problems) INFO(p.message);
  CHECK(report.ok());
}

TEST_CASE(
    "pending points: 50 concurrent claims by a customer with 300 spendable and 300 pending points "
    "give exactly 3 rewards, 47 insufficient-points, and leave the pending points untouched",
    "[pg]") {
  TestDatabase db;
  PointsShop shop(db, "pending-claims");
  shop.pending_days(30);
  loyalty::rewards::create_reward(db.owner(), shop.tenant_id, loyalty::Actor::operator_cli(),
                                  {{"name", "tote"},
                                   {"type", "discount"},
                                   {"cost", "1.00"},
                                   {"currency", "USD"},
                                   {"points_price", 100},
                                   {"config", {{"kind", "fixed"}, {"amount", "1.00"}}}});
  std::string customer;
  for (int i = 0; i < 3; ++i) {
    customer =
        shop.purchase_by("0771 234 567", "buy-" + std::to_string(i), "10.00")["customer"]["id"];
  }
  loyalty::points::adjust(*shop.app, shop.tenant_id, customer, 300, "welcome",
                          loyalty::Actor::operator_cli());
  CHECK(shop.balances(customer) == "300 300");

  auto pool = loyalty::db::Database::open_url(db.app_url(), 24);
  constexpr int kClaims = 50;
  std::vector<std::string> outcome(kClaims);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < kClaims; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      try {
        auto claim = loyalty::points::claim_reward(*pool, shop.tenant_id, customer, "tote",
                                                   loyalty::Actor::system());
        outcome[i] = "claimed " + std::to_string(claim.points_spent);
      } catch (const loyalty::Error& e) {
        outcome[i] = e.type();
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  CHECK(std::count(outcome.begin(), outcome.end(), "claimed 100") == 3);
  CHECK(std::count(outcome.begin(), outcome.end(), "insufficient-points") == 47);
  CHECK(shop.balances(customer) == "0 300");
  CHECK(sql_value(db.owner(),
                  "SELECT -sum(points) || ' ' || sum(pending) FROM points_ledger "
                  "WHERE kind = 'spend'") == "300 0");
  CHECK(sql_value(db.owner(),
                  "SELECT string_agg(remaining::text, ',' ORDER BY id) FROM "
                  "points_lots WHERE pending_until IS NOT NULL") == "100,100,100");

  // Nor can an adjustment take pending points: the spendable balance is 0.
  try {
    loyalty::points::adjust(*shop.app, shop.tenant_id, customer, -1, "mistake",
                            loyalty::Actor::operator_cli());
    FAIL("a debit of pending points was taken");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "insufficient-points");
  }
  CHECK(shop.balances(customer) == "0 300");
  auto report = loyalty::budgets::verify_ledger(db.owner(), shop.tenant_id);
  CHECK(report.ok());
}

TEST_CASE(
    "pending points: after the returns window the points are spendable, released under the "
    "customer's lock when they are read or by the expiry run",
    "[pg]") {
  TestDatabase db;
  PointsShop shop(db, "pending-release");
  shop.pending_days(14);
  // Occurred 20 days ago: the window is over already, the points are spendable at once.
  auto old = shop.purchase_by("0771 000 001", "old", "10.00", 20);
  std::string a = old["customer"]["id"];
  CHECK(shop.balances(a) == "100 0");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM points_lots WHERE pending_until IS NOT NULL") ==
        "0");
  // Occurred 10 days ago: pending 4 days more. The same for a second customer.
  shop.purchase_by("0771 000 001", "recent", "10.00", 10);
  std::string b = shop.purchase_by("0771 000 002", "other", "10.00", 10)["customer"]["id"];
  CHECK(shop.balances(a) == "100 100");
  CHECK(shop.balances(b) == "0 100");
  auto dry = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, true, 0);
  CHECK(dry.points_released == 0);

  shop.clock_in_days(5);  // the window is over
  // Reading the customer releases their due lot first: nobody waits for the cron run.
  auto seen = loyalty::customers::get_customer(*shop.app, shop.tenant_id, a);
  CHECK(seen.points_balance == 200);
  CHECK(seen.points_pending == 0);
  CHECK(shop.balances(a) == "200 0");
  auto history = loyalty::points::history(*shop.app, shop.tenant_id, a, {50, ""});
  CHECK(history.spendable == 200);
  CHECK(history.pending == 0);
  CHECK(history.pending_lots.empty());
  REQUIRE(history.movements.items.size() == 3);
  CHECK(history.movements.items[0].kind == "release");
  CHECK(history.movements.items[0].points == 0);
  CHECK(history.movements.items[0].pending == -100);
  CHECK(history.movements.items[0].reason == "released: the returns window is over");
  CHECK(history.movements.items[0].actor == "system");

  // The other customer's lot is released by the expiry run (no webhook event of its own).
  auto count = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, true, 0);
  CHECK(count.points_released == 100);
  auto run = loyalty::issuances::expire_due(*shop.app, shop.tenant_id, false, 0);
  CHECK(run.points_released == 100);
  CHECK(shop.balances(b) == "100 0");
  CHECK(loyalty::issuances::expire_due(*shop.app, shop.tenant_id, false, 0).points_released == 0);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM points_ledger WHERE kind = 'release'") == "2");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM outbox WHERE payload->>'kind' = 'release'") ==
        "0");

  // Spendable now: a claim-sized debit takes the released points.
  long long taken = loyalty::db::with_tenant(*shop.app, shop.tenant_id, [&](auto& tx) {
    loyalty::points::lock_customers(tx, shop.tenant_id, {b});
    loyalty::points::Cause cause;
    cause.kind = "spend";
    cause.reason = "test spend";
    return loyalty::points::debit(tx, shop.tenant_id, b, 100, loyalty::points::Shortfall::refuse,
                                  loyalty::points::Lots::live, cause,
                                  loyalty::Actor::operator_cli());
  });
  CHECK(taken == 100);
  CHECK(shop.balances(b) == "0 0");
  auto report = loyalty::budgets::verify_ledger(db.owner(), shop.tenant_id);
  CHECK(report.ok());
}

TEST_CASE(
    "pending points: the database refuses a pending balance below 0 and a movement that "
    "moves pending points other than all or none of its points",
    "[pg]") {
  TestDatabase db;
  PointsShop shop(db, "pending-checks");
  shop.pending_days(7);
  shop.purchase("one", "10.00");
  auto fails = [&](const std::string& sql) {
    try {
      sql_value(db.owner(), sql);
      return false;
    } catch (const std::exception&) {
      return true;
    }
  };
  CHECK(fails("UPDATE customers SET points_pending = -1 RETURNING 1"));
  std::string values =
      "SELECT tenant_id, customer_id, '%KIND%', %POINTS%, %PENDING%, id, 'x', "
      "'system' FROM points_lots";
  auto insert = [&](const std::string& kind, const std::string& points,
                    const std::string& pending) {
    std::string v = values;
    v.replace(v.find("%KIND%"), 6, kind);
    v.replace(v.find("%POINTS%"), 8, points);
    v.replace(v.find("%PENDING%"), 9, pending);
    return "INSERT INTO points_ledger (tenant_id, customer_id, kind, points, pending, lot_id, "
           "reason, actor) " +
           v + " RETURNING 1";
  };
  CHECK(fails(insert("refund", "-10", "-5")));  // part of a debit pending
  CHECK(fails(insert("release", "0", "10")));   // a release makes points spendable
  CHECK(fails(insert("release", "5", "-5")));   // and moves no points in or out
  CHECK(shop.balances(sql_value(db.owner(), "SELECT id FROM customers")) == "0 100");
}
