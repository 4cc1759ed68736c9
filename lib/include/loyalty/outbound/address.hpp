#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

/// Which hosts the daemon may send outbound requests to (webhooks, the WhatsApp Graph API):
/// protection against server-side request forgery, where a tenant's URL aims the daemon at the
/// operator's own network.
namespace loyalty::outbound {

/// What the operator allows.
struct AddressPolicy {
  /// `http://` URLs as well as `https://` (--allow-http-webhooks).
  bool allow_http = false;
  /// Private, loopback and link-local destinations (--allow-private-webhooks): for tests and
  /// closed networks.
  bool allow_private = false;
  /// Fixed answers for host names, "host:port" -> addresses, used instead of DNS both when a URL
  /// is vetted and when it is sent to (like curl's --resolve; --outbound-resolve).
  std::map<std::string, std::vector<std::string>> resolve;
};

/// Why an address may not be reached, or std::nullopt when it may: "loopback", "private"
/// (RFC 1918), "link-local" (169.254/16 with 169.254.169.254, fe80::/10), "cgnat"
/// (100.64.0.0/10), "unspecified" (0.0.0.0, ::), "multicast", "broadcast", "reserved",
/// "unique-local" (fc00::/7), "ipv4-mapped" (::ffff:0:0/96, judged by the IPv4 inside it and
/// refused outright), "documentation", ... `address` is a numeric IPv4 or IPv6 address in
/// canonical form; anything else is "not-an-address".
std::optional<std::string> address_refusal(std::string_view address);

/// The same for a socket address (the one a connection is about to be made to).
std::optional<std::string> address_refusal(const sockaddr* address);

/// A URL that passed vetting.
struct VettedUrl {
  std::string url;                     ///< normalised (scheme and host lower case)
  std::string scheme;                  ///< "https" or "http"
  std::string host;                    ///< a name or a bracketed IPv6 literal, lower case
  int port = 0;                        ///< explicit or the scheme's default
  std::vector<std::string> addresses;  ///< what the host resolved to, all allowed
};

/// Parses and vets `url`: an absolute http(s) URL without user info, at most 2,048 bytes, whose
/// host is a name or a canonical IP literal (decimal, octal or hex spellings of IPv4 such as
/// 2130706433 or 0x7f.1 are refused), that resolves (through policy.resolve, else DNS, bounded
/// to a few seconds) only to allowed addresses. Throws Error(invalid, "webhook-url-refused") with
/// a message that says why ("http is not allowed", "the host resolves to a loopback address",
/// ...), field pointer "/url".
VettedUrl vet_url(std::string_view url, const AddressPolicy& policy);

}  // namespace loyalty::outbound
