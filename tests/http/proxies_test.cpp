// The client address behind reverse proxies: X-Forwarded-For is believed only from the peers
// --trusted-proxies names, so a client cannot pick its own address to dodge the per-address
// rate limit (or to spend someone else's).
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"

#include <catch2/catch.hpp>

using loyalty::test::Api;
using loyalty::test::Daemon;
using loyalty::test::TestDatabase;

namespace {

/// How many of `n` GET /health requests, each with the X-Forwarded-For `xff(i)`, got 429.
template <typename Xff>
int limited_of(Api& api, int n, Xff xff) {
  int limited = 0;
  for (int i = 0; i < n; ++i) {
    auto res = api.send("GET", "/health", "", "", "", {{"X-Forwarded-For", xff(i)}});
    if (res.status == 429) ++limited;
  }
  return limited;
}

}  // namespace

TEST_CASE("proxies: a spoofed X-Forwarded-For from a peer that is not a trusted proxy is ignored",
          "[http]") {
  TestDatabase db;
  // One request a second per address, a burst of two: the ten below come from one address.
  auto daemon = Daemon::over(db, {"--rate-limit-ip", "1"});
  Api api(daemon.port());
  int limited = limited_of(api, 10, [](int i) { return "203.0.113." + std::to_string(i + 1); });
  CHECK(limited > 0);
  CHECK(daemon.log().find(R"("client_ip":"127.0.0.1")") != std::string::npos);
  CHECK(daemon.log().find("203.0.113.") == std::string::npos);
}

TEST_CASE("proxies: behind a trusted proxy each client has its own rate limit and log address",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--rate-limit-ip", "1", "--trusted-proxies", "127.0.0.1/32"});
  Api api(daemon.port());
  // Ten clients, one request each, through the proxy: nobody is over their limit.
  CHECK(limited_of(api, 10, [](int i) { return "203.0.113." + std::to_string(i + 1); }) == 0);
  CHECK(daemon.log().find(R"("client_ip":"203.0.113.7")") != std::string::npos);
  // One client that prefixes made-up hops: the proxy appended the address it saw, and that is
  // the one counted, so the client stays within one bucket.
  int limited = limited_of(
      api, 10, [](int i) { return "198.51.100." + std::to_string(i + 1) + ", 192.0.2.44"; });
  CHECK(limited > 0);
  CHECK(daemon.log().find(R"("client_ip":"198.51.100.)") == std::string::npos);
}

TEST_CASE("proxies: a --trusted-proxies entry that is not a network stops the daemon at start",
          "[http]") {
  TestDatabase db;
  CHECK_THROWS_WITH(Daemon::over(db, {"--trusted-proxies", "127.0.0.1, proxy.internal"}),
                    Catch::Contains("'proxy.internal' is not an IP address or CIDR network"));
}
