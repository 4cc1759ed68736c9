// loyaltyctl expire: the cron-driven expiry run, against a real PostgreSQL.
#include "budgets/ledger_ops.hpp"
#include "db/tx.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <nlohmann/json.hpp>

#include <thread>

namespace budgets = loyalty::budgets;
using loyalty::Actor;
using loyalty::db::Tx;
using loyalty::test::loyaltyctl;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

struct Shop {
  std::string tenant;
  std::string slug;
  std::string budget;
  std::string customer;
  std::string reward;
};

Shop seed_shop(TestDatabase& db, const std::string& slug) {
  Shop s;
  s.slug = slug;
  loyalty::tenants::CreateTenantRequest req;
  req.name = slug;
  req.slug = slug;
  s.tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  s.budget = budgets::create_budget(db.app(), s.tenant, Actor::operator_cli(),
                                    {{"name", "launch"}, {"currency", "USD"}, {"total", "1000.00"}})
                 .id;
  s.customer = sql_value(db.owner(), "INSERT INTO customers (tenant_id, phone) VALUES ('" +
                                         s.tenant + "', '+263771234567') RETURNING id");
  s.reward = sql_value(db.owner(),
                       "INSERT INTO rewards (tenant_id, name, type, cost_minor, currency, "
                       "budget_id) VALUES ('" +
                           s.tenant + "', '$5 voucher', 'voucher', 500, 'USD', '" + s.budget +
                           "') RETURNING id");
  return s;
}

/// An issued $5 voucher, its budget reserved and charged the way the pipeline and the worker
/// do it, expiring at `expires_at` (SQL).
std::string issue_voucher(TestDatabase& db, const Shop& s, const std::string& expires_at) {
  return loyalty::db::with_tenant(db.app(), s.tenant, [&](Tx& tx) {
    auto id =
        tx.exec_raw(
              "INSERT INTO issuances (tenant_id, customer_id, reward_id, budget_id, "
              "cost_minor, currency, code, expires_at) VALUES ('" +
              s.tenant + "', '" + s.customer + "', '" + s.reward + "', '" + s.budget +
              "', 500, 'USD', 'V-' || gen_random_uuid(), " + expires_at + ") RETURNING id")[0][0]
            .as<std::string>();
    REQUIRE(budgets::reserve(tx, s.tenant, s.budget, 500, "USD", id).status ==
            budgets::ReserveStatus::reserved);
    tx.exec_raw("UPDATE issuances SET state = 'issued', issued_at = now() WHERE id = '" + id + "'");
    budgets::charge(tx, s.tenant, s.budget, 500, id);
    return id;
  });
}

std::string state_of(TestDatabase& db, const std::string& issuance) {
  return sql_value(db.owner(), "SELECT state FROM issuances WHERE id = '" + issuance + "'");
}

std::string budget_counters(TestDatabase& db, const Shop& s) {
  return sql_value(db.owner(),
                   "SELECT reserved_minor || '/' || utilized_minor || '/' || spent_minor FROM "
                   "budgets WHERE id = '" +
                       s.budget + "'");
}

std::string count(TestDatabase& db, const std::string& sql) { return sql_value(db.owner(), sql); }

void require_ledger_verifies(TestDatabase& db) {
  auto verify = loyaltyctl(db.owner_url(), {"ledger", "verify"});
  INFO(verify.out << verify.err);
  REQUIRE(verify.exit_code == 0);
}

}  // namespace

