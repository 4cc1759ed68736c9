// loyaltyd killed with SIGKILL while POS clients post events: what was acknowledged survives,
// exactly once, and a restarted daemon serves again. scripts/soak runs the long version.
#include "db/tx.hpp"
#include "support/daemon.hpp"
#include "support/load.hpp"
#include "support/pg.hpp"

#include <httplib.h>
#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>

#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <sstream>

using loyalty::test::Daemon;
using loyalty::test::sql_value;
using loyalty::test::TestDatabase;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// No rate limits; the jobs a killed daemon had claimed are taken again after their lease: 2 s.
const std::vector<std::string> kFlags = {"--rate-limit", "0", "--rate-limit-ip", "0",
                                         "--workers",    "1", "--worker-lease",  "2",
                                         "--pool-size",  "6"};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Polls /ready until it answers 200 (true) or `limit` has passed (false).
bool wait_ready(int port, std::chrono::seconds limit) {
  auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(5, 0);
    auto res = client.Get("/ready");
    if (res && res->status == 200) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE(
    "crash: loyaltyd killed with SIGKILL four times in a minute under load → every acknowledged "
    "event stored exactly once, none twice, and it serves again after each restart",
    "[http]") {
  TestDatabase db;
  auto shop = loyalty::test::seed_load_tenant(db.owner(), "crash");
  auto daemon = std::make_unique<Daemon>(Daemon::over(db, kFlags));
  std::atomic<int> port{daemon->port()};

  loyalty::test::LoadOptions options;
  options.tenant_id = shop.tenant_id;
  options.api_key = shop.api_key;
  loyalty::test::EventLoad load([&] { return port.load(); }, options);

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(1500, 3000);
  std::vector<double> restart_seconds;
  std::vector<long long> acknowledged_before_kill;
  auto first_kill = Clock::now();
  for (int kill = 0; kill < 4; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    acknowledged_before_kill.push_back(load.acknowledged());
    if (kill == 0) first_kill = Clock::now();
    REQUIRE(daemon->stop(SIGKILL) == 128 + SIGKILL);
    auto killed = Clock::now();
    daemon = std::make_unique<Daemon>(Daemon::over(db, kFlags));
    port = daemon->port();
    // Back when /ready answers 200 (schema at head, worker alive).
    REQUIRE(wait_ready(daemon->port(), 30s));
    restart_seconds.push_back(seconds_since(killed));
  }
  double kills_within = seconds_since(first_kill);
  std::this_thread::sleep_for(1s);
  load.stop();

  std::printf("crash: restart times (SIGKILL to /ready 200):");
  for (double s : restart_seconds) std::printf(" %.2f s", s);
  std::printf("; 4 kills within %.1f s\n", kills_within);
  CHECK(kills_within < 60);
  // The load kept flowing between kills: each kill interrupted events being acknowledged.
  for (std::size_t i = 1; i < acknowledged_before_kill.size(); ++i) {
    CHECK(acknowledged_before_kill[i] > acknowledged_before_kill[i - 1]);
  }

  std::map<std::string, std::string> stored;  // idempotency key -> event id
  std::map<std::string, int> copies;
  loyalty::db::with_tx(db.owner(), [&](loyalty::db::Tx& tx) {
    for (const auto& row : tx.exec_raw("SELECT idempotency_key, id::text FROM events")) {
      stored[row[0].as<std::string>()] = row[1].as<std::string>();
      ++copies[row[0].as<std::string>()];
    }
  });
  long long acknowledged = 0, replayed = 0, given_up = 0, given_up_stored = 0, retried = 0;
  for (const auto& posted : load.events()) {
    INFO("event " << posted.key);
    CHECK(copies[posted.key] <= 1);
    for (const auto& attempt : posted.attempts) {
      // Only the daemon's absence may go unanswered; it never answers 5xx for its own crash.
      CHECK((attempt.status == 0 || attempt.status == 201 || attempt.status == 503));
    }
    if (posted.attempts.size() > 1) ++retried;
    if (posted.acknowledged) {
      ++acknowledged;
      replayed += posted.replayed ? 1 : 0;
      CHECK(copies[posted.key] == 1);
      CHECK(stored[posted.key] == posted.event_id);
    } else {
      ++given_up;
      given_up_stored += copies[posted.key];
    }
  }
  std::printf(
      "crash: %lld acknowledged (%lld after a retry, %lld of them replays of an event committed "
      "before the kill), %lld given up (%lld of those stored), %zu stored in all\n",
      acknowledged, retried, replayed, given_up, given_up_stored, stored.size());
  CHECK(acknowledged > 0);
  CHECK(stored.size() == static_cast<std::size_t>(acknowledged + given_up_stored));
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM (SELECT 1 FROM events GROUP BY tenant_id, "
                  "idempotency_key HAVING count(*) > 1) d") == "0");

  // The jobs of the killed daemons were taken again: every reserved reward is issued.
  CHECK(loyalty::test::wait_for_value(
            db.owner(), "SELECT count(*) FROM issuances WHERE state = 'reserved'", "0") == "0");
  auto report = loyalty::budgets::verify_ledger(db.owner(), "");
  for (const auto& p : report.problems) INFO(p.budget_name << ": " << p.message);
  CHECK(report.ok());
}

