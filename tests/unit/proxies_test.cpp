#include <catch2/catch.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/proxies.hpp>

using loyalty::TrustedProxies;

TEST_CASE("proxies: X-Forwarded-For from a peer that is not a trusted proxy is ignored", "[unit]") {
  auto none = TrustedProxies::parse("");
  CHECK(none.empty());
  CHECK(none.client_address("127.0.0.1", {"203.0.113.7"}) == "127.0.0.1");

  auto proxies = TrustedProxies::parse("10.0.0.5");
  CHECK(proxies.client_address("192.0.2.1", {"203.0.113.7"}) == "192.0.2.1");
  CHECK(proxies.client_address("192.0.2.1", {}) == "192.0.2.1");
}

TEST_CASE("proxies: the client is the rightmost hop that is not a trusted proxy", "[unit]") {
  auto proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8");
  // A client's own made-up hops sit left of the address the proxy saw: they are never believed.
  CHECK(proxies.client_address("127.0.0.1", {"198.51.100.9, 203.0.113.7"}) == "203.0.113.7");
  // Two trusted proxies in a row, then the client.
  CHECK(proxies.client_address("127.0.0.1", {"203.0.113.7, 10.1.2.3"}) == "203.0.113.7");
  // Several header fields are one list, in order.
  CHECK(proxies.client_address("10.0.0.1", {"198.51.100.9", "203.0.113.7", "10.9.9.9"}) ==
        "203.0.113.7");
  // Every hop trusted: the leftmost is the client.
  CHECK(proxies.client_address("127.0.0.1", {"10.0.0.2, 10.0.0.3"}) == "10.0.0.2");
  // A trusted peer without the header is the client itself.
  CHECK(proxies.client_address("127.0.0.1", {}) == "127.0.0.1");
}

TEST_CASE("proxies: a malformed hop ends the walk at the trusted proxy that wrote it", "[unit]") {
  auto proxies = TrustedProxies::parse("127.0.0.1,10.0.0.0/8");
  CHECK(proxies.client_address("127.0.0.1", {"unknown"}) == "127.0.0.1");
  CHECK(proxies.client_address("127.0.0.1", {"203.0.113.7, garbage, 10.0.0.9"}) == "10.0.0.9");
  CHECK(proxies.client_address("127.0.0.1", {"203.0.113.7,,"}) == "127.0.0.1");
}

TEST_CASE("proxies: IPv6 networks, and IPv4-mapped addresses judged as IPv4", "[unit]") {
  auto proxies = TrustedProxies::parse("fd00::/8 ::1 192.168.0.0/16");
  CHECK(proxies.contains("fd12:3456::1"));
  CHECK_FALSE(proxies.contains("fe80::1"));
  CHECK(proxies.contains("::1"));
  CHECK(proxies.contains("::ffff:192.168.4.4"));
  CHECK_FALSE(proxies.contains("192.169.0.1"));
  CHECK_FALSE(proxies.contains("not-an-address"));
  CHECK(proxies.client_address("::ffff:192.168.1.1", {"2001:db8::7"}) == "2001:db8::7");
  CHECK(proxies.client_address("::1", {"[2001:db8::8]"}) == "2001:db8::8");
  // The answer is canonical, so one client is one rate-limit key however it is spelled.
  CHECK(proxies.client_address("::1", {"2001:0db8:0000::0008"}) == "2001:db8::8");
  CHECK(TrustedProxies::parse("").client_address("::ffff:127.0.0.1", {}) == "127.0.0.1");
}

TEST_CASE("proxies: a setting that is not addresses and networks is refused", "[unit]") {
  CHECK_THROWS_AS(TrustedProxies::parse("10.0.0.0/33"), loyalty::Error);
  CHECK_THROWS_AS(TrustedProxies::parse("localhost"), loyalty::Error);
  CHECK_THROWS_AS(TrustedProxies::parse("10.0.0.0/"), loyalty::Error);
  CHECK_THROWS_AS(TrustedProxies::parse("::/129"), loyalty::Error);
  CHECK_THROWS_WITH(TrustedProxies::parse("127.0.0.1, 10.0.0.0/x"),
                    Catch::Contains("'10.0.0.0/x'"));
  CHECK(TrustedProxies::parse("0.0.0.0/0").contains("203.0.113.7"));
}
