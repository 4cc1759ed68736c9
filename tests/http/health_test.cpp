#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <httplib.h>
#include <catch2/catch.hpp>
#include <loyalty/db/database.hpp>
#include <loyalty/db/migrations.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

using loyalty::test::Daemon;
using loyalty::test::TestDatabase;

TEST_CASE("http: /health, /ready and /metrics answer on a migrated database", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  httplib::Client client("127.0.0.1", daemon.port());
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(nlohmann::json::parse(health->body)["database"] == "ok");
  CHECK(!health->get_header_value("X-Request-Id").empty());

  auto ready = client.Get("/ready", {{"X-Request-Id", "given-id-123"}});
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(ready->get_header_value("X-Request-Id") == "given-id-123");

  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("loyalty_http_requests_total{method=\"GET\",route=\"/health\","
                           "status=\"200\"} 1") != std::string::npos);
  CHECK(metrics->body.find("loyalty_http_request_duration_seconds_bucket") != std::string::npos);
  CHECK(metrics->body.find("loyalty_db_pool_connections{state=\"open\"}") != std::string::npos);

  auto missing = client.Get("/no/such/thing");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(missing->get_header_value("Content-Type") == "application/problem+json");

  // One JSON log line per request, with the request id, status and duration.
  daemon.stop(SIGTERM);
  auto log = daemon.log();
  auto line_start = log.find("\"request_id\":\"given-id-123\"");
  REQUIRE(line_start != std::string::npos);
  auto begin = log.rfind('\n', line_start);
  auto end = log.find('\n', line_start);
  auto line = nlohmann::json::parse(log.substr(begin == std::string::npos ? 0 : begin + 1,
                                               end - (begin == std::string::npos ? 0 : begin + 1)));
  CHECK(line["status"] == 200);
  CHECK(line["route"] == "/ready");
  CHECK(line.contains("duration_ms"));
}

TEST_CASE("http: loyaltyd refuses to serve on a schema behind its migrations", "[http]") {
  TestDatabase empty(false);
  CHECK_THROWS_WITH(Daemon::over(empty), Catch::Contains("0001_schema.sql is not applied"));
}

TEST_CASE("http: /health is 503 while the database is stopped and 200 when it returns", "[http]") {
  loyalty::test::TempDir dir;
  std::string data = dir.path() + "/var";
  loyalty::db::EmbeddedCluster cluster(data);
  cluster.ensure_started();
  {
    auto owner = loyalty::db::Database::open_url(cluster.url(loyalty::db::Role::owner), 1);
    loyalty::db::migrate(*owner);
  }
  Daemon daemon({"--data-dir", data});
  httplib::Client client("127.0.0.1", daemon.port());
  REQUIRE(client.Get("/health")->status == 200);

  cluster.stop();
  auto down = client.Get("/health");
  REQUIRE(down);
  CHECK(down->status == 503);
  CHECK(nlohmann::json::parse(down->body)["database"] == "unreachable");

  cluster.ensure_started();
  auto up = client.Get("/health");
  REQUIRE(up);
  CHECK(up->status == 200);
  daemon.stop(SIGTERM);
  cluster.stop();
}

TEST_CASE("http: SIGTERM during a slow request lets it finish, then the daemon exits 0", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  // A client that sends its request slowly: the body arrives after SIGTERM.
  httplib::Client client("127.0.0.1", daemon.port());
  client.set_read_timeout(15);
  std::string body = R"({"slow":true})";
  std::atomic<bool> sent_headers{false};
  std::thread signaller([&] {
    while (!sent_headers) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(daemon.pid(), SIGTERM);
  });
  std::size_t offset = 0;
  auto res = client.Post(
      "/health", body.size(),
      [&](size_t, size_t, httplib::DataSink& sink) {
        sent_headers = true;
        if (offset == 0) std::this_thread::sleep_for(std::chrono::milliseconds(800));
        sink.write(body.data() + offset, 1);
        ++offset;
        return true;
      },
      "application/json");
  signaller.join();
  REQUIRE(res);
  // The request was answered (405: /health is GET-only) rather than cut off.
  CHECK(res->status == 405);
  CHECK(res->get_header_value("Content-Type") == "application/problem+json");
  CHECK(daemon.stop(0) == 0);
}
