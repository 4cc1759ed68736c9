// deploy/caddy/Caddyfile as shipped, run by Debian's caddy with `tls internal` on loopback in
// front of two real daemons over one database: requests are spread over both, a killed daemon
// loses no request once its health check has failed, and the front door's headers,
// compression, body limit and JSON access log are what the file promises.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

using loyalty::test::Api;
using loyalty::test::BackgroundProcess;
using loyalty::test::Daemon;
using loyalty::test::TempDir;
using loyalty::test::TestDatabase;

namespace {

/// A TCP port nothing listens on now (the kernel's pick for 127.0.0.1:0).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

/// A daemon over `db` with its own data directory: what the daemons share comes from settings.
Daemon instance(TestDatabase& db, const std::string& data_dir, const std::string& jwt_secrets) {
  return Daemon({"--database-url", db.owner_url(), "--app-database-url", db.app_url(), "--data-dir",
                 data_dir, "--jwt-secrets", jwt_secrets, "--trusted-proxies", "127.0.0.1",
                 "--rate-limit", "0", "--workers", "0"});
}

/// The daemon's count of answered requests for one route and status, from its /metrics.
long requests_served(int port, const std::string& route, int status) {
  httplib::Client client("127.0.0.1", port);
  auto metrics = client.Get("/metrics");
  if (!metrics) return -1;
  std::regex line("loyalty_http_requests_total\\{method=\"GET\",route=\"" +
                  std::regex_replace(route, std::regex(R"([{}])"), R"(\$&)") + "\",status=\"" +
                  std::to_string(status) + "\"\\} ([0-9]+)");
  std::smatch match;
  return std::regex_search(metrics->body, match, line) ? std::stol(match[1]) : 0;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("caddy: the deploy Caddyfile balances two daemons, survives one dying, sets headers",
          "[http]") {
  // Caddy may close a connection while a refused body is still being sent: an error, not a kill.
  std::signal(SIGPIPE, SIG_IGN);
  TestDatabase db;
  TempDir dir;
  const std::string secrets = R"({"k2026":"caddy-test-secret-shared-by-both-daemons-0123"})";
  auto a = instance(db, dir.path() + "/a", secrets);
  auto b = instance(db, dir.path() + "/b", secrets);
  Api direct(a.port());
  auto creds = loyalty::test::seed_tenant(db, direct, "caddy-shop");

  int https_port = free_port(), http_port = free_port();
  std::string access_log = dir.path() + "/access.log";
  BackgroundProcess caddy(
      {"/usr/bin/caddy", "run", "--adapter", "caddyfile", "--config",
       std::string(LOYALTY_SOURCE_DIR) + "/deploy/caddy/Caddyfile"},
      {"HOME=" + dir.path(), "XDG_DATA_HOME=" + dir.path() + "/caddy-data",
       "XDG_CONFIG_HOME=" + dir.path() + "/caddy-config",
       "LOYALTY_SITE=https://127.0.0.1:" + std::to_string(https_port), "LOYALTY_TLS=internal",
       "LOYALTY_UPSTREAMS=127.0.0.1:" + std::to_string(a.port()) +
           " 127.0.0.1:" + std::to_string(b.port()),
       "LOYALTY_ACCESS_LOG=" + access_log, "LOYALTY_CADDY_ADMIN=off",
       "LOYALTY_HTTP_PORT=" + std::to_string(http_port),
       "LOYALTY_HTTPS_PORT=" + std::to_string(https_port), "LOYALTY_BIND=127.0.0.1"});

  httplib::SSLClient front("127.0.0.1", https_port);
  front.enable_server_certificate_verification(false);  // Caddy's own CA from `tls internal`
  front.set_read_timeout(30);
  front.set_decompress(false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  httplib::Result health{nullptr, httplib::Error::Unknown};
  while (std::chrono::steady_clock::now() < deadline && caddy.running()) {
    health = front.Get("/health");
    if (health && health->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(caddy.log());
  REQUIRE(health);
  REQUIRE(health->status == 200);

  SECTION("the security headers of the seed, compression and the body limit") {
    for (const char* header :
         {"Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options",
          "X-XSS-Protection", "Content-Security-Policy", "Referrer-Policy"}) {
      CHECK(!health->get_header_value(header).empty());
    }
    CHECK(health->get_header_value("X-Frame-Options") == "DENY");
    CHECK(health->get_header_value("X-Content-Type-Options") == "nosniff");
    CHECK(!health->has_header("Server"));
    CHECK(!health->get_header_value("X-Request-Id").empty());  // the daemon's, passed through

    auto openapi = front.Get("/openapi.json", {{"Accept-Encoding", "gzip"}});
    REQUIRE(openapi);
    CHECK(openapi->status == 200);
    CHECK(openapi->get_header_value("Content-Encoding") == "gzip");

    // curl, because it reads an answer that comes before the whole body was sent.
    std::string body_file = dir.path() + "/huge.json";
    std::ofstream(body_file) << std::string(3'000'000, ' ');
    auto huge = loyalty::test::run_command({"/usr/bin/curl", "-sk", "-o", "/dev/null", "-w",
                                            "%{http_code}", "-H", "Content-Type: application/json",
                                            "-H", "Authorization: Bearer " + creds.pos_key,
                                            "--data-binary", "@" + body_file,
                                            "https://127.0.0.1:" + std::to_string(https_port) +
                                                "/v1/tenants/" + creds.tenant_id + "/events"});
    CHECK(huge.out == "413");
  }

  SECTION("requests are spread over both daemons, and one dying loses none after its check") {
    const std::string route = "/v1/tenants/{tid}/customers";
    const std::string path = "/v1/tenants/" + creds.tenant_id + "/customers";
    const httplib::Headers auth = {{"Authorization", "Bearer " + creds.admin_token},
                                   {"X-Forwarded-For", "203.0.113.9"}};
    long a_before = requests_served(a.port(), route, 200);
    long b_before = requests_served(b.port(), route, 200);
    int ok = 0;
    for (int i = 0; i < 20; ++i) {
      auto res = front.Get(path, auth);
      if (res && res->status == 200) ++ok;
    }
    // One admin token, accepted by both: the JWT secrets come from the settings.
    CHECK(ok == 20);
    long a_served = requests_served(a.port(), route, 200) - a_before;
    long b_served = requests_served(b.port(), route, 200) - b_before;
    CHECK(a_served + b_served == 20);
    CHECK(a_served >= 5);
    CHECK(b_served >= 5);
    // Caddy does not pass a client's own X-Forwarded-For on; the daemons, trusting Caddy,
    // see the address Caddy saw.
    CHECK(a.log().find("203.0.113.9") == std::string::npos);
    CHECK(a.log().find(R"("client_ip":"127.0.0.1")") != std::string::npos);
    // Shared secrets set: no warning about per-host generated ones.
    CHECK(a.log().find("auth.jwt_secrets_generated") == std::string::npos);

    std::string b_host = "\"host\":\"127.0.0.1:" + std::to_string(b.port()) + "\"";
    b.stop(SIGKILL);
    // Wait until Caddy's active health check has seen it down (its log says so).
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto checked_down = [&] {
      std::istringstream lines(caddy.log());
      std::string line;
      while (std::getline(lines, line)) {
        if (line.find("health_checker.active") != std::string::npos &&
            line.find(b_host) != std::string::npos) {
          return true;
        }
      }
      return false;
    };
    while (!checked_down() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(checked_down());
    long a_mid = requests_served(a.port(), route, 200);
    int after = 0;
    for (int i = 0; i < 20; ++i) {
      auto res = front.Get(path, auth);
      if (res && res->status == 200) ++after;
    }
    CHECK(after == 20);
    CHECK(requests_served(a.port(), route, 200) - a_mid == 20);

    // The access log: one JSON object per request, the credential not in it.
    std::string log = slurp(access_log);
    CHECK(log.find(R"("logger":"http.log.access)") != std::string::npos);
    CHECK(log.find(R"("uri":")" + path) != std::string::npos);
    CHECK(log.find(creds.admin_token) == std::string::npos);
    std::istringstream lines(log);
    std::string line;
    int entries = 0;
    while (std::getline(lines, line)) {
      CHECK(nlohmann::json::parse(line, nullptr, false).is_object());
      ++entries;
    }
    CHECK(entries >= 40);
  }
  caddy.stop(SIGTERM);
}
