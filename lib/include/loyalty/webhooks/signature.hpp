#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Standard Webhooks (standardwebhooks.com, v1.0.0) symmetric signatures for outbound webhooks.
///
/// A message is sent with `webhook-id`, `webhook-timestamp` (unix seconds of the attempt) and
/// `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>`
/// entries, one per secret, where the key is the base64-decoded part of `whsec_<base64>`.
/// Receivers can verify with any Standard Webhooks library.
namespace loyalty::webhooks {

inline constexpr std::string_view kWebhookIdHeader = "webhook-id";
inline constexpr std::string_view kWebhookTimestampHeader = "webhook-timestamp";
inline constexpr std::string_view kWebhookSignatureHeader = "webhook-signature";

/// The prefix of a serialised secret.
inline constexpr std::string_view kWebhookSecretPrefix = "whsec_";

/// How far a message's timestamp may be from the receiver's clock, either way (the value every
/// reference library uses).
inline constexpr std::chrono::seconds kWebhookTolerance{300};

/// Generates a new endpoint secret, "whsec_" + base64 of 32 random bytes. Thread-safe.
std::string generate_webhook_secret();

/// The HMAC key inside a secret: base64 (padded or not, as the reference libraries accept) after
/// an optional "whsec_" prefix; std::nullopt if it does not decode to at least one byte.
std::optional<std::string> decode_webhook_secret(std::string_view secret);

/// Returns one signature entry, "v1,<base64>", for a message. Throws Error(invalid) when the
/// secret does not decode, the id is empty or contains '.', or the timestamp is negative.
std::string sign_webhook(std::string_view secret, std::string_view msg_id, std::int64_t timestamp,
                         std::string_view body);

/// The three header values of one delivery attempt.
struct WebhookHeaders {
  std::string id;         ///< webhook-id
  std::string timestamp;  ///< webhook-timestamp
  std::string signature;  ///< webhook-signature
};

/// Builds the headers for an attempt at time `now`, signing with every secret given (several
/// while an endpoint's secret is being rotated). Throws as sign_webhook() does, or
/// Error(invalid) when `secrets` is empty.
WebhookHeaders webhook_headers(const std::vector<std::string>& secrets, std::string_view msg_id,
                               std::chrono::sys_seconds now, std::string_view body);

/// The outcome of verify_webhook().
enum class WebhookCheck {
  ok,
  malformed,        ///< a header is missing, the timestamp is not an integer, the secret is bad
  stale_timestamp,  ///< more than kWebhookTolerance from `now`, either way
  bad_signature,    ///< no `v1` entry matches (entries of other versions are ignored)
};

/// A short name for a check result ("bad_signature"), for logs.
std::string_view to_string(WebhookCheck check) noexcept;

/// Verifies a received message as a Standard Webhooks receiver would: timestamp within
/// kWebhookTolerance of `now`, then any `v1` entry of the space-separated `signature_header`
/// matching (constant-time). Never throws on hostile input. Thread-safe.
WebhookCheck verify_webhook(std::string_view secret, std::string_view msg_id,
                            std::string_view timestamp_header, std::string_view signature_header,
                            std::string_view body, std::chrono::sys_seconds now);

}  // namespace loyalty::webhooks
