#include <loyalty/core/error.hpp>
#include <loyalty/core/proxies.hpp>

#include <arpa/inet.h>

#include <cstring>
#include <optional>

namespace loyalty {

namespace {

struct Address {
  std::array<std::uint8_t, 16> bytes{};
  int family = 0;  ///< 4 or 6
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// A numeric address; IPv4-mapped IPv6 becomes IPv4. Brackets around IPv6 are accepted.
std::optional<Address> parse_address(std::string_view text) {
  text = trim(text);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string copy(text);
  Address a;
  if (inet_pton(AF_INET, copy.c_str(), a.bytes.data()) == 1) {
    a.family = 4;
    return a;
  }
  if (inet_pton(AF_INET6, copy.c_str(), a.bytes.data()) == 1) {
    static const std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.bytes.data(), kMapped, 12) == 0) {
      std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
      std::memset(a.bytes.data() + 4, 0, 12);
      a.family = 4;
    } else {
      a.family = 6;
    }
    return a;
  }
  return std::nullopt;
}

std::string to_text(const Address& a) {
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.bytes.data(), out, sizeof out);
  return out;
}

bool prefix_equal(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                  int bits) {
  int whole = bits / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<std::size_t>(whole)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

TrustedProxies TrustedProxies::parse(std::string_view list) {
  TrustedProxies proxies;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find_first_of(", \t", start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view entry = list.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    auto slash = entry.find('/');
    auto address = parse_address(entry.substr(0, slash));
    int max_bits = address ? (address->family == 4 ? 32 : 128) : 0;
    int prefix = max_bits;
    bool ok = address.has_value();
    if (ok && slash != std::string_view::npos) {
      std::string bits(entry.substr(slash + 1));
      ok = !bits.empty() && bits.size() <= 3 &&
           bits.find_first_not_of("0123456789") == std::string::npos;
      if (ok) prefix = std::stoi(bits);
      // An IPv4-mapped network (::ffff:10.0.0.0/104) counts as the IPv4 network inside it.
      if (ok && address->family == 4 && entry.find(':') != std::string_view::npos) prefix -= 96;
      ok = ok && prefix >= 0 && prefix <= max_bits;
    }
    if (!ok) {
      throw_invalid("--trusted-proxies: '" + std::string(entry) +
                    "' is not an IP address or CIDR network");
    }
    proxies.networks_.push_back({address->bytes, address->family, prefix});
  }
  return proxies;
}

bool TrustedProxies::contains(std::string_view text) const {
  auto address = parse_address(text);
  if (!address) return false;
  for (const auto& network : networks_) {
    if (network.family == address->family &&
        prefix_equal(network.bytes, address->bytes, network.prefix)) {
      return true;
    }
  }
  return false;
}

std::string TrustedProxies::client_address(std::string_view peer,
                                           const std::vector<std::string>& forwarded_for) const {
  auto peer_address = parse_address(peer);
  if (!peer_address) return std::string(peer);
  std::string client = to_text(*peer_address);
  if (networks_.empty() || !contains(client)) return client;

  std::vector<std::string_view> hops;
  for (const auto& field : forwarded_for) {
    std::string_view value = field;
    std::size_t start = 0;
    while (start <= value.size()) {
      auto end = value.find(',', start);
      if (end == std::string_view::npos) end = value.size();
      hops.push_back(trim(value.substr(start, end - start)));
      start = end + 1;
    }
  }
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    auto address = parse_address(*hop);
    if (!address) break;  // the trusted hop that wrote this is as far as the chain is believed
    client = to_text(*address);
    if (!contains(client)) break;
  }
  return client;
}

}  // namespace loyalty