namespace {

/// One value of a /metrics scrape ("" when the series is absent).
std::string scraped(int port, const std::string& series) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(5, 0);
  auto res = client.Get("/metrics");
  if (!res) return "";
  std::istringstream lines(res->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  }
  return "";
}

}  // namespace

TEST_CASE(
    "crash: loyaltyd killed with SIGKILL while 32 clients' events commit in groups → every "
    "acknowledged event stored with all its rewards, no event stored in part",
    "[http]") {
  TestDatabase db;
  auto shop = loyalty::test::seed_load_tenant(db.owner(), "groups");
  auto daemon = std::make_unique<Daemon>(Daemon::over(db, kFlags));
  std::atomic<int> port{daemon->port()};
  loyalty::test::LoadOptions options;
  options.tenant_id = shop.tenant_id;
  options.api_key = shop.api_key;
  options.threads = 32;
  options.retrying_threads = 16;
  options.customers = 400;
  loyalty::test::EventLoad load([&] { return port.load(); }, options);

  long long grouped = 0;  // events that shared their transaction with another, before the kills
  for (int kill = 0; kill < 3; ++kill) {
    auto acknowledged = load.acknowledged();
    // Until the load is well under way on this daemon, then in the middle of it.
    auto deadline = Clock::now() + 60s;
    while (load.acknowledged() < acknowledged + 200 && Clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    REQUIRE(load.acknowledged() >= acknowledged + 200);
    auto sum = scraped(daemon->port(), "loyalty_event_group_size_sum");
    auto count = scraped(daemon->port(), "loyalty_event_group_size_count");
    if (!sum.empty() && !count.empty()) grouped += std::stoll(sum) - std::stoll(count);
    REQUIRE(daemon->stop(SIGKILL) == 128 + SIGKILL);
    daemon = std::make_unique<Daemon>(Daemon::over(db, kFlags));
    port = daemon->port();
    REQUIRE(wait_ready(daemon->port(), 30s));
  }
  std::this_thread::sleep_for(500ms);
  load.stop();
  INFO(grouped << " events grouped with others before the kills");
  CHECK(grouped > 0);

  std::map<std::string, std::string> stored;  // idempotency key -> event id
  loyalty::db::with_tx(db.owner(), [&](loyalty::db::Tx& tx) {
    for (const auto& row : tx.exec_raw("SELECT idempotency_key, id::text FROM events")) {
      stored[row[0].as<std::string>()] = row[1].as<std::string>();
    }
  });
  long long acknowledged = 0;
  for (const auto& posted : load.events()) {
    if (!posted.acknowledged) continue;
    ++acknowledged;
    INFO("event " << posted.key);
    CHECK(stored[posted.key] == posted.event_id);
  }
  std::printf("crash (groups): %lld acknowledged, %zu stored, %lld grouped before the kills\n",
              acknowledged, stored.size(), grouped);
  CHECK(acknowledged > 600);
  // No event in part: each stored event is processed, with its answer, and has exactly the
  // issuances its answer lists, each with its budget reservation.
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM events WHERE status <> 'processed' OR "
                  "response IS NULL") == "0");
  CHECK(sql_value(db.owner(),
                  "SELECT count(*) FROM events e WHERE jsonb_array_length(e.response->'issuances') "
                  "<> (SELECT count(*) FROM issuances i WHERE i.event_id = e.id)") == "0");
  CHECK(loyalty::test::wait_for_value(
            db.owner(), "SELECT count(*) FROM issuances WHERE state = 'reserved'", "0") == "0");
  auto report = loyalty::budgets::verify_ledger(db.owner(), "");
  for (const auto& p : report.problems) INFO(p.budget_name << ": " << p.message);
  CHECK(report.ok());
}
