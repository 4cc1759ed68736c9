#include <loyalty/outbound/address.hpp>

#include "outbound/curl_support.hpp"

#include <loyalty/core/error.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

namespace loyalty::outbound {

namespace {

using Ipv4 = std::array<std::uint8_t, 4>;
using Ipv6 = std::array<std::uint8_t, 16>;

constexpr std::size_t kMaxUrlBytes = 2048;
constexpr auto kLookupTimeout = std::chrono::seconds(5);

struct Range4 {
  std::uint32_t base;
  int bits;
  const char* reason;
};

constexpr std::uint32_t ip4(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

// IANA's special-purpose IPv4 registry, minus the blocks that are globally reachable. The first
// match wins, so the broadcast address comes before 240/4.
constexpr Range4 kRefused4[] = {
    {ip4(255, 255, 255, 255), 32, "broadcast"},
    {ip4(0, 0, 0, 0), 8, "unspecified"},
    {ip4(10, 0, 0, 0), 8, "private"},
    {ip4(100, 64, 0, 0), 10, "cgnat"},
    {ip4(127, 0, 0, 0), 8, "loopback"},
    {ip4(169, 254, 0, 0), 16, "link-local"},
    {ip4(172, 16, 0, 0), 12, "private"},
    {ip4(192, 0, 0, 0), 24, "reserved"},  // IETF protocol assignments
    {ip4(192, 0, 2, 0), 24, "documentation"},
    {ip4(192, 168, 0, 0), 16, "private"},
    {ip4(198, 18, 0, 0), 15, "benchmarking"},
    {ip4(198, 51, 100, 0), 24, "documentation"},
    {ip4(203, 0, 113, 0), 24, "documentation"},
    {ip4(224, 0, 0, 0), 4, "multicast"},
    {ip4(240, 0, 0, 0), 4, "reserved"},
};

std::optional<std::string> refusal4(const Ipv4& a) {
  const std::uint32_t value = ip4(a[0], a[1], a[2], a[3]);
  for (const auto& range : kRefused4) {
    const std::uint32_t mask = range.bits == 0 ? 0 : ~std::uint32_t{0} << (32 - range.bits);
    if ((value & mask) == range.base) return std::string(range.reason);
  }
  return std::nullopt;
}

bool zero(const Ipv6& a, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (a[i] != 0) return false;
  }
  return true;
}

Ipv4 ipv4_at(const Ipv6& a, std::size_t offset) {
  return {a[offset], a[offset + 1], a[offset + 2], a[offset + 3]};
}

std::optional<std::string> refusal6(const Ipv6& a) {
  if (zero(a, 0, 16)) return "unspecified";
  if (zero(a, 0, 15) && a[15] == 1) return "loopback";
  // ::ffff:a.b.c.d reaches the IPv4 address on a dual-stack socket; there is no reason for a
  // destination to be written that way, so it is refused whatever the IPv4 inside.
  if (zero(a, 0, 10) && a[10] == 0xff && a[11] == 0xff) return "ipv4-mapped";
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 destination: judged by it.
  if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) {
    if (zero(a, 4, 12)) return refusal4(ipv4_at(a, 12));
    return "reserved";  // 64:ff9b:1::/48, local-use translation (RFC 8215)
  }
  if (zero(a, 0, 12)) return "ipv4-compatible";  // ::a.b.c.d, deprecated (RFC 4291)
  if ((a[0] & 0xe0) != 0x20) {
    // Outside 2000::/3, the only global unicast space allocated.
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return "link-local";
    if ((a[0] & 0xfe) == 0xfc) return "unique-local";
    if (a[0] == 0xff) return "multicast";
    return "reserved";  // ::/8 rest, 100::/64 discard, fec0::/10 site-local, ...
  }
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return "documentation";
  if (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0) return "documentation";  // 3fff::/20
  if (a[0] == 0x20 && a[1] == 0x02) return refusal4(ipv4_at(a, 2));
  // 2001::/23, IETF protocol assignments: Teredo, benchmarking, ORCHID, ...
  if (a[0] == 0x20 && a[1] == 0x01 && (a[2] & 0xfe) == 0) return "reserved";
  return std::nullopt;
}

std::optional<Ipv4> parse4(const std::string& text) {
  Ipv4 bytes{};
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) != 1) return std::nullopt;
  return bytes;
}

std::optional<Ipv6> parse6(const std::string& text) {
  Ipv6 bytes{};
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) return std::nullopt;
  return bytes;
}

