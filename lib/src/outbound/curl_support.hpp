#pragma once
// What address.cpp and http_client.cpp share about libcurl: its one-time initialisation and
// reading a URL with its URL API, so both see a URL exactly as the transfer will.

#include <optional>
#include <string>
#include <string_view>

namespace loyalty::outbound::detail {

/// curl_global_init, once per process, safe to call from any thread. Throws Error(internal) if
/// libcurl cannot be initialised.
void ensure_curl();

/// A URL as libcurl's URL API reads it (any scheme libcurl supports).
struct UrlParts {
  std::string scheme;  ///< lower case
  std::string host;    ///< as libcurl returns it: a name, a dotted IPv4, or a bracketed IPv6
  int port = 0;        ///< explicit or the scheme's default
  std::string url;     ///< libcurl's rendering of the whole URL, host in lower case
};

/// std::nullopt when libcurl cannot parse `url` as an absolute URL.
std::optional<UrlParts> parse_url(std::string_view url);

/// "scheme://host:port", the only part of a URL that may be logged (paths and query strings
/// can carry tokens).
std::string origin(const UrlParts& parts);

/// ASCII lower case.
std::string lower(std::string_view text);

}  // namespace loyalty::outbound::detail
