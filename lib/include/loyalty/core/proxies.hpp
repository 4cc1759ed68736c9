#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

/// The client address of a request that came through reverse proxies.
namespace loyalty {

/// The reverse proxies whose X-Forwarded-For the daemon believes (--trusted-proxies): a set of
/// IPv4 and IPv6 networks. An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4
/// address inside it. Immutable once parsed, so safe to share between threads.
class TrustedProxies {
 public:
  TrustedProxies() = default;

  /// Parses a comma- or space-separated list of addresses and CIDR networks, e.g.
  /// "127.0.0.1, 10.0.0.0/8, fd00::/8". An empty list trusts no proxy. Throws Error(invalid)
  /// naming the first entry that is not an address or network.
  static TrustedProxies parse(std::string_view list);

  bool empty() const { return networks_.empty(); }
  /// Whether `address` (numeric IPv4 or IPv6) lies in one of the networks.
  bool contains(std::string_view address) const;

  /// The address of the client that sent a request which reached the daemon from `peer`, with
  /// `forwarded_for` the values of its X-Forwarded-For header fields in order. When `peer` is
  /// not a trusted proxy, the header is ignored and `peer` is the client (a client cannot choose
  /// its own address by sending the header). Otherwise the hops are walked from the right: the
  /// first that is not a trusted proxy is the client; an entry that is not an address ends the
  /// walk at the hop that wrote it (the last trusted one); when every hop is trusted, the
  /// leftmost is the client. The answer is in canonical text form (inet_ntop).
  std::string client_address(std::string_view peer,
                             const std::vector<std::string>& forwarded_for) const;

 private:
  struct Network {
    std::array<std::uint8_t, 16> bytes{};  ///< IPv4 in the first 4 bytes
    int family = 0;                        ///< 4 or 6
    int prefix = 0;                        ///< bits
  };
  std::vector<Network> networks_;
};

}  // namespace loyalty
