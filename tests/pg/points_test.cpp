// Points taken back — by a cancel, a partial refund, an expiry — are taken back once: found by the
// seeded model test (tests/pg/model_test.cpp), kept here as plain cases. Then lots: every order of
// earn, spend, partial refund and expiry leaves the balance, the lots and the movements agreeing
// with a model of lots spent oldest expiry first.
#include "db/tx.hpp"
#include "points/lots.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/events/events.hpp>
#include <loyalty/issuances/issuances.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <map>

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

  /// A purchase whose points the worker has credited; returns its answer.
  nlohmann::json purchase(const std::string& key, const std::string& amount) {
    auto answer = post({{"customer", {{"phone", "0771 234 567"}}},
                        {"type", "purchase"},
                        {"data", {{"amount", amount}, {"currency", "USD"}}},
                        {"idempotency_key", key}});
    REQUIRE(loyalty::issuances::issue_event(*app, tenant_id, answer["event"]["id"]) == 1);
    return answer;
  }

  /// app_now() of every new session `days` from now; the pool starts again with new sessions.
  void clock_in_days(int days) {
    pqxx::connection admin(db.owner_url());
    pqxx::nontransaction n(admin);
    auto at = n.exec1("SELECT (now() + " + std::to_string(days) + " * interval '1 day')::text");
    n.exec("ALTER DATABASE " + db.name() + " SET app.now = " + n.quote(at[0].as<std::string>()));
    app = loyalty::db::Database::open_url(db.app_url(), 2);
  }

  std::string balance() {
    return sql_value(db.owner(),
                     "SELECT points_balance FROM customers WHERE tenant_id = '" + tenant_id + "'");
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
/// past their expiry, the one expiring first first; the expiry run empties what is past its day.
struct LotModel {
  struct Lot {
    int expires_day;
    long long remaining;
  };
  std::vector<Lot> lots;  // in creation order = lot id order

  long long live(int today) const {
    long long sum = 0;
    for (const auto& l : lots)
      if (l.expires_day > today) sum += l.remaining;
    return sum;
  }
  long long debit(long long points, bool partial, int today) {
    if (!partial && live(today) < points) return 0;
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < lots.size(); ++i)
      if (lots[i].expires_day > today && lots[i].remaining > 0) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return lots[a].expires_day < lots[b].expires_day;
    });
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
};

}  // namespace

TEST_CASE(
    "points: in every order of earn, spend, partial refund and expiry, the balance, the lots and "
    "the movements agree with lots spent oldest expiry first",
    "[pg]") {
  TestDatabase db;
  enum Op { earn, spend, refund, expire };
  std::array<Op, 4> ops = {earn, spend, refund, expire};
  int orders = 0;
  int base = 0;  // the database's clock only moves forward: each order starts later
  do {
    std::string slug = "order-" + std::to_string(orders);
    INFO(slug << ": " << ops[0] << ops[1] << ops[2] << ops[3]);
    PointsShop shop(db, slug);
    LotModel model;
    // Two lots: A expires on day 10, B on day 15 (each purchase earns 100 points for 10 days).
    shop.clock_in_days(base);
    auto a = shop.purchase(slug + "-a", "80.00");
    model.lots.push_back({base + 10, 100});
    shop.clock_in_days(base + 5);
    shop.purchase(slug + "-b", "10.00");
    model.lots.push_back({base + 15, 100});
    int today = base + 5;
    std::string customer = sql_value(
        db.owner(), "SELECT id FROM customers WHERE tenant_id = '" + shop.tenant_id + "'");
    int n = 0;
    for (Op op : ops) {
      ++n;
      switch (op) {
        case earn:  // a third lot, expiring 10 days from today
          shop.purchase(slug + "-c", "10.00");
          model.lots.push_back({today + 10, 100});
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
                (today > base + 10 ? 0 : model.debit(25, true, today)));
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
      // The balance, the sum of the movements and the sum of the lots are one number, the model's.
      auto where = " WHERE tenant_id = '" + shop.tenant_id + "'";
      CHECK(shop.balance() == std::to_string(model.balance()));
      CHECK(sql_value(db.owner(), "SELECT coalesce(sum(points), 0) FROM points_ledger" + where) ==
            std::to_string(model.balance()));
      CHECK(sql_value(db.owner(), "SELECT coalesce(sum(remaining), 0) FROM points_lots" + where) ==
            std::to_string(model.balance()));
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
    CHECK(sql_value(db.owner(), "SELECT count(*) FROM points_ledger WHERE tenant_id = '" +
                                    shop.tenant_id +
                                    "' AND (reason = '' OR actor = '' OR lot_id IS NULL)") == "0");
    CHECK(sql_value(db.owner(),
                    "SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM "
                    "points_ledger WHERE tenant_id = '" +
                        shop.tenant_id + "'") ==
          (std::find(ops.begin(), ops.end(), refund) < std::find(ops.begin(), ops.end(), expire)
               ? "earn,expire,refund,spend"
               : "earn,expire,spend"));
    auto report = loyalty::budgets::verify_ledger(db.owner(), shop.tenant_id);
    CHECK(report.ok());
    CHECK(report.points_lots == 3);
    ++orders;
    base += 30;
  } while (std::next_permutation(ops.begin(), ops.end()));
  CHECK(orders == 24);
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