/// The address's canonical text, or std::nullopt when `text` is not a canonical IP literal.
std::optional<std::string> canonical_address(const std::string& text) {
  char out[INET6_ADDRSTRLEN] = {};
  if (auto v4 = parse4(text)) {
    if (inet_ntop(AF_INET, v4->data(), out, sizeof out) == nullptr) return std::nullopt;
    return std::string(out);
  }
  if (auto v6 = parse6(text)) {
    if (inet_ntop(AF_INET6, v6->data(), out, sizeof out) == nullptr) return std::nullopt;
    return std::string(out);
  }
  return std::nullopt;
}

[[noreturn]] void refuse(const std::string& message) {
  throw Error(ErrorCode::invalid, "webhook-url-refused", message, {{"/url", message}});
}

std::string describe(const std::string& reason) {
  if (reason == "loopback") return "a loopback address";
  if (reason == "private") return "a private (RFC 1918) address";
  if (reason == "link-local") return "a link-local address";
  if (reason == "cgnat") return "a shared (carrier-grade NAT) address";
  if (reason == "unspecified") return "an unspecified address";
  if (reason == "multicast") return "a multicast address";
  if (reason == "broadcast") return "the broadcast address";
  if (reason == "unique-local") return "a unique-local IPv6 address";
  if (reason == "ipv4-mapped") return "an IPv4-mapped IPv6 address";
  if (reason == "ipv4-compatible") return "an IPv4-compatible IPv6 address";
  if (reason == "documentation") return "a documentation address";
  if (reason == "benchmarking") return "a benchmarking address";
  return "a reserved address";
}

// getaddrinfo cannot be given a deadline, so it runs on a thread of its own that is left to
// finish alone when the deadline passes (the resolver's own timeouts end it).
std::vector<std::string> lookup(const std::string& host) {
  struct State {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    int status = 0;
    std::vector<std::string> addresses;
  };
  auto state = std::make_shared<State>();
  std::thread resolver;
  try {
    resolver = std::thread([state, host] {
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* found = nullptr;
      const int status = getaddrinfo(host.c_str(), nullptr, &hints, &found);
      std::vector<std::string> addresses;
      for (const addrinfo* at = found; status == 0 && at != nullptr; at = at->ai_next) {
        if (auto refusal = address_refusal(at->ai_addr); refusal && *refusal == "not-an-address") {
          continue;
        }
        char text[INET6_ADDRSTRLEN] = {};
        const void* raw = at->ai_family == AF_INET
                              ? static_cast<const void*>(
                                    &reinterpret_cast<const sockaddr_in*>(at->ai_addr)->sin_addr)
                              : static_cast<const void*>(
                                    &reinterpret_cast<const sockaddr_in6*>(at->ai_addr)->sin6_addr);
        if (inet_ntop(at->ai_family, raw, text, sizeof text) == nullptr) continue;
        if (std::find(addresses.begin(), addresses.end(), text) == addresses.end()) {
          addresses.emplace_back(text);
        }
      }
      if (found != nullptr) freeaddrinfo(found);
      std::lock_guard lock(state->mutex);
      state->status = status;
      state->addresses = std::move(addresses);
      state->done = true;
      state->done_cv.notify_all();
    });
  } catch (const std::system_error&) {
    throw Error(ErrorCode::unavailable, "unavailable", "no thread to resolve the host with");
  }
  resolver.detach();

  std::unique_lock lock(state->mutex);
  if (!state->done_cv.wait_for(lock, kLookupTimeout, [&] { return state->done; })) {
    refuse("the host could not be resolved within 5 s");
  }
  if (state->status == EAI_NONAME || state->status == EAI_NODATA) {
    refuse("the host name does not resolve");
  }
  if (state->status != 0) {
    refuse(std::string("the host could not be resolved: ") + gai_strerror(state->status));
  }
  return state->addresses;
}

/// policy.resolve's answer for host:port (names compared without regard to case, "*:port" as
/// the fallback, as curl's --resolve does), or std::nullopt when it has none.
std::optional<std::vector<std::string>> fixed_answer(const AddressPolicy& policy,
                                                     const std::string& host, int port) {
  const std::string key = host + ":" + std::to_string(port);
  const std::string wildcard = "*:" + std::to_string(port);
  const std::vector<std::string>* fallback = nullptr;
  for (const auto& [name, addresses] : policy.resolve) {
    if (detail::lower(name) == key) return addresses;
    if (name == wildcard) fallback = &addresses;
  }
  if (fallback != nullptr) return *fallback;
  return std::nullopt;
}

bool is_ipv4_spelling(const std::string& host) {
  // inet_aton is the parser that accepts every historical spelling: 2130706433, 0x7f.1, 0177.1.
  in_addr ignored{};
  return inet_aton(host.c_str(), &ignored) == 1;
}

