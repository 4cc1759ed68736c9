// Budgets and the ledger against a real PostgreSQL, through the library as the daemon's role.
#include "budgets/ledger_ops.hpp"
#include "db/tx.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

namespace budgets = loyalty::budgets;
using loyalty::Actor;
using loyalty::db::Tx;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using nlohmann::json;

namespace {

std::string make_tenant(TestDatabase& db, const std::string& slug,
                        const std::string& tz = "Africa/Harare") {
  loyalty::tenants::CreateTenantRequest req;
  req.name = slug;
  req.slug = slug;
  req.timezone = tz;
  return loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
}

budgets::Reservation reserve_at(loyalty::db::Database& db, const std::string& tenant,
                                const std::string& budget, loyalty::MinorUnits amount,
                                const std::string& clock = "") {
  return loyalty::db::with_tenant(db, tenant, [&](Tx& tx) {
    if (!clock.empty()) budgets::set_clock(tx, clock);
    return budgets::reserve(tx, tenant, budget, amount, "USD", "");
  });
}

void require_verified(TestDatabase& db, const std::string& tenant) {
  auto report = budgets::verify_ledger(db.owner(), tenant);
  for (const auto& p : report.problems) INFO(p.budget_name << ": " << p.message);
  REQUIRE(report.ok());
}

std::string count_of(TestDatabase& db, const std::string& sql) {
  return sql_value(db.owner(), sql);
}

}  // namespace

TEST_CASE("budgets: a hard cap is never exceeded under 200 concurrent reservations", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "cap-tenant");
  auto budget =
      budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                             {{"name", "launch"}, {"currency", "USD"}, {"total", "50.00"}});
  REQUIRE(budget.hard_cap);

  // Each thread its own connection from a pool sized for real parallelism.
  auto pool = loyalty::db::Database::open_url(db.app_url(), 20, std::chrono::seconds(60));
  std::atomic<int> reserved{0}, exhausted{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&] {
      try {
        auto r = reserve_at(*pool, tenant, budget.id, 100);
        (r.status == budgets::ReserveStatus::reserved ? reserved : exhausted)++;
      } catch (const std::exception&) {
        failed++;
      }
    });
  }
  for (auto& t : threads) t.join();

  CHECK(failed == 0);
  CHECK(reserved == 50);
  CHECK(exhausted == 150);
  auto after = budgets::get_budget(db.app(), tenant, "launch");
  CHECK(after.reserved == 5000);
  CHECK(after.available() == 0);
  CHECK(count_of(db, "SELECT count(*) FROM ledger_movements WHERE kind = 'reserve'") == "50");
  require_verified(db, tenant);
}

TEST_CASE("budgets: 50 concurrent top-ups with one reference make one movement", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "topup-tenant");
  budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                         {{"name", "main"}, {"currency", "USD"}});
  auto pool = loyalty::db::Database::open_url(db.app_url(), 20, std::chrono::seconds(60));
  std::mutex mutex;
  std::set<std::int64_t> movement_ids;
  std::atomic<int> replayed{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      try {
        auto r = budgets::topup_budget(*pool, tenant, Actor::operator_cli(), "main", "25.00",
                                       "INV-2025-001");
        if (r.replayed) replayed++;
        std::lock_guard lock(mutex);
        movement_ids.insert(r.movement_id);
      } catch (const std::exception&) {
        failed++;
      }
    });
  }
  for (auto& t : threads) t.join();

  CHECK(failed == 0);
  CHECK(replayed == 49);
  CHECK(movement_ids.size() == 1);
  CHECK(count_of(db, "SELECT count(*) FROM ledger_movements WHERE kind = 'topup'") == "1");
  CHECK(budgets::get_budget(db.app(), tenant, "main").total == 2500);
  require_verified(db, tenant);
}

