// The database stopped under the daemon's feet while POS clients post events: loyaltyd answers
// 503 problem+json meanwhile, serves again once the database is back, and loses no acknowledged
// event. The test runs its own throwaway cluster, so the run's shared cluster is not disturbed.
#include "db/tx.hpp"
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/load.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <httplib.h>
#include <unistd.h>
#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/db/database.hpp>
#include <loyalty/db/migrations.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

using loyalty::test::Daemon;
using loyalty::test::TempDir;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// pg_ctl stop in a shutdown mode ("fast": sessions terminated, a checkpoint; "immediate": the
/// server dies at once and recovers from its WAL at the next start).
void stop_cluster(const loyalty::db::EmbeddedCluster& cluster, const std::string& mode) {
  std::string pg_ctl = "/usr/lib/postgresql/15/bin/pg_ctl";
  if (!std::filesystem::exists(pg_ctl)) pg_ctl = "pg_ctl";
  std::vector<std::string> argv = {pg_ctl, "stop", "-D", cluster.status().pgdata, "-m", mode, "-w"};
  if (geteuid() == 0) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  auto r = loyalty::test::run_command(argv);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

/// The status of a GET, 0 when there is no answer within 20 s.
int get_status(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(20, 0);
  auto res = client.Get(path.c_str());
  return res ? res->status : 0;
}

}  // namespace

