#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::auth {

/// Secrets shorter than this many bytes are refused.
inline constexpr std::size_t kMinJwtSecretBytes = 32;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
inline constexpr std::chrono::seconds kJwtLeeway{60};

/// Tokens longer than this are refused unparsed.
inline constexpr std::size_t kMaxJwtLength = 8192;

/// The `iss` every token carries and verification requires: who issued it.
inline constexpr std::string_view kJwtIssuer = "loyaltyd";
/// The `aud` every token carries and verification requires: whom it is for (a string, or an
/// array that contains it).
inline constexpr std::string_view kJwtAudience = "loyalty-dashboard";

/// The claims of a dashboard access token. Times are unix seconds (JWT NumericDate). `iss` and
/// `aud` are not here: they are always kJwtIssuer and kJwtAudience.
struct Claims {
  std::string sub;        ///< the user id
  std::string tenant_id;  ///< the tenant the user belongs to
  std::string role;       ///< "admin", "manager" or "viewer"
  std::int64_t exp = 0;   ///< expiry; required
  std::optional<std::int64_t> iat;
  std::optional<std::int64_t> nbf;
  std::optional<std::string> jti;
  bool operator==(const Claims&) const = default;
};

/// Why a token was refused; every value but `ok` means 401.
enum class JwtStatus {
  ok,
  malformed,      ///< not three base64url segments of JSON objects, or a claim of the wrong type
  bad_algorithm,  ///< `alg` is anything but "HS256" (none, HS512, RS256, ...) or `crit` is set
  unknown_key,    ///< `kid` names no configured secret
  bad_signature,  ///< the HMAC does not match
  expired,        ///< `exp` is more than the leeway in the past
  not_yet_valid,  ///< `nbf` or `iat` is more than the leeway in the future
  missing_claim,  ///< `exp`, `sub`, `tenant_id`, `role`, `iss` or `aud` is absent
  bad_issuer,     ///< `iss` is not kJwtIssuer
  bad_audience,   ///< `aud` is not (or, as an array, does not contain) kJwtAudience
};

/// A short name for a status ("bad_signature"), for logs.
std::string_view to_string(JwtStatus status) noexcept;

/// The outcome of JwtKeyring::verify: `claims` is set exactly when `status` is ok.
struct JwtVerification {
  JwtStatus status = JwtStatus::malformed;
  std::optional<Claims> claims;
  explicit operator bool() const noexcept { return status == JwtStatus::ok; }
};

/// HS256 secrets by key id, one of which (the active one) signs new tokens. Keeping older ids
/// in the ring lets tokens signed before a rotation verify until they expire.
///
/// Immutable after construction; sign() and verify() may be called from any thread.
class JwtKeyring {
 public:
  /// Builds a keyring from secrets by key id; throws Error(invalid) if it is empty, a key id is
  /// empty, a secret is shorter than kMinJwtSecretBytes, or `active_kid` is not among them.
  JwtKeyring(std::map<std::string, std::string> secrets, std::string active_kid);

  /// Builds a keyring from JSON `{"kid":"secret",...}` (e.g. LOYALTY_JWT_SECRETS); throws
  /// Error(invalid) on malformed JSON, a non-string secret, or any reason the constructor does.
  /// An empty `active_kid` is allowed only when the object has exactly one key.
  static JwtKeyring from_json(std::string_view secrets_json, std::string_view active_kid);

  /// The key id that signs new tokens.
  const std::string& active_kid() const noexcept { return active_kid_; }

  /// All configured key ids, sorted.
  std::vector<std::string> kids() const;

  /// Signs `claims` with the active secret into a compact JWT whose header is
  /// {"alg":"HS256","typ":"JWT","kid":<active kid>}, with `iss` kJwtIssuer and `aud`
  /// kJwtAudience; unset optional claims are omitted.
  std::string sign(const Claims& claims) const;

  /// Verifies a compact JWT at time `now`: HS256 only whatever the header says; `kid` picks the
  /// secret (a token without `kid` is tried against the active secret); constant-time signature
  /// comparison; `iss` and `aud` required with our values; `exp` required and `nbf`/`iat`
  /// honoured, each with kJwtLeeway. Never throws on hostile input.
  JwtVerification verify(std::string_view token, std::chrono::sys_seconds now) const;

 private:
  std::map<std::string, std::string, std::less<>> secrets_;
  std::string active_kid_;
};

/// A freshly generated keyring configuration: the key id and the JSON `{"<kid>":"<secret>"}`
/// with 32 random bytes (base64url) as the secret, e.g. for the embedded default to store in
/// the data directory. Never log `json`.
struct GeneratedJwtKeyring {
  std::string kid;
  std::string json;
};

/// Generates a keyring with one 32-byte random secret under key id `kid` (a random id such as
/// "k7f3a9c01" when `kid` is empty).
GeneratedJwtKeyring generate_jwt_keyring(std::string kid = {});

}  // namespace loyalty::auth
