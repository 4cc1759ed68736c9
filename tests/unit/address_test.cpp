// Address vetting for outbound requests: which addresses are refused, and which URLs.

#include <loyalty/core/error.hpp>
#include <loyalty/outbound/address.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace loyalty::outbound;

namespace {

/// The refusal, or "allowed".
std::string verdict(const std::string& address) {
  return address_refusal(address).value_or("allowed");
}

/// The message vet_url refuses `url` with (after checking the error's shape), or "accepted".
std::string refusal(const std::string& url, const AddressPolicy& policy = {}) {
  try {
    vet_url(url, policy);
    return "accepted";
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    CHECK(e.type() == "webhook-url-refused");
    CHECK(e.fields() == std::vector<loyalty::FieldError>{{"/url", e.what()}});
    return e.what();
  }
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

AddressPolicy resolving(const std::string& host_port, std::vector<std::string> addresses) {
  AddressPolicy policy;
  policy.resolve[host_port] = std::move(addresses);
  return policy;
}

}  // namespace

TEST_CASE("address vetting: each refused IPv4 block is refused up to its edges, not past them",
          "[unit]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // 0.0.0.0/8
      {"0.0.0.0", "unspecified"},
      {"0.255.255.255", "unspecified"},
      {"1.0.0.0", "allowed"},
      // 10.0.0.0/8
      {"9.255.255.255", "allowed"},
      {"10.0.0.0", "private"},
      {"10.255.255.255", "private"},
      {"11.0.0.0", "allowed"},
      // 100.64.0.0/10
      {"100.63.255.255", "allowed"},
      {"100.64.0.0", "cgnat"},
      {"100.127.255.255", "cgnat"},
      {"100.128.0.0", "allowed"},
      // 127.0.0.0/8
      {"126.255.255.255", "allowed"},
      {"127.0.0.0", "loopback"},
      {"127.0.0.1", "loopback"},
      {"127.255.255.255", "loopback"},
      {"128.0.0.0", "allowed"},
      // 169.254.0.0/16
      {"169.253.255.255", "allowed"},
      {"169.254.0.0", "link-local"},
      {"169.254.169.254", "link-local"},
      {"169.254.255.255", "link-local"},
      {"169.255.0.0", "allowed"},
      // 172.16.0.0/12
      {"172.15.255.255", "allowed"},
      {"172.16.0.0", "private"},
      {"172.31.255.255", "private"},
      {"172.32.0.0", "allowed"},
      // 192.0.0.0/24 and 192.0.2.0/24
      {"191.255.255.255", "allowed"},
      {"192.0.0.0", "reserved"},
      {"192.0.0.255", "reserved"},
      {"192.0.1.0", "allowed"},
      {"192.0.1.255", "allowed"},
      {"192.0.2.0", "documentation"},
      {"192.0.2.255", "documentation"},
      {"192.0.3.0", "allowed"},
      // 192.168.0.0/16
      {"192.167.255.255", "allowed"},
      {"192.168.0.0", "private"},
      {"192.168.255.255", "private"},
      {"192.169.0.0", "allowed"},
      // 198.18.0.0/15
      {"198.17.255.255", "allowed"},
      {"198.18.0.0", "benchmarking"},
      {"198.19.255.255", "benchmarking"},
      {"198.20.0.0", "allowed"},
      // 198.51.100.0/24
      {"198.51.99.255", "allowed"},
      {"198.51.100.0", "documentation"},
      {"198.51.100.255", "documentation"},
      {"198.51.101.0", "allowed"},
      // 203.0.113.0/24
      {"203.0.112.255", "allowed"},
      {"203.0.113.0", "documentation"},
      {"203.0.113.255", "documentation"},
      {"203.0.114.0", "allowed"},
      // 224.0.0.0/4, 240.0.0.0/4, 255.255.255.255
      {"223.255.255.255", "allowed"},
      {"224.0.0.0", "multicast"},
      {"239.255.255.255", "multicast"},
      {"240.0.0.0", "reserved"},
      {"255.255.255.254", "reserved"},
      {"255.255.255.255", "broadcast"},
  };
  for (const auto& [address, expected] : cases) {
    INFO(address);
    CHECK(verdict(address) == expected);
  }
}