/// The host exactly as written between "://" (after user info) and the port, path, query or
/// fragment; libcurl's URL API rewrites IPv4 spellings (2130706433 comes back as 127.0.0.1),
/// so the spelling rule must look at the original.
std::string written_host(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return std::string(
        authority.substr(0, close == std::string_view::npos ? authority.size() : close + 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

}  // namespace

std::optional<std::string> address_refusal(std::string_view address) {
  const std::string text(address);
  if (text.find(':') == std::string::npos) {
    if (auto v4 = parse4(text)) return refusal4(*v4);
  } else if (auto v6 = parse6(text)) {
    return refusal6(*v6);
  }
  return "not-an-address";
}

std::optional<std::string> address_refusal(const sockaddr* address) {
  if (address == nullptr) return "not-an-address";
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    Ipv4 bytes{};
    std::memcpy(bytes.data(), &in->sin_addr, bytes.size());
    return refusal4(bytes);
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    Ipv6 bytes{};
    std::memcpy(bytes.data(), &in6->sin6_addr, bytes.size());
    return refusal6(bytes);
  }
  return "not-an-address";
}

VettedUrl vet_url(std::string_view url, const AddressPolicy& policy) {
  if (url.size() > kMaxUrlBytes) refuse("the URL is longer than 2,048 bytes");
  for (const char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) refuse("the URL contains spaces or control characters");
  }

  // The scheme first, in our words rather than libcurl's.
  const auto separator = url.find("://");
  if (separator == std::string_view::npos) refuse("the URL must be absolute (https://host/...)");
  const std::string scheme = detail::lower(url.substr(0, separator));
  if (scheme == "http") {
    if (!policy.allow_http) refuse("http is not allowed, use https");
  } else if (scheme != "https") {
    refuse(policy.allow_http ? "only http and https URLs are accepted"
                             : "only https URLs are accepted");
  }

  const auto rest = url.substr(separator + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    refuse("a user name or password in the URL is not allowed");
  }

  detail::ensure_curl();
  const auto parts = detail::parse_url(url);
  if (!parts) refuse("the URL is malformed");
  if (parts->port <= 0 || parts->port > 65535) refuse("the port must be between 1 and 65535");

  const std::string written = detail::lower(written_host(authority));
  const std::string parsed = detail::lower(parts->host);
  if (written.empty()) refuse("the URL has no host");

  std::optional<std::string> literal;  // the canonical address when the host is one
  if (written.front() == '[') {
    if (written.find('%') != std::string::npos) refuse("an IPv6 zone id is not allowed");
    if (parsed.size() < 2 || parsed.front() != '[' || parsed.back() != ']') {
      refuse("the URL is malformed");
    }
    literal = canonical_address(parsed.substr(1, parsed.size() - 2));
    if (!literal) refuse("the host is not a valid IPv6 address");
  } else {
    for (const char c : written) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        refuse("the host must be written in ASCII (an international name in its xn-- form)");
      }
    }
    if (written.find('%') != std::string::npos) refuse("a percent-encoded host is not allowed");
    const bool trailing_dot = written.size() > 1 && written.back() == '.';
    const std::string bare = trailing_dot ? written.substr(0, written.size() - 1) : written;
    if (parse4(bare) && !trailing_dot) {
      literal = canonical_address(bare);
    } else if (parse4(bare) || is_ipv4_spelling(bare)) {
      refuse(
          "the host is an IPv4 address in a non-canonical spelling (decimal, octal, hex or a short "
          "form such as 2130706433, 0177.0.0.1, 0x7f.0.0.1 or 127.1): write it as four decimal "
          "numbers");
    } else if (written != parsed) {
      refuse("the host is not written in canonical form");
    }
  }

  VettedUrl vetted;
  vetted.scheme = parts->scheme;
  vetted.host = parsed;
  vetted.port = parts->port;

  if (literal) {
    vetted.addresses = {*literal};
  } else if (auto fixed = fixed_answer(policy, parsed, parts->port)) {
    for (std::string address : *fixed) {
      if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
        address = address.substr(1, address.size() - 2);
      }
      auto canonical = canonical_address(address);
      if (!canonical) refuse("the configured resolve entry for the host is not an IP address");
      vetted.addresses.push_back(*canonical);
    }
  } else {
    vetted.addresses = lookup(parsed);
  }
  if (vetted.addresses.empty()) refuse("the host resolves to no address");

  if (!policy.allow_private) {
    for (const auto& address : vetted.addresses) {
      if (auto refusal = address_refusal(address)) {
        refuse((literal ? "the host is " : "the host resolves to ") + describe(*refusal));
      }
    }
  }

  vetted.url = parts->url;
  return vetted;
}

}  // namespace loyalty::outbound
