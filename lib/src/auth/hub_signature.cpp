#include <loyalty/auth/hub_signature.hpp>

#include <loyalty/core/crypto.hpp>

namespace loyalty::auth {
namespace {

constexpr std::string_view kPrefix = "sha256=";
constexpr std::size_t kHexLength = 64;

}  // namespace

std::string compute_hub_signature(std::string_view app_secret, std::string_view raw_body) {
  return std::string(kPrefix) + crypto::hex_encode(crypto::hmac_sha256(app_secret, raw_body));
}

bool verify_hub_signature(std::string_view app_secret, std::string_view raw_body,
                          std::string_view header_value) noexcept {
  // An unset secret must not turn into "any body signed with the empty key passes".
  if (app_secret.empty()) return false;
  if (header_value.size() != kPrefix.size() + kHexLength ||
      header_value.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  try {
    const auto presented = crypto::hex_decode(header_value.substr(kPrefix.size()));
    if (!presented) return false;
    return crypto::constant_time_equals(*presented, crypto::hmac_sha256(app_secret, raw_body));
  } catch (...) {
    // Allocation or OpenSSL failure: refuse rather than terminate the server.
    return false;
  }
}

}  // namespace loyalty::auth
