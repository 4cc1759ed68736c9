#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// HMAC request signing for server-to-server callers.
///
/// A caller holding key `K` with id `I` sends three headers:
///
///     X-Loyalty-Key-Id:    I
///     X-Loyalty-Timestamp: <unix seconds>
///     X-Loyalty-Signature: v1=<hex HMAC-SHA256(K, METHOD "\n" PATH "\n" TIMESTAMP "\n"
///                                              hex(SHA-256(body)))>
///
/// where METHOD is the upper-case HTTP method, TARGET the request target exactly as sent (the
/// path plus "?query" if any, not decoded), TIMESTAMP the header's text and body the raw bytes
/// of the body (empty for none).
///
/// Keys come from HMAC_KEYS_JSON, each bound to one tenant or, by the operator's explicit
/// choice, to the whole platform:
///
///     {"erp-a": {"secret": "...", "tenant_id": "6cf7c114-d166-4a95-8af6-9875660b74f9"},
///      "ops":   {"secret": "...", "platform": true}}
///
/// Several ids at once let a caller move to a new key before the old one is removed.
namespace loyalty::auth {

inline constexpr std::string_view kKeyIdHeader = "X-Loyalty-Key-Id";
inline constexpr std::string_view kTimestampHeader = "X-Loyalty-Timestamp";
inline constexpr std::string_view kSignatureHeader = "X-Loyalty-Signature";

/// How far a request's timestamp may be from the server's clock, either way.
inline constexpr std::chrono::seconds kRequestTimestampTolerance{300};

/// HMAC secrets shorter than this many bytes are refused.
inline constexpr std::size_t kMinHmacSecretBytes = 32;

/// How many signatures a RequestVerifier remembers at most (about 100 bytes each).
inline constexpr std::size_t kDefaultReplayCacheCapacity = 200'000;

/// One request-signing key: its secret and whom it may act for.
struct HmacKey {
  std::string secret;
  std::string tenant_id;  ///< the one tenant the key acts for; empty for a platform key
  bool platform = false;  ///< the operator allowed this key to act for every tenant

  /// A key bound to one tenant.
  static HmacKey for_tenant(std::string secret, std::string tenant_id) {
    return HmacKey{std::move(secret), std::move(tenant_id), false};
  }
  /// A key that may act for every tenant.
  static HmacKey for_platform(std::string secret) { return HmacKey{std::move(secret), {}, true}; }
};

/// Request-signing keys by key id. Immutable; safe to share between threads.
class HmacKeyring {
 public:
  /// An empty keyring: every signed request is refused with unknown_key.
  HmacKeyring() = default;

  /// Builds a keyring; throws Error(invalid) for an empty key id, a secret shorter than
  /// kMinHmacSecretBytes, or a key that is neither bound to a tenant (a uuid) nor marked
  /// platform-wide, or is both. Messages name the key id, never the secret.
  explicit HmacKeyring(std::map<std::string, HmacKey> keys);

  /// Parses HMAC_KEYS_JSON (see the top of this file); empty or blank text gives an empty
  /// keyring. Throws Error(invalid) on malformed JSON, a key that is not an object of exactly
  /// `secret` and one of `tenant_id` or `"platform": true` (a bare secret string says neither,
  /// so it is refused), or as the constructor does.
  static HmacKeyring from_json(std::string_view keys_json);

  /// True when no key is configured (request signing disabled).
  bool empty() const noexcept { return keys_.empty(); }

  /// All configured key ids, sorted.
  std::vector<std::string> key_ids() const;

  /// The key with id `key_id`, or nullptr when there is none.
  const HmacKey* find(std::string_view key_id) const noexcept;

 private:
  std::map<std::string, HmacKey, std::less<>> keys_;
};

/// The three header values of a signed request.
struct SignedRequest {
  std::string key_id;     ///< X-Loyalty-Key-Id
  std::string timestamp;  ///< X-Loyalty-Timestamp
  std::string signature;  ///< X-Loyalty-Signature
};

/// Computes the X-Loyalty-Signature value ("v1=<64 hex>") for a request; `target` is the path
/// with its query string, as sent.
std::string compute_request_signature(std::string_view secret, std::string_view method,
                                      std::string_view target, std::string_view timestamp,
                                      std::string_view body);

/// Signs a request at time `now`, as a client (or a test) does.
SignedRequest sign_request(std::string_view key_id, std::string_view secret,
                           std::string_view method, std::string_view target, std::string_view body,
                           std::chrono::sys_seconds now);

/// The outcome of RequestVerifier::verify; every value but `ok` means 401, except
/// `replay_cache_full` (429 or 503: the server cannot currently prove a request is fresh).
enum class RequestCheck {
  ok,
  malformed,          ///< a header is missing or not of the documented form
  unknown_key,        ///< the key id is not configured
  stale_timestamp,    ///< more than kRequestTimestampTolerance from `now`, either way
  bad_signature,      ///< the HMAC does not match (wrong key; method, target or body altered)
  replayed,           ///< this exact signature was already accepted within the window
  replay_cache_full,  ///< too many signatures in the window to remember one more
};

/// A short name for a check result ("stale_timestamp"), for logs.
std::string_view to_string(RequestCheck check) noexcept;

/// Verifies signed requests and refuses a signature seen before.
///
/// Accepted signatures are remembered in memory until their timestamp leaves the tolerance
/// window (after which the timestamp check refuses them anyway), up to `capacity` entries; when
/// full, new requests are refused with replay_cache_full rather than forgetting a live entry.
/// The cache is per process: with several daemons behind a load balancer each keeps its own,
/// so a replay sent to another instance within 5 minutes is not detected.
///
/// verify() is thread-safe.
class RequestVerifier {
 public:
  explicit RequestVerifier(HmacKeyring keyring, std::size_t capacity = kDefaultReplayCacheCapacity);
  ~RequestVerifier();
  RequestVerifier(const RequestVerifier&) = delete;
  RequestVerifier& operator=(const RequestVerifier&) = delete;

  /// Checks, in this order, header form, key id, timestamp window, signature (constant-time),
  /// then replay; only a request that passes all is remembered. `target` is the request target
  /// as received (path and query string). Whom the key may act for is the caller's to check
  /// (keyring().find(key_id)).
  RequestCheck verify(const SignedRequest& presented, std::string_view method,
                      std::string_view target, std::string_view body, std::chrono::sys_seconds now);

  /// The keyring requests are checked against.
  const HmacKeyring& keyring() const noexcept { return keyring_; }

  /// How many signatures are remembered right now.
  std::size_t remembered() const;

 private:
  struct ReplayCache;
  HmacKeyring keyring_;
  std::unique_ptr<ReplayCache> cache_;
};

}  // namespace loyalty::auth
