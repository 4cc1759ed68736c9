#pragma once

#include <string>
#include <string_view>

/// The `X-Hub-Signature-256` header Meta sends with WhatsApp Business Cloud API webhooks:
/// "sha256=" + hex(HMAC-SHA256(app secret, raw body)).
namespace loyalty::auth {

inline constexpr std::string_view kHubSignatureHeader = "X-Hub-Signature-256";

/// Computes the header value for a raw body, as Meta does (and tests and fakes need).
std::string compute_hub_signature(std::string_view app_secret, std::string_view raw_body);

/// True when `header_value` is "sha256=<hex>" and matches the HMAC of exactly these body bytes
/// (constant-time comparison; hex of either case). False for an empty secret, a missing or
/// malformed header, or a mismatch. Thread-safe; never throws on hostile input.
bool verify_hub_signature(std::string_view app_secret, std::string_view raw_body,
                          std::string_view header_value) noexcept;

}  // namespace loyalty::auth
