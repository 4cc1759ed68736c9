#include <loyalty/webhooks/signature.hpp>

#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>

namespace loyalty::webhooks {
namespace {

constexpr std::size_t kGeneratedSecretBytes = 32;
constexpr std::size_t kMaxTimestampDigits = 12;

std::string signed_content(std::string_view msg_id, std::string_view timestamp,
                           std::string_view body) {
  std::string content;
  content.reserve(msg_id.size() + timestamp.size() + body.size() + 2);
  content.append(msg_id).append(".").append(timestamp).append(".").append(body);
  return content;
}

// Reference libraries parse the header as a (possibly signed) integer; anything else is
// malformed, which also keeps '.' out of the signed content.
std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > kMaxTimestampDigits) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

}  // namespace

std::string generate_webhook_secret() {
  return std::string(kWebhookSecretPrefix) +
         crypto::base64_encode(crypto::random_bytes(kGeneratedSecretBytes));
}

std::optional<std::string> decode_webhook_secret(std::string_view secret) {
  if (secret.substr(0, kWebhookSecretPrefix.size()) == kWebhookSecretPrefix) {
    secret.remove_prefix(kWebhookSecretPrefix.size());
  }
  auto key = crypto::base64_decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string sign_webhook(std::string_view secret, std::string_view msg_id, std::int64_t timestamp,
                         std::string_view body) {
  const auto key = decode_webhook_secret(secret);
  if (!key) throw_invalid("webhook secret is not whsec_ followed by base64");
  if (msg_id.empty() || msg_id.find('.') != std::string_view::npos) {
    throw_invalid("webhook id must be non-empty and must not contain '.'");
  }
  if (timestamp < 0) throw_invalid("webhook timestamp must not be negative");
  const std::string content = signed_content(msg_id, std::to_string(timestamp), body);
  return "v1," + crypto::base64_encode(crypto::hmac_sha256(*key, content));
}

WebhookHeaders webhook_headers(const std::vector<std::string>& secrets, std::string_view msg_id,
                               std::chrono::sys_seconds now, std::string_view body) {
  if (secrets.empty()) throw_invalid("a webhook needs at least one signing secret");
  const std::int64_t timestamp = now.time_since_epoch().count();
  std::string signature;
  for (const auto& secret : secrets) {
    if (!signature.empty()) signature.push_back(' ');
    signature.append(sign_webhook(secret, msg_id, timestamp, body));
  }
  return WebhookHeaders{std::string(msg_id), std::to_string(timestamp), std::move(signature)};
}

std::string_view to_string(WebhookCheck check) noexcept {
  switch (check) {
    case WebhookCheck::ok:
      return "ok";
    case WebhookCheck::malformed:
      return "malformed";
    case WebhookCheck::stale_timestamp:
      return "stale_timestamp";
    case WebhookCheck::bad_signature:
      return "bad_signature";
  }
  return "malformed";
}

WebhookCheck verify_webhook(std::string_view secret, std::string_view msg_id,
                            std::string_view timestamp_header, std::string_view signature_header,
                            std::string_view body, std::chrono::sys_seconds now) {
  const auto key = decode_webhook_secret(secret);
  const auto timestamp = parse_timestamp(timestamp_header);
  if (!key || msg_id.empty() || !timestamp || signature_header.empty()) {
    return WebhookCheck::malformed;
  }
  const std::int64_t now_s = now.time_since_epoch().count();
  const std::int64_t tolerance = kWebhookTolerance.count();
  if (*timestamp < now_s - tolerance || *timestamp > now_s + tolerance) {
    return WebhookCheck::stale_timestamp;
  }
  // Like the reference libraries, sign the timestamp as parsed, not as written.
  const std::string expected =
      crypto::hmac_sha256(*key, signed_content(msg_id, std::to_string(*timestamp), body));
  bool matched = false;
  std::size_t start = 0;
  while (start <= signature_header.size()) {
    std::size_t end = signature_header.find(' ', start);
    if (end == std::string_view::npos) end = signature_header.size();
    const std::string_view entry = signature_header.substr(start, end - start);
    start = end + 1;
    const std::size_t comma = entry.find(',');
    if (comma == std::string_view::npos || entry.substr(0, comma) != "v1") continue;
    const auto presented = crypto::base64_decode(entry.substr(comma + 1));
    // Keep comparing after a match so timing does not reveal which entry matched.
    if (presented && crypto::constant_time_equals(*presented, expected)) matched = true;
  }
  return matched ? WebhookCheck::ok : WebhookCheck::bad_signature;
}

}  // namespace loyalty::webhooks
