// The daemon's background worker: --workers, the event.issue job end to end, /ready, SIGTERM.
#include "budgets/ledger_ops.hpp"
#include "db/tx.hpp"
#include "jobs/queue.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <httplib.h>
#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

namespace budgets = loyalty::budgets;
using loyalty::Actor;
using loyalty::db::Tx;
using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using loyalty::test::wait_for_value;
using namespace std::chrono_literals;

namespace {

struct Reserved {
  std::string tenant, budget, event, issuance;
};

/// What the event pipeline leaves behind: an event, a reserved $5 voucher with its budget
/// reserved, and an event.issue job, all in one transaction.
Reserved reserve_voucher(TestDatabase& db) {
  Reserved r;
  loyalty::tenants::CreateTenantRequest req;
  req.name = "shop";
  req.slug = "shop";
  r.tenant = loyalty::tenants::create_tenant(db.owner(), req).tenant.id;
  r.budget = budgets::create_budget(db.app(), r.tenant, Actor::operator_cli(),
                                    {{"name", "launch"}, {"currency", "USD"}, {"total", "100.00"}})
                 .id;
  auto customer =
      sql_value(db.owner(),
                "INSERT INTO customers (tenant_id, phone, consent_at, consent_channel) VALUES ('" +
                    r.tenant + "', '+263771234567', now(), 'pos') RETURNING id");
  auto reward = sql_value(db.owner(),
                          "INSERT INTO rewards (tenant_id, name, type, cost_minor, currency, "
                          "budget_id) VALUES ('" +
                              r.tenant + "', '$5 voucher', 'voucher', 500, 'USD', '" + r.budget +
                              "') RETURNING id");
  loyalty::db::with_tenant(db.app(), r.tenant, [&](Tx& tx) {
    r.event =
        tx.exec_raw(
              "INSERT INTO events (tenant_id, customer_id, type, occurred_at, "
              "idempotency_key, request_hash) VALUES ('" +
              r.tenant + "', '" + customer + "', 'purchase', now(), 'k1', 'h') RETURNING id")[0][0]
            .as<std::string>();
    r.issuance = tx.exec_raw(
                       "INSERT INTO issuances (tenant_id, customer_id, event_id, "
                       "reward_id, budget_id, cost_minor, currency, code, expires_at) "
                       "VALUES ('" +
                       r.tenant + "', '" + customer + "', '" + r.event + "', '" + reward + "', '" +
                       r.budget +
                       "', 500, 'USD', 'V-SECRET-1', now() + interval '30 days') "
                       "RETURNING id")[0][0]
                     .as<std::string>();
    REQUIRE(budgets::reserve(tx, r.tenant, r.budget, 500, "USD", r.issuance).status ==
            budgets::ReserveStatus::reserved);
    loyalty::jobs::enqueue(tx, r.tenant, loyalty::jobs::kIssueEvent, {{"event_id", r.event}});
  });
  return r;
}

}  // namespace

TEST_CASE(
    "http: loyaltyd --workers issues an event's reserved rewards and stops cleanly on "
    "SIGTERM",
    "[http]") {
  TestDatabase db;
  auto r = reserve_voucher(db);
  sql_value(db.owner(),
            "INSERT INTO jobs (tenant_id, kind) VALUES ('" + r.tenant + "', 'no.such.kind')");

  auto daemon = Daemon::over(db, {"--workers", "2"});
  CHECK(wait_for_value(db.owner(), "SELECT state FROM issuances", "issued") == "issued");
  CHECK(wait_for_value(db.owner(), "SELECT status FROM jobs WHERE kind = 'event.issue'", "done") ==
        "done");
  CHECK(wait_for_value(db.owner(), "SELECT status FROM jobs WHERE kind = 'no.such.kind'", "dead") ==
        "dead");
  CHECK(sql_value(db.owner(), "SELECT reserved_minor || '/' || utilized_minor FROM budgets") ==
        "0/500");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM outbox WHERE event_type = 'reward.issued'") ==
        "1");
  // The customer consented: the reward notice (with the code) is queued for their channel.
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM notifications") == "1");

  httplib::Client client("127.0.0.1", daemon.port());
  auto ready = client.Get("/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(nlohmann::json::parse(ready->body)["worker"] == "alive");

  CHECK(daemon.stop(SIGTERM) == 0);
  auto log = daemon.log();
  CHECK(log.find("worker.started") != std::string::npos);
  CHECK(log.find("worker.stopped") != std::string::npos);
  CHECK(log.find("V-SECRET-1") == std::string::npos);
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM jobs WHERE status = 'running'") == "0");

  auto verify = loyalty::test::loyaltyctl(db.owner_url(), {"ledger", "verify"});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
}

TEST_CASE("http: loyaltyd --workers 0 serves HTTP and leaves the queue alone", "[http]") {
  TestDatabase db;
  auto r = reserve_voucher(db);
  auto daemon = Daemon::over(db, {"--workers", "0"});
  httplib::Client client("127.0.0.1", daemon.port());
  auto ready = client.Get("/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  std::this_thread::sleep_for(500ms);
  CHECK(sql_value(db.owner(), "SELECT status FROM jobs") == "pending");
  CHECK(sql_value(db.owner(), "SELECT state FROM issuances") == "reserved");
  CHECK(daemon.stop(SIGTERM) == 0);
  CHECK(daemon.log().find("worker.started") == std::string::npos);
}