TEST_CASE(
    "db restart: PostgreSQL stopped (fast, then immediate) under load → 503 problem+json "
    "meanwhile, served again after it returns, no acknowledged event lost",
    "[http]") {
  auto began = Clock::now();
  TempDir dir;
  std::string data = dir.path() + "/var";
  loyalty::db::EmbeddedCluster cluster(data);
  cluster.ensure_started();
  auto owner = loyalty::db::Database::open_url(cluster.url(loyalty::db::Role::owner), 2);
  loyalty::db::migrate(*owner);
  auto shop = loyalty::test::seed_load_tenant(*owner, "outage");

  std::printf("db restart: cluster ready in %.1f s\n", seconds_between(began, Clock::now()));
  Daemon daemon({"--data-dir", data, "--rate-limit", "0", "--rate-limit-ip", "0", "--workers", "1",
                 "--worker-lease", "2"});
  REQUIRE(get_status(daemon.port(), "/ready") == 200);
  loyalty::test::LoadOptions options;
  options.tenant_id = shop.tenant_id;
  options.api_key = shop.api_key;
  loyalty::test::EventLoad load([&] { return daemon.port(); }, options);

  struct Outage {
    std::string mode;
    Clock::time_point down, starting, up, served;
    std::set<int> health, ready;  // statuses while the database was down
  };
  std::vector<Outage> outages;
  for (const std::string mode : {"fast", "immediate"}) {
    long long acknowledged = load.acknowledged();
    std::this_thread::sleep_for(1500ms);
    REQUIRE(load.acknowledged() > acknowledged);  // the load is flowing when it stops
    Outage o;
    o.mode = mode;
    stop_cluster(cluster, mode);
    o.down = Clock::now();
    while (Clock::now() - o.down < 3s) {
      o.health.insert(get_status(daemon.port(), "/health"));
      o.ready.insert(get_status(daemon.port(), "/ready"));
      std::this_thread::sleep_for(100ms);
    }
    o.starting = Clock::now();
    cluster.ensure_started();
    o.up = Clock::now();
    // Served again: an event acknowledged after the return, and /health and /ready both 200.
    acknowledged = load.acknowledged();
    bool health = false, ready = false;
    while (Clock::now() - o.up < 30s && !(health && ready && load.acknowledged() > acknowledged)) {
      health = health || get_status(daemon.port(), "/health") == 200;
      ready = ready || get_status(daemon.port(), "/ready") == 200;
      std::this_thread::sleep_for(20ms);
    }
    o.served = Clock::now();
    INFO("after the " << mode << " shutdown");
    CHECK(health);
    CHECK(ready);
    REQUIRE(load.acknowledged() > acknowledged);
    outages.push_back(o);
  }
  std::this_thread::sleep_for(1s);
  load.stop();

  for (const auto& o : outages) {
    INFO("while stopped (" << o.mode << ")");
    CHECK(o.health == std::set<int>{503});
    CHECK(o.ready == std::set<int>{503});
    std::printf("db restart (%s): served again %.2f s after the database returned\n",
                o.mode.c_str(), seconds_between(o.up, o.served));
  }

  // Every attempt was answered (none hung past the client's 20 s), and each refusal was a 503
  // problem+json: never a 500.
  std::map<int, long long> by_status;
  std::map<std::string, long long> problems;
  long long during_outage = 0;
  std::chrono::milliseconds slowest{0};
  for (const auto& posted : load.events()) {
    for (const auto& attempt : posted.attempts) {
      ++by_status[attempt.status];
      slowest = std::max(slowest, attempt.took);
      if (attempt.status == 503) {
        CHECK(attempt.content_type == "application/problem+json");
        ++problems[attempt.problem_type];
      }
      for (const auto& o : outages) {
        if (attempt.sent > o.down && attempt.sent < o.starting) {
          ++during_outage;
          CHECK(attempt.status == 503);
        }
      }
    }
  }
  std::printf("db restart: attempts by status:");
  for (const auto& [status, n] : by_status) std::printf(" %d: %lld", status, n);
  std::printf("; slowest answer %lld ms; problem types:", static_cast<long long>(slowest.count()));
  for (const auto& [type, n] : problems) std::printf(" %s (%lld)", type.c_str(), n);
  std::printf("\n");
  CHECK(during_outage > 0);
  for (const auto& [status, n] : by_status) {
    INFO(n << " attempts answered " << status);
    CHECK((status == 201 || status == 503));
  }
  const bool unexpected = std::any_of(by_status.begin(), by_status.end(), [](const auto& s) {
    return s.first != 201 && s.first != 503;
  });
  if (unexpected) {
    // What the daemon said about an unexpected answer, for the one who reads the failure.
    std::istringstream log(daemon.log());
    for (std::string line; std::getline(log, line);) {
      if (line.find("\"level\":\"error\"") != std::string::npos ||
          line.find("\"status\":500") != std::string::npos) {
        std::printf("db restart: daemon said: %s\n", line.c_str());
      }
    }
  }

  std::map<std::string, int> copies;
  loyalty::db::with_tx(*owner, [&](loyalty::db::Tx& tx) {
    for (const auto& row : tx.exec_raw("SELECT idempotency_key FROM events")) {
      ++copies[row[0].as<std::string>()];
    }
  });
  long long acknowledged = 0, given_up = 0;
  for (const auto& posted : load.events()) {
    INFO("event " << posted.key);
    if (posted.acknowledged) {
      ++acknowledged;
      CHECK(copies[posted.key] == 1);
    } else {
      ++given_up;
      CHECK(copies[posted.key] <= 1);
    }
  }
  std::printf("db restart: load done at %.1f s\n", seconds_between(began, Clock::now()));
  std::printf("db restart: %lld acknowledged, %lld given up, %zu stored\n", acknowledged, given_up,
              copies.size());
  CHECK(loyalty::test::wait_for_value(
            *owner, "SELECT count(*) FROM issuances WHERE state = 'reserved'", "0") == "0");
  auto report = loyalty::budgets::verify_ledger(*owner, "");
  for (const auto& p : report.problems) INFO(p.budget_name << ": " << p.message);
  CHECK(report.ok());

  std::printf("db restart: drained at %.1f s\n", seconds_between(began, Clock::now()));

  // A restart while the daemon is idle: its pooled connections are all dead when the next
  // requests come, at once, and every one of them still finds a live connection.
  stop_cluster(cluster, "fast");
  cluster.ensure_started();
  loyalty::test::Api api(daemon.port());
  std::vector<int> statuses(8);
  std::vector<std::thread> posts;
  for (int i = 0; i < 8; ++i) {
    posts.emplace_back([&, i] {
      statuses[i] =
          api.post_raw("/v1/tenants/" + shop.tenant_id + "/events",
                       nlohmann::json{{"customer", {{"phone", "+26377111111" + std::to_string(i)}}},
                                      {"type", "purchase"},
                                      {"data", {{"amount", "5.00"}, {"currency", "USD"}}},
                                      {"idempotency_key", "idle-" + std::to_string(i)}}
                           .dump(),
                       "application/json", shop.api_key)
              .status;
    });
  }
  for (auto& t : posts) t.join();
  CHECK(statuses == std::vector<int>(8, 201));
  CHECK(daemon.stop(SIGTERM) == 0);
  owner.reset();
  cluster.stop();
}