TEST_CASE("budgets: a top-up reference reused with another amount is a conflict", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "conflict-tenant");
  budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                         {{"name", "main"}, {"currency", "USD"}});
  auto first =
      budgets::topup_budget(db.app(), tenant, Actor::operator_cli(), "main", "10.00", "R1");
  CHECK_FALSE(first.replayed);
  auto again = budgets::topup_budget(db.app(), tenant, Actor::operator_cli(), "main", "10", "R1");
  CHECK(again.replayed);
  CHECK(again.movement_id == first.movement_id);
  CHECK(again.budget.total == 1000);
  try {
    budgets::topup_budget(db.app(), tenant, Actor::operator_cli(), "main", "11.00", "R1");
    FAIL("expected a conflict");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::conflict);
    CHECK(e.type() == "topup-reference-conflict");
    CHECK(std::string(e.what()).find("10.00") != std::string::npos);
  }
  CHECK(budgets::get_budget(db.app(), tenant, "main").total == 1000);
  // Only the applied top-up is audited.
  CHECK(count_of(db, "SELECT count(*) FROM audit_log WHERE action = 'budget.topup'") == "1");
  require_verified(db, tenant);
}

TEST_CASE("budgets: a monthly budget starts fresh at midnight on the tenant's calendar", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "harare", "Africa/Harare");  // UTC+2, no DST
  auto budget = budgets::create_budget(
      db.app(), tenant, Actor::operator_cli(),
      {{"name", "monthly"}, {"currency", "USD"}, {"total", "100.00"}, {"period", "monthly"}});

  // 15 January, noon in Harare: the January period began at local midnight, 22:00 UTC.
  auto r1 = reserve_at(db.app(), tenant, budget.id, 3000, "2099-01-15T10:00:00Z");
  REQUIRE(r1.status == budgets::ReserveStatus::reserved);
  CHECK(r1.period_start == "2098-12-31T22:00:00Z");
  loyalty::db::with_tenant(db.app(), tenant, [&](Tx& tx) {
    budgets::set_clock(tx, "2099-01-20T10:00:00Z");
    budgets::charge(tx, tenant, budget.id, 1000, "");
  });
  // 23:59:59 on 31 January in Harare is still January.
  auto r2 = reserve_at(db.app(), tenant, budget.id, 2000, "2099-01-31T21:59:59Z");
  CHECK(r2.period_start == "2098-12-31T22:00:00Z");
  auto january = budgets::get_budget(db.app(), tenant, "monthly");
  CHECK(january.reserved == 4000);
  CHECK(january.utilized == 1000);

  // Midnight on 1 February in Harare: a new period with fresh counters.
  auto r3 = reserve_at(db.app(), tenant, budget.id, 500, "2099-01-31T22:00:00Z");
  REQUIRE(r3.status == budgets::ReserveStatus::reserved);
  CHECK(r3.period_start == "2099-01-31T22:00:00Z");
  auto february = budgets::get_budget(db.app(), tenant, "monthly");
  CHECK(february.reserved == 500);
  CHECK(february.utilized == 0);
  CHECK(february.spent == 0);
  CHECK(february.total == 10000);
  CHECK(february.available() == 9500);
  CHECK(february.period_start == "2099-01-31T22:00:00Z");

  // The rollover is in the ledger: January's usage closed, the allowance renewed.
  CHECK(count_of(db,
                 "SELECT string_agg(debit_account || '>' || credit_account || ':' || amount_minor, "
                 "',' ORDER BY id) FROM ledger_movements WHERE kind = 'rollover'") ==
        "reserved>closed:4000,utilized>closed:1000,funding>available:5000");
  require_verified(db, tenant);
}

TEST_CASE("budgets: a weekly budget rolls over on Monday in the tenant's time zone", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "kolkata", "Asia/Kolkata");  // UTC+5:30
  auto budget = budgets::create_budget(
      db.app(), tenant, Actor::operator_cli(),
      {{"name", "weekly"}, {"currency", "USD"}, {"total", "10.00"}, {"period", "weekly"}});
  // Sunday 2099-01-04 23:59 in Kolkata is 18:29 UTC; Monday 00:00 there is 18:30 UTC.
  auto sunday = reserve_at(db.app(), tenant, budget.id, 1000, "2099-01-04T18:29:00Z");
  CHECK(sunday.status == budgets::ReserveStatus::reserved);
  CHECK(sunday.period_start == "2098-12-28T18:30:00Z");
  auto still_sunday = reserve_at(db.app(), tenant, budget.id, 1, "2099-01-04T18:29:59Z");
  CHECK(still_sunday.status == budgets::ReserveStatus::exhausted);
  auto monday = reserve_at(db.app(), tenant, budget.id, 1000, "2099-01-04T18:30:00Z");
  CHECK(monday.status == budgets::ReserveStatus::reserved);
  CHECK(monday.period_start == "2099-01-04T18:30:00Z");
  require_verified(db, tenant);
}

