#include "outbound/curl_support.hpp"

#include <loyalty/core/error.hpp>

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>

namespace loyalty::outbound::detail {

namespace {

struct CurlUrlFree {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringFree {
  void operator()(char* text) const { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlStringFree>;

std::optional<std::string> get_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, flags) != CURLUE_OK || text == nullptr) return std::nullopt;
  CurlString owned(text);
  return std::string(owned.get());
}

}  // namespace

void ensure_curl() {
  // A function-local static is initialised exactly once even when threads race here; libcurl
  // is never cleaned up (it lives until the process exits, like the daemon's other globals).
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK) {
    throw Error(ErrorCode::internal, "internal",
                fmt::format("libcurl could not be initialised: {}", curl_easy_strerror(result)));
  }
}

std::optional<UrlParts> parse_url(std::string_view url) {
  std::unique_ptr<CURLU, CurlUrlFree> handle(curl_url());
  if (!handle) return std::nullopt;
  const std::string text(url);
  if (curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) return std::nullopt;
  auto scheme = get_part(handle.get(), CURLUPART_SCHEME);
  auto host = get_part(handle.get(), CURLUPART_HOST);
  auto port = get_part(handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port) return std::nullopt;
  UrlParts parts;
  parts.scheme = lower(*scheme);
  parts.host = *host;
  try {
    parts.port = std::stoi(*port);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  // Host names are not case-sensitive; libcurl keeps them as written.
  const std::string host_lower = lower(*host);
  if (curl_url_set(handle.get(), CURLUPART_HOST, host_lower.c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  auto whole = get_part(handle.get(), CURLUPART_URL);
  if (!whole) return std::nullopt;
  parts.url = *whole;
  return parts;
}

std::string origin(const UrlParts& parts) {
  return fmt::format("{}://{}:{}", parts.scheme, parts.host, parts.port);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace loyalty::outbound::detail
