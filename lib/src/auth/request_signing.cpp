#include <loyalty/auth/request_signing.hpp>

#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/uuid.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <unordered_set>
#include <utility>

namespace loyalty::auth {
namespace {

constexpr std::string_view kSignatureVersion = "v1=";
// Twelve digits reach the year 33658; longer texts are not timestamps we could accept.
constexpr std::size_t kMaxTimestampDigits = 12;
constexpr std::size_t kMaxKeyIdLength = 128;

std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  if (text.empty() || text.size() > kMaxTimestampDigits) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// The raw HMAC behind an X-Loyalty-Signature value.
std::string request_mac(std::string_view secret, std::string_view method, std::string_view target,
                        std::string_view timestamp, std::string_view body) {
  std::string message;
  message.reserve(method.size() + target.size() + timestamp.size() + 67);
  message.append(method).append("\n").append(target).append("\n").append(timestamp).append("\n");
  message.append(crypto::sha256_hex(body));
  return crypto::hmac_sha256(secret, message);
}

}  // namespace

HmacKeyring::HmacKeyring(std::map<std::string, HmacKey> keys) {
  for (auto& [key_id, key] : keys) {
    if (key_id.empty()) throw_invalid("HMAC keyring has an empty key id");
    if (key.secret.size() < kMinHmacSecretBytes) {
      throw_invalid("HMAC secret for key id '" + key_id + "' is " +
                    std::to_string(key.secret.size()) + " bytes; at least " +
                    std::to_string(kMinHmacSecretBytes) + " random bytes are required");
    }
    if (key.platform == !key.tenant_id.empty()) {
      throw_invalid("HMAC key '" + key_id +
                    "' must be bound either to one tenant (\"tenant_id\") or to the platform "
                    "(\"platform\": true), not " +
                    (key.platform ? "both" : "neither"));
    }
    if (!key.platform && !is_uuid(key.tenant_id)) {
      throw_invalid("HMAC key '" + key_id + "' has a tenant_id that is not a uuid");
    }
    // Paths carry tenant ids in PostgreSQL's lower-case form.
    for (auto& c : key.tenant_id)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    keys_.emplace(key_id, std::move(key));
  }
}

HmacKeyring HmacKeyring::from_json(std::string_view keys_json) {
  if (keys_json.find_first_not_of(" \t\r\n") == std::string_view::npos) return HmacKeyring();
  const auto parsed = nlohmann::json::parse(keys_json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    throw_invalid(
        "HMAC_KEYS_JSON must be a JSON object of key id to key, e.g. "
        "{\"erp\":{\"secret\":\"...\",\"tenant_id\":\"<tenant uuid>\"}}");
  }
  std::map<std::string, HmacKey> keys;
  for (const auto& [key_id, value] : parsed.items()) {
    const std::string shape =
        "HMAC key '" + key_id +
        "' must be an object {\"secret\": \"...\", \"tenant_id\": \"<tenant uuid>\"} or, for a "
        "key that may sign for every tenant, {\"secret\": \"...\", \"platform\": true}";
    if (value.is_string()) {
      throw_invalid(shape +
                    "; a bare secret says neither which tenant it is for nor that it is "
                    "platform-wide");
    }
    if (!value.is_object()) throw_invalid(shape);
    HmacKey key;
    for (const auto& [field, field_value] : value.items()) {
      if (field == "secret" && field_value.is_string()) {
        key.secret = field_value.get<std::string>();
      } else if (field == "tenant_id" && field_value.is_string()) {
        key.tenant_id = field_value.get<std::string>();
      } else if (field == "platform" && field_value.is_boolean()) {
        key.platform = field_value.get<bool>();
      } else {
        throw_invalid(shape + " (field '" + field + "' is unknown or of the wrong type)");
      }
    }
    if (!value.contains("secret")) throw_invalid(shape + " (no secret)");
    keys.emplace(key_id, std::move(key));
  }
  return HmacKeyring(std::move(keys));
}

std::vector<std::string> HmacKeyring::key_ids() const {
  std::vector<std::string> out;
  out.reserve(keys_.size());
  for (const auto& entry : keys_) out.push_back(entry.first);
  return out;
}

const HmacKey* HmacKeyring::find(std::string_view key_id) const noexcept {
  const auto it = keys_.find(key_id);
  return it == keys_.end() ? nullptr : &it->second;
}

std::string compute_request_signature(std::string_view secret, std::string_view method,
                                      std::string_view target, std::string_view timestamp,
                                      std::string_view body) {
  return std::string(kSignatureVersion) +
         crypto::hex_encode(request_mac(secret, method, target, timestamp, body));
}

SignedRequest sign_request(std::string_view key_id, std::string_view secret,
                           std::string_view method, std::string_view target, std::string_view body,
                           std::chrono::sys_seconds now) {
  std::string timestamp = std::to_string(now.time_since_epoch().count());
  std::string signature = compute_request_signature(secret, method, target, timestamp, body);
  return SignedRequest{std::string(key_id), std::move(timestamp), std::move(signature)};
}

std::string_view to_string(RequestCheck check) noexcept {
  switch (check) {
    case RequestCheck::ok:
      return "ok";
    case RequestCheck::malformed:
      return "malformed";
    case RequestCheck::unknown_key:
      return "unknown_key";
    case RequestCheck::stale_timestamp:
      return "stale_timestamp";
    case RequestCheck::bad_signature:
      return "bad_signature";
    case RequestCheck::replayed:
      return "replayed";
    case RequestCheck::replay_cache_full:
      return "replay_cache_full";
  }
  return "malformed";
}

// Seen signatures with the time after which they can no longer pass the timestamp check.
struct RequestVerifier::ReplayCache {
  using Entry = std::pair<std::int64_t, std::string>;  // (forget after, key id + raw signature)