TEST_CASE("budgets: crossing the soft-cap threshold queues one budget.threshold per period",
          "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "soft-cap");
  auto budget = budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                                       {{"name", "daily"},
                                        {"currency", "USD"},
                                        {"total", "100.00"},
                                        {"period", "daily"},
                                        {"soft_cap_threshold", 0.8}});
  CHECK(budget.soft_cap_threshold == "0.8");
  auto day1 = "2099-03-10T08:00:00Z";
  CHECK_FALSE(reserve_at(db.app(), tenant, budget.id, 5000, day1).threshold_queued);
  CHECK(reserve_at(db.app(), tenant, budget.id, 3000, day1).threshold_queued);  // 80%
  CHECK_FALSE(reserve_at(db.app(), tenant, budget.id, 1000, day1).threshold_queued);
  CHECK_FALSE(reserve_at(db.app(), tenant, budget.id, 1000, day1).threshold_queued);
  CHECK(count_of(db, "SELECT count(*) FROM outbox WHERE event_type = 'budget.threshold'") == "1");

  // The next local day is a new period: one more notification when it crosses again.
  auto day2 = "2099-03-11T08:00:00Z";
  CHECK_FALSE(reserve_at(db.app(), tenant, budget.id, 7900, day2).threshold_queued);
  CHECK(reserve_at(db.app(), tenant, budget.id, 100, day2).threshold_queued);
  CHECK(count_of(db, "SELECT count(*) FROM outbox WHERE event_type = 'budget.threshold'") == "2");
  auto payload = json::parse(
      count_of(db,
               "SELECT payload::text FROM outbox WHERE event_type = 'budget.threshold' ORDER BY id "
               "DESC LIMIT 1"));
  CHECK(payload["budget_id"] == budget.id);
  CHECK(payload["used"] == "80.00");
  CHECK(payload["total"] == "100.00");
  CHECK(payload["period_start"] == "2099-03-10T22:00:00Z");
  require_verified(db, tenant);
}

TEST_CASE("budgets: charge, spend and release move money between accounts and balance", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "flows");
  auto budget =
      budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                             {{"name", "flows"}, {"currency", "USD"}, {"total", "20.00"}});
  loyalty::db::with_tenant(db.app(), tenant, [&](Tx& tx) {
    REQUIRE(budgets::reserve(tx, tenant, budget.id, 500, "USD", "").status ==
            budgets::ReserveStatus::reserved);
    REQUIRE(budgets::reserve(tx, tenant, budget.id, 700, "USD", "").status ==
            budgets::ReserveStatus::reserved);
    budgets::charge(tx, tenant, budget.id, 500, "");
    budgets::spend(tx, tenant, budget.id, 300, "");
    budgets::release(tx, tenant, budget.id, 200, "", budgets::ReleaseFrom::utilized);
    budgets::release(tx, tenant, budget.id, 700, "", budgets::ReleaseFrom::reserved);
  });
  auto b = budgets::get_budget(db.app(), tenant, budget.id);
  CHECK(b.reserved == 0);
  CHECK(b.utilized == 0);
  CHECK(b.spent == 300);
  CHECK(b.available() == 1700);
  require_verified(db, tenant);

  // Charging more than is reserved is refused and changes nothing.
  CHECK_THROWS_MATCHES(
      loyalty::db::with_tenant(db.app(), tenant,
                               [&](Tx& tx) { budgets::charge(tx, tenant, budget.id, 1, ""); }),
      loyalty::Error, Catch::Predicate<loyalty::Error>([](const loyalty::Error& e) {
        return e.type() == "budget-counter-underflow";
      }));
  // A budget in another currency refuses the reservation.
  CHECK_THROWS_AS(
      loyalty::db::with_tenant(
          db.app(), tenant, [&](Tx& tx) { budgets::reserve(tx, tenant, budget.id, 1, "ZWG", ""); }),
      loyalty::Error);
  require_verified(db, tenant);
}