TEST_CASE(
    "cli: expire expires issued issuances past their expiry, releasing budget and queueing "
    "reward.expired, once",
    "[cli]") {
  TestDatabase db;
  auto shop = seed_shop(db, "shop");
  auto other = seed_shop(db, "other");
  auto due = issue_voucher(db, shop, "now() - interval '1 hour'");
  auto later = issue_voucher(db, shop, "now() + interval '1 day'");
  auto due_other = issue_voucher(db, other, "now() - interval '1 minute'");
  auto no_expiry = issue_voucher(db, shop, "NULL");
  REQUIRE(budget_counters(db, shop) == "0/1500/0");
  auto movements = count(db, "SELECT count(*) FROM ledger_movements");

  SECTION("--dry-run counts and writes nothing") {
    auto dry = loyaltyctl(db.owner_url(), {"expire", "--dry-run", "--json"});
    INFO(dry.err);
    REQUIRE(dry.exit_code == 0);
    auto out = json::parse(dry.out);
    CHECK(out["dry_run"] == true);
    CHECK(out["total"]["issuances_expired"] == 2);
    CHECK(state_of(db, due) == "issued");
    CHECK(budget_counters(db, shop) == "0/1500/0");
    CHECK(count(db, "SELECT count(*) FROM ledger_movements") == movements);
    CHECK(count(db, "SELECT count(*) FROM outbox WHERE event_type = 'reward.expired'") == "0");
  }

  SECTION("one tenant, then all, then again: each issuance expires once") {
    auto one = loyaltyctl(db.owner_url(), {"expire", "--tenant", "shop", "--json"});
    INFO(one.err);
    REQUIRE(one.exit_code == 0);
    auto out = json::parse(one.out);
    REQUIRE(out["tenants"].size() == 1);
    CHECK(out["tenants"][0]["slug"] == "shop");
    CHECK(out["tenants"][0]["issuances_expired"] == 1);
    CHECK(out["total"]["issuances_expired"] == 1);

    CHECK(state_of(db, due) == "expired");
    CHECK(count(db, "SELECT expired_at IS NOT NULL FROM issuances WHERE id = '" + due + "'") ==
          "t");
    CHECK(state_of(db, later) == "issued");
    CHECK(state_of(db, no_expiry) == "issued");
    CHECK(state_of(db, due_other) == "issued");  // another tenant: not asked for
    CHECK(budget_counters(db, shop) == "0/1000/0");
    CHECK(count(db,
                "SELECT count(*) FROM outbox WHERE event_type = 'reward.expired' AND "
                "payload::text LIKE '%" +
                    due + "%'") == "1");
    // The voucher code never leaves in a webhook payload.
    CHECK(count(db,
                "SELECT count(*) FROM outbox WHERE event_type = 'reward.expired' AND "
                "payload::text LIKE '%V-%'") == "0");
    require_ledger_verifies(db);

    auto all = loyaltyctl(db.owner_url(), {"expire"});
    INFO(all.err);
    REQUIRE(all.exit_code == 0);
    CHECK(all.out.find("other") != std::string::npos);
    CHECK(all.out.find("total") != std::string::npos);
    CHECK(state_of(db, due_other) == "expired");
    CHECK(budget_counters(db, other) == "0/0/0");

    auto again = loyaltyctl(db.owner_url(), {"expire", "--json"});
    REQUIRE(again.exit_code == 0);
    CHECK(json::parse(again.out)["total"]["issuances_expired"] == 0);
    CHECK(count(db, "SELECT count(*) FROM outbox WHERE event_type = 'reward.expired'") == "2");
    require_ledger_verifies(db);
  }

  SECTION("an unknown tenant is an error") {
    auto bad = loyaltyctl(db.owner_url(), {"expire", "--tenant", "nosuch"});
    CHECK(bad.exit_code == 3);
    CHECK(state_of(db, due) == "issued");
  }
}

TEST_CASE("cli: concurrent expire runs expire each issuance exactly once", "[cli]") {
  TestDatabase db;
  auto shop = seed_shop(db, "shop");
  for (int i = 0; i < 60; ++i) issue_voucher(db, shop, "now() - interval '1 hour'");
  REQUIRE(budget_counters(db, shop) == "0/30000/0");

  std::vector<loyalty::test::CommandResult> runs(4);
  std::vector<std::thread> threads;
  for (auto& run : runs) {
    threads.emplace_back([&db, &run] { run = loyaltyctl(db.owner_url(), {"expire", "--json"}); });
  }
  for (auto& t : threads) t.join();

  long long expired = 0;
  for (const auto& run : runs) {
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    expired += json::parse(run.out)["total"]["issuances_expired"].get<long long>();
  }
  CHECK(expired == 60);
  CHECK(count(db, "SELECT count(*) FROM issuances WHERE state = 'expired'") == "60");
  CHECK(count(db, "SELECT count(*) FROM outbox WHERE event_type = 'reward.expired'") == "60");
  CHECK(budget_counters(db, shop) == "0/0/0");
  require_ledger_verifies(db);
}