  explicit ReplayCache(std::size_t capacity) : capacity(capacity) {}

  void forget_expired(std::int64_t now) {
    while (!by_expiry.empty() && by_expiry.top().first < now) {
      seen.erase(by_expiry.top().second);
      by_expiry.pop();
    }
  }

  std::size_t capacity;
  mutable std::mutex mutex;
  std::unordered_set<std::string> seen;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> by_expiry;
};

RequestVerifier::RequestVerifier(HmacKeyring keyring, std::size_t capacity)
    : keyring_(std::move(keyring)), cache_(std::make_unique<ReplayCache>(capacity)) {}

RequestVerifier::~RequestVerifier() = default;

RequestCheck RequestVerifier::verify(const SignedRequest& presented, std::string_view method,
                                     std::string_view target, std::string_view body,
                                     std::chrono::sys_seconds now) {
  if (presented.key_id.empty() || presented.key_id.size() > kMaxKeyIdLength) {
    return RequestCheck::malformed;
  }
  const auto timestamp = parse_timestamp(presented.timestamp);
  const std::string_view signature_text = presented.signature;
  if (!timestamp || signature_text.substr(0, kSignatureVersion.size()) != kSignatureVersion) {
    return RequestCheck::malformed;
  }
  const auto signature = crypto::hex_decode(signature_text.substr(kSignatureVersion.size()));
  if (!signature || signature->size() != 32) return RequestCheck::malformed;

  const HmacKey* key = keyring_.find(presented.key_id);
  if (key == nullptr) return RequestCheck::unknown_key;

  const std::int64_t now_s = now.time_since_epoch().count();
  const std::int64_t tolerance = kRequestTimestampTolerance.count();
  if (*timestamp < now_s - tolerance || *timestamp > now_s + tolerance) {
    return RequestCheck::stale_timestamp;
  }

  const std::string expected = request_mac(key->secret, method, target, presented.timestamp, body);
  if (!crypto::constant_time_equals(*signature, expected)) {
    return RequestCheck::bad_signature;
  }

  // Keyed by the decoded bytes so a change of hex case is not a fresh signature; only
  // authenticated requests get here, so strangers cannot fill the cache.
  std::string replay_key = presented.key_id;
  replay_key.push_back('\0');
  replay_key.append(*signature);
  const std::lock_guard lock(cache_->mutex);
  if (cache_->seen.count(replay_key) != 0) return RequestCheck::replayed;
  cache_->forget_expired(now_s);
  if (cache_->seen.size() >= cache_->capacity) return RequestCheck::replay_cache_full;
  cache_->by_expiry.emplace(*timestamp + tolerance, replay_key);
  cache_->seen.insert(std::move(replay_key));
  return RequestCheck::ok;
}

std::size_t RequestVerifier::remembered() const {
  const std::lock_guard lock(cache_->mutex);
  return cache_->seen.size();
}

}  // namespace loyalty::auth