TEST_CASE("budgets: charge_all charges each budget once and skips a period that has closed",
          "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "batch", "Africa/Harare");
  auto actor = Actor::operator_cli();
  auto monthly = budgets::create_budget(
      db.app(), tenant, actor,
      {{"name", "monthly"}, {"currency", "USD"}, {"total", "100.00"}, {"period", "monthly"}});
  auto flat = budgets::create_budget(db.app(), tenant, actor,
                                     {{"name", "flat"}, {"currency", "USD"}, {"total", "50.00"}});
  auto reward =
      loyalty::rewards::create_reward(db.owner(), tenant, actor,
                                      {{"name", "dollar-off"},
                                       {"type", "discount"},
                                       {"cost", "1.00"},
                                       {"currency", "USD"},
                                       {"config", {{"kind", "fixed"}, {"amount", "1.00"}}}});
  auto customer = sql_value(db.owner(), "INSERT INTO customers (tenant_id, phone) VALUES ('" +
                                            tenant + "', '+263771000001') RETURNING id");
  auto issuance = [&](const std::string& budget) {
    return sql_value(db.owner(),
                     "INSERT INTO issuances (tenant_id, customer_id, reward_id, budget_id, "
                     "cost_minor, currency) VALUES ('" +
                         tenant + "', '" + customer + "', '" + reward.id + "', '" + budget +
                         "', 100, 'USD') RETURNING id");
  };
  // January: one reservation on the monthly budget; February: another, and two on the flat one.
  auto january = issuance(monthly.id);
  auto february = issuance(monthly.id);
  auto flat1 = issuance(flat.id);
  auto flat2 = issuance(flat.id);
  loyalty::db::with_tenant(db.app(), tenant, [&](Tx& tx) {
    budgets::set_clock(tx, "2099-01-15T10:00:00Z");
    budgets::reserve(tx, tenant, monthly.id, 300, "USD", january);
  });
  loyalty::db::with_tenant(db.app(), tenant, [&](Tx& tx) {
    budgets::set_clock(tx, "2099-02-15T10:00:00Z");
    budgets::reserve(tx, tenant, monthly.id, 200, "USD", february);
    budgets::reserve(tx, tenant, flat.id, 150, "USD", flat1);
    budgets::reserve(tx, tenant, flat.id, 250, "USD", flat2);
  });

  // In February, January's reservation was closed by the rollover: its charge moves nothing.
  loyalty::db::with_tenant(db.app(), tenant, [&](Tx& tx) {
    budgets::set_clock(tx, "2099-02-16T10:00:00Z");
    budgets::charge_all(tx, tenant,
                        {{flat.id, 250, flat2},
                         {monthly.id, 300, january},
                         {flat.id, 150, flat1},
                         {monthly.id, 200, february}});
  });
  auto m = budgets::get_budget(db.app(), tenant, monthly.id);
  CHECK(m.reserved == 0);
  CHECK(m.utilized == 200);
  auto f = budgets::get_budget(db.app(), tenant, flat.id);
  CHECK(f.reserved == 0);
  CHECK(f.utilized == 400);
  // One movement per issuance charged, in the order given within each budget.
  CHECK(count_of(db,
                 "SELECT string_agg(amount_minor::text, ',' ORDER BY id) FROM "
                 "ledger_movements WHERE kind = 'charge' AND budget_id = '" +
                     flat.id + "'") == "250,150");
  CHECK(count_of(db,
                 "SELECT string_agg(issuance_id::text, ',') FROM ledger_movements WHERE "
                 "kind = 'charge' AND budget_id = '" +
                     monthly.id + "'") == february);
  require_verified(db, tenant);

  // Charging more than a budget holds reserved writes nothing, for any of the budgets.
  auto more = issuance(flat.id);
  auto march = issuance(monthly.id);
  loyalty::db::with_tenant(db.app(), tenant, [&](Tx& tx) {
    budgets::set_clock(tx, "2099-02-17T10:00:00Z");
    budgets::reserve(tx, tenant, flat.id, 100, "USD", more);
    budgets::reserve(tx, tenant, monthly.id, 100, "USD", march);
  });
  auto movements = count_of(db, "SELECT count(*) FROM ledger_movements");
  CHECK_THROWS_MATCHES(
      loyalty::db::with_tenant(
          db.app(), tenant,
          [&](Tx& tx) {
            budgets::set_clock(tx, "2099-02-18T10:00:00Z");
            budgets::charge_all(
                tx, tenant, {{monthly.id, 100, march}, {flat.id, 100, more}, {flat.id, 1, more}});
          }),
      loyalty::Error, Catch::Predicate<loyalty::Error>([](const loyalty::Error& e) {
        return e.type() == "budget-counter-underflow";
      }));
  CHECK(count_of(db, "SELECT count(*) FROM ledger_movements") == movements);
  CHECK(budgets::get_budget(db.app(), tenant, monthly.id).reserved == 100);
  CHECK(budgets::get_budget(db.app(), tenant, flat.id).reserved == 100);
  require_verified(db, tenant);
}