TEST_CASE("address vetting: public IPv4 and IPv6 addresses are allowed", "[unit]") {
  for (const char* address : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111",
                              "2a00:1450:4001:830::200e", "2001:200::1"}) {
    INFO(address);
    CHECK(verdict(address) == "allowed");
  }
}

TEST_CASE("address vetting: each refused IPv6 block is refused, embedded IPv4 judged by itself",
          "[unit]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"::2", "ipv4-compatible"},
      // fe80::/10, with the reserved space on both sides
      {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"},
      {"fe80::", "link-local"},
      {"fe80::1", "link-local"},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"},
      {"fec0::1", "reserved"},
      // fc00::/7
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"},
      {"fc00::", "unique-local"},
      {"fd12:3456:789a::1", "unique-local"},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local"},
      // ff00::/8
      {"ff00::", "multicast"},
      {"ff02::1", "multicast"},
      // ::ffff:0:0/96, refused whatever the IPv4 inside
      {"::ffff:127.0.0.1", "ipv4-mapped"},
      {"::ffff:8.8.8.8", "ipv4-mapped"},
      {"::ffff:0:0", "ipv4-mapped"},
      {"::fffe:ffff:ffff", "reserved"},
      // ::a.b.c.d (IPv4-compatible, deprecated)
      {"::8.8.8.8", "ipv4-compatible"},
      {"::127.0.0.1", "ipv4-compatible"},
      // 64:ff9b::/96 (NAT64): the IPv4 inside decides
      {"64:ff9b::8.8.8.8", "allowed"},
      {"64:ff9b::7f00:1", "loopback"},
      {"64:ff9b::10.0.0.1", "private"},
      {"64:ff9b::169.254.169.254", "link-local"},
      {"64:ff9b:1::1", "reserved"},
      // 2002::/16 (6to4): the IPv4 inside decides
      {"2002:808:808::1", "allowed"},
      {"2002:7f00:1::1", "loopback"},
      {"2002:a9fe:a9fe::", "link-local"},
      {"2002:c0a8:101::1", "private"},
      {"2002:6440::1", "cgnat"},
      // 2001:db8::/32 and its neighbours
      {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "allowed"},
      {"2001:db8::", "documentation"},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"},
      {"2001:db9::", "allowed"},
      // 2001::/23 (Teredo, benchmarking, ...)
      {"2001::1", "reserved"},
      {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"},
      // outside 2000::/3
      {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"},
      {"4000::1", "reserved"},
      {"2000::", "allowed"},
      {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "allowed"},
  };
  for (const auto& [address, expected] : cases) {
    INFO(address);
    CHECK(verdict(address) == expected);
  }
}

TEST_CASE("address vetting: only canonical numeric addresses are addresses", "[unit]") {
  for (const char* text :
       {"localhost", "example.com", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1", "01.2.3.4",
        "1.2.3.4.5", "", "[::1]", "fe80::1%eth0", "256.0.0.1"}) {
    INFO(text);
    CHECK(verdict(text) == "not-an-address");
  }
}

TEST_CASE("address vetting: socket addresses are judged like their text", "[unit]") {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
  CHECK(address_refusal(reinterpret_cast<const sockaddr*>(&v4)) == "loopback");
  inet_pton(AF_INET, "169.254.169.254", &v4.sin_addr);
  CHECK(address_refusal(reinterpret_cast<const sockaddr*>(&v4)) == "link-local");
  inet_pton(AF_INET, "93.184.216.34", &v4.sin_addr);
  CHECK(address_refusal(reinterpret_cast<const sockaddr*>(&v4)) == std::nullopt);

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:10.0.0.1", &v6.sin6_addr);
  CHECK(address_refusal(reinterpret_cast<const sockaddr*>(&v6)) == "ipv4-mapped");
  inet_pton(AF_INET6, "::1", &v6.sin6_addr);
  CHECK(address_refusal(reinterpret_cast<const sockaddr*>(&v6)) == "loopback");
  inet_pton(AF_INET6, "2606:4700:4700::1111", &v6.sin6_addr);
  CHECK(address_refusal(reinterpret_cast<const sockaddr*>(&v6)) == std::nullopt);

  sockaddr_un local{};
  local.sun_family = AF_UNIX;
  CHECK(address_refusal(reinterpret_cast<const sockaddr*>(&local)) == "not-an-address");
  CHECK(address_refusal(static_cast<const sockaddr*>(nullptr)) == "not-an-address");
}

TEST_CASE("vet_url: a public https URL passes, normalised, with what it resolved to", "[unit]") {
  const auto literal = vet_url("https://93.184.216.34/hooks?token=t", {});
  CHECK(literal.url == "https://93.184.216.34/hooks?token=t");
  CHECK(literal.scheme == "https");
  CHECK(literal.host == "93.184.216.34");
  CHECK(literal.port == 443);
  CHECK(literal.addresses == std::vector<std::string>{"93.184.216.34"});

  const auto v6 = vet_url("https://[2606:4700:4700:0:0:0:0:1111]:8443/", {});
  CHECK(v6.host == "[2606:4700:4700::1111]");
  CHECK(v6.port == 8443);
  CHECK(v6.addresses == std::vector<std::string>{"2606:4700:4700::1111"});

  const auto named = vet_url("HTTPS://Hooks.Merchant.EXAMPLE:8443/Path?q=1",
                             resolving("hooks.merchant.example:8443", {"93.184.216.34"}));
  CHECK(named.url == "https://hooks.merchant.example:8443/Path?q=1");
  CHECK(named.host == "hooks.merchant.example");
  CHECK(named.port == 8443);
  CHECK(named.addresses == std::vector<std::string>{"93.184.216.34"});
}

TEST_CASE("vet_url: http is refused unless allowed, and allow_private does not lift that",
          "[unit]") {
  CHECK(refusal("http://93.184.216.34/") == "http is not allowed, use https");
  AddressPolicy allow_private;
  allow_private.allow_private = true;
  CHECK(refusal("http://127.0.0.1/", allow_private) == "http is not allowed, use https");
  AddressPolicy allow_http;
  allow_http.allow_http = true;
  CHECK(refusal("http://93.184.216.34/", allow_http) == "accepted");
  CHECK(vet_url("http://93.184.216.34/", allow_http).port == 80);
  CHECK(refusal("ftp://93.184.216.34/") == "only https URLs are accepted");
  CHECK(refusal("ftp://93.184.216.34/", allow_http) == "only http and https URLs are accepted");
  CHECK(refusal("gopher://93.184.216.34/") == "only https URLs are accepted");
  CHECK(refusal("93.184.216.34/hook") == "the URL must be absolute (https://host/...)");
}

TEST_CASE("vet_url: user info, spaces, overlong and malformed URLs are refused", "[unit]") {
  for (const char* url : {"https://user:secret@93.184.216.34/", "https://user@93.184.216.34/",
                          "https://@93.184.216.34/", "https://93.184.216.34\\@10.0.0.1/"}) {
    INFO(url);
    CHECK(refusal(url) == "a user name or password in the URL is not allowed");
  }
  CHECK(refusal("https://93.184.216.34/a b") == "the URL contains spaces or control characters");
  CHECK(refusal("https://93.184.216.34/\r\nX: y") ==
        "the URL contains spaces or control characters");

  const std::string base = "https://93.184.216.34/";
  CHECK(refusal(base + std::string(2048 - base.size(), 'a')) == "accepted");
  CHECK(refusal(base + std::string(2049 - base.size(), 'a')) ==
        "the URL is longer than 2,048 bytes");

  CHECK(refusal("https://") == "the URL is malformed");
  CHECK(refusal("https:///hook") == "the URL has no host");
  CHECK(refusal("https://93.184.216.34:99999/") == "the URL is malformed");
  CHECK(refusal("https://93.184.216.34:0/") == "the port must be between 1 and 65535");
  CHECK(refusal("https://[fe80::1%25eth0]/") == "an IPv6 zone id is not allowed");
  CHECK(refusal("https://%31%32%37.0.0.1/") == "a percent-encoded host is not allowed");
  CHECK(contains(refusal("https://b\xc3\xbc"
                         "cher.example/"),
                 "ASCII"));
}

TEST_CASE("vet_url: decimal, hex, octal and short IPv4 spellings are refused", "[unit]") {
  AddressPolicy allow_private;
  allow_private.allow_private = true;
  // 0x5db8d822 is 93.184.216.34, a public address: the spelling alone is refused.
  for (const char* url :
       {"https://2130706433/", "https://0x7f.0.0.1/", "https://0177.0.0.1/", "https://127.1/",
        "https://0x7f000001/", "https://0x5db8d822/", "https://127.0.0.1./", "https://0/"}) {
    INFO(url);
    const std::string why = refusal(url);
    CHECK(contains(why, "non-canonical spelling"));
    CHECK(contains(why, "four decimal numbers"));
    CHECK(refusal(url, allow_private) == why);
  }
}

TEST_CASE("vet_url: a host that is or resolves to a refused address is refused", "[unit]") {
  AddressPolicy allow_http;
  allow_http.allow_http = true;
  CHECK(refusal("https://127.0.0.1/") == "the host is a loopback address");
  CHECK(refusal("https://169.254.169.254/latest/meta-data/") == "the host is a link-local address");
  CHECK(refusal("https://[::1]/") == "the host is a loopback address");
  CHECK(refusal("http://[::ffff:127.0.0.1]/", allow_http) ==
        "the host is an IPv4-mapped IPv6 address");
  CHECK(refusal("https://[::ffff:93.184.216.34]/") == "the host is an IPv4-mapped IPv6 address");
  CHECK(refusal("https://100.64.0.1/") == "the host is a shared (carrier-grade NAT) address");
  CHECK(refusal("https://0.0.0.0/") == "the host is an unspecified address");
  CHECK(refusal("https://[fd00::1]/") == "the host is a unique-local IPv6 address");

  CHECK(refusal("https://hooks.merchant.example/",
                resolving("hooks.merchant.example:443", {"10.0.0.1"})) ==
        "the host resolves to a private (RFC 1918) address");
  CHECK(refusal("https://hooks.merchant.example/",
                resolving("hooks.merchant.example:443", {"93.184.216.34"})) == "accepted");
  // Every address must pass, not just one.
  CHECK(refusal("https://hooks.merchant.example/",
                resolving("hooks.merchant.example:443", {"93.184.216.34", "[::1]"})) ==
        "the host resolves to a loopback address");
  // The entry is for one port: another port is not answered by it (and falls to "*").
  AddressPolicy wildcard = resolving("hooks.merchant.example:443", {"93.184.216.34"});
  wildcard.resolve["*:8443"] = {"192.168.1.1"};
  CHECK(refusal("https://hooks.merchant.example:8443/", wildcard) ==
        "the host resolves to a private (RFC 1918) address");
  CHECK(refusal("https://hooks.merchant.example/", resolving("hooks.merchant.example:443", {})) ==
        "the host resolves to no address");
  CHECK(refusal("https://hooks.merchant.example/",
                resolving("hooks.merchant.example:443", {"not-an-ip"})) ==
        "the configured resolve entry for the host is not an IP address");
}

TEST_CASE("vet_url: allow_private lifts the address refusals", "[unit]") {
  AddressPolicy policy = resolving("hooks.merchant.example:443", {"10.0.0.1"});
  policy.allow_private = true;
  CHECK(vet_url("https://hooks.merchant.example/", policy).addresses ==
        std::vector<std::string>{"10.0.0.1"});
  CHECK(refusal("https://127.0.0.1:8443/", policy) == "accepted");
  CHECK(refusal("https://[::ffff:127.0.0.1]/", policy) == "accepted");
  CHECK(refusal("https://169.254.169.254/", policy) == "accepted");
}