TEST_CASE("budgets: the database refuses any write that breaks the hard cap", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "check-cap");
  auto budget =
      budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                             {{"name", "capped"}, {"currency", "USD"}, {"total", "1.00"}});
  // Even a direct UPDATE that skips the library's conditional update hits the CHECK constraint.
  CHECK_THROWS_AS(loyalty::db::with_tenant(db.app(), tenant,
                                           [&](Tx& tx) {
                                             tx.exec_raw(
                                                 "UPDATE budgets SET reserved_minor = 101 "
                                                 "WHERE id = '" +
                                                 budget.id + "'");
                                           }),
                  loyalty::Error);
  CHECK(budgets::get_budget(db.app(), tenant, budget.id).reserved == 0);
}

TEST_CASE("budgets: create reports every invalid field with its pointer", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "invalid");
  try {
    budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                           {{"currency", "EUR"},
                            {"total", "-1"},
                            {"period", "yearly"},
                            {"soft_cap_threshold", 1.5},
                            {"colour", "red"}});
    FAIL("expected invalid");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    std::set<std::string> pointers;
    for (const auto& f : e.fields()) pointers.insert(f.pointer);
    CHECK(pointers == std::set<std::string>{"/name", "/currency", "/total", "/period",
                                            "/soft_cap_threshold", "/colour"});
  }
  budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                         {{"name", "one"}, {"currency", "USD"}});
  CHECK_THROWS_MATCHES(budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                                              {{"name", "one"}, {"currency", "USD"}}),
                       loyalty::Error,
                       Catch::Predicate<loyalty::Error>([](const loyalty::Error& e) {
                         return e.code() == loyalty::ErrorCode::conflict;
                       }));
}

TEST_CASE("ledger: verify names the budget whose counters disagree with its ledger", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "tampered");
  auto ok = budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                                   {{"name", "fine"}, {"currency", "USD"}, {"total", "5.00"}});
  auto bad = budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                                    {{"name", "tampered"}, {"currency", "USD"}, {"total", "5.00"}});
  require_verified(db, tenant);
  // Someone edits a counter behind the ledger's back.
  sql_value(db.owner(), "UPDATE budgets SET reserved_minor = 100 WHERE id = '" + bad.id + "'");
  auto report = budgets::verify_ledger(db.owner(), "");
  REQUIRE(report.problems.size() == 2);  // reserved, and so available
  for (const auto& p : report.problems) {
    CHECK(p.budget_name == "tampered");
    CHECK(p.tenant_slug == "tampered");
  }
  CHECK(report.problems[0].message == "reserved is 1.00 but its ledger sums to 0.00");
  // Put it back: the harness verifies the ledger at the end of every test.
  sql_value(db.owner(), "UPDATE budgets SET reserved_minor = 0 WHERE id = '" + bad.id + "'");
}

TEST_CASE("ledger: list filters by budget, type and dates, newest first, in pages", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "listing");
  auto a = budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                                  {{"name", "a"}, {"currency", "USD"}, {"total", "5.00"}});
  budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                         {{"name", "b"}, {"currency", "USD"}, {"total", "5.00"}});
  for (int i = 0; i < 3; ++i) reserve_at(db.app(), tenant, a.id, 100);

  auto all = budgets::list_ledger(db.app(), tenant, {}, {50, ""});
  CHECK(all.items.size() == 5);
  CHECK(all.items.front().id > all.items.back().id);

  budgets::LedgerFilter filter;
  filter.budget = "a";
  filter.kind = "reserve";
  auto page1 = budgets::list_ledger(db.app(), tenant, filter, {2, ""});
  REQUIRE(page1.items.size() == 2);
  REQUIRE_FALSE(page1.next_cursor.empty());
  auto page2 = budgets::list_ledger(db.app(), tenant, filter, {2, page1.next_cursor});
  CHECK(page2.items.size() == 1);
  CHECK(page2.next_cursor.empty());
  CHECK(page2.items[0].amount == 100);

  filter = {};
  filter.from = "2000-01-01";
  filter.to = "2000-12-31";
  CHECK(budgets::list_ledger(db.app(), tenant, filter, {50, ""}).items.empty());
  filter.kind = "gift";
  filter.from = "yesterday";
  try {
    budgets::list_ledger(db.app(), tenant, filter, {50, ""});
    FAIL("expected invalid");
  } catch (const loyalty::Error& e) {
    REQUIRE(e.fields().size() == 2);
    CHECK(e.fields()[0].pointer == "/type");
    CHECK(e.fields()[1].pointer == "/from");
  }
}

TEST_CASE("ledger: export writes RFC 4180 CSV with a header, or JSON lines", "[pg]") {
  TestDatabase db;
  auto tenant = make_tenant(db, "export");
  auto b = budgets::create_budget(db.app(), tenant, Actor::operator_cli(),
                                  {{"name", "Promo, \"Q1\""}, {"currency", "USD"}});
  budgets::topup_budget(db.app(), tenant, Actor::operator_cli(), b.id, "1234.5", "PO \"7\", 2025");
  reserve_at(db.app(), tenant, b.id, 5);

  std::ostringstream csv;
  CHECK(budgets::export_ledger(db.app(), tenant, {}, budgets::ExportFormat::csv, csv) == 2);
  auto text = csv.str();
  auto first_line = text.substr(0, text.find("\r\n"));
  CHECK(first_line ==
        "id,created_at,budget_id,budget_name,kind,debit_account,credit_account,amount,currency,"
        "issuance_id,reference,period_start,actor");
  CHECK(text.find(",\"Promo, \"\"Q1\"\"\",topup,funding,available,1234.50,USD,,\"PO \"\"7\"\", "
                  "2025\",,operator\r\n") != std::string::npos);
  CHECK(text.find(",reserve,available,reserved,0.05,USD,,,,system\r\n") != std::string::npos);

  std::ostringstream jsonl;
  CHECK(budgets::export_ledger(db.app(), tenant, {}, budgets::ExportFormat::jsonl, jsonl) == 2);
  std::istringstream lines(jsonl.str());
  std::string line;
  std::getline(lines, line);
  auto first = json::parse(line);
  CHECK(first["amount"] == "1234.50");
  CHECK(first["budget_name"] == "Promo, \"Q1\"");
  CHECK(first["reference"] == "PO \"7\", 2025");
  CHECK(first["issuance_id"].is_null());
  CHECK(first["id"].is_number());

  budgets::LedgerFilter filter;
  filter.kind = "reserve";
  std::ostringstream only_reserve;
  CHECK(budgets::export_ledger(db.app(), tenant, filter, budgets::ExportFormat::jsonl,
                               only_reserve) == 1);
}
