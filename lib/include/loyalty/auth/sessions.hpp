#pragma once
// Dashboard sessions: login with email and password, rotating refresh tokens with reuse
// detection, logout; and authentication of POS API keys.

#include <loyalty/auth/jwt.hpp>
#include <loyalty/core/rate_limit.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace loyalty::db {
class Database;
}

namespace loyalty::auth {

inline constexpr std::chrono::seconds kAccessTokenLifetime{15 * 60};
inline constexpr std::chrono::seconds kRefreshTokenLifetime{7 * 24 * 3600};
/// How long verify_access remembers that a user is active: a user disabled (or whose tenant is
/// suspended, or whose role changed) is refused at most this long after, whatever time is left
/// on the token.
inline constexpr std::chrono::seconds kUserStandingTtl{2};

/// Why verify_access refused an access token, or ok.
enum class AccessStatus {
  ok,
  token_refused,  ///< the JWT itself does not verify (see `token`)
  user_inactive,  ///< the token is genuine but its user is disabled or gone, its tenant
                  ///< suspended, or its role no longer the user's
};

/// The outcome of SessionService::verify_access: `claims` is set exactly when ok.
struct AccessVerification {
  AccessStatus status = AccessStatus::token_refused;
  JwtStatus token = JwtStatus::malformed;
  std::optional<Claims> claims;
  explicit operator bool() const noexcept { return status == AccessStatus::ok; }
  /// A short reason for logs and problem details: the JWT status, or "user_inactive".
  std::string_view reason() const noexcept;
};

/// What login and refresh return: a short-lived JWT and a rotating opaque refresh token.
struct SessionTokens {
  std::string access_token;
  std::string refresh_token;
  std::int64_t expires_in = kAccessTokenLifetime.count();
  std::string user_id;
  std::string tenant_id;
  std::string role;
};

/// An authenticated POS API key.
struct ApiKeyPrincipal {
  std::string key_id;
  std::string prefix;
  std::string tenant_id;
  std::vector<std::string> scopes;
};

/// Sessions over a database (the daemon's loyalty_app pool). Thread-safe.
class SessionService {
 public:
  SessionService(db::Database& db, JwtKeyring keyring, LoginThrottleConfig throttle = {});
  ~SessionService();

  /// Logs a user in. The same Error(unauthorized, "invalid-credentials") whether the email or
  /// the password was wrong (or the user or tenant is disabled); Error(rate_limited) with a
  /// "retry_after" extension once an account or address has failed too often; Error(invalid)
  /// for an email over kMaxEmailLength, before any lookup, hashing or throttle bookkeeping.
  SessionTokens login(const std::string& email, const std::string& password,
                      const std::string& client_ip);
  /// Rotates a refresh token: the presented one dies and a new one of the same family is
  /// returned. A token that was already rotated or revoked revokes its whole family (reuse
  /// detection). Error(unauthorized) for any token that does not refresh.
  SessionTokens refresh(const std::string& refresh_token);
  /// Revokes the refresh token's family. Unknown tokens are ignored.
  void logout(const std::string& refresh_token);

  /// Verifies an access token now, then checks that its user is still active in an active
  /// tenant with the token's role. The user's standing is read from the database and
  /// remembered for kUserStandingTtl (per process), so a disabled user's token stops working
  /// within that time. Throws Error(unavailable) when the database cannot be asked.
  AccessVerification verify_access(const std::string& token) const;
  const JwtKeyring& keyring() const { return keyring_; }

 private:
  SessionTokens issue(const std::string& user_id, const std::string& tenant_id,
                      const std::string& role, const std::string& refresh_token);
  bool user_in_good_standing(const Claims& claims) const;
  struct StandingCache;

  db::Database& db_;
  JwtKeyring keyring_;
  LoginThrottle throttle_;
  std::unique_ptr<StandingCache> standing_;
};

/// Checks a presented POS API key (`lk_live_<prefix>_<secret>`): known, secret matches, not
/// revoked, tenant active. Records the last-used time (at most once a minute per key).
/// std::nullopt when the key does not authenticate.
std::optional<ApiKeyPrincipal> authenticate_api_key(db::Database& db, const std::string& presented);

/// Loads the JWT keyring from settings, or for the embedded default from
/// DATA_DIR/jwt-secrets.json, generating it (32 random bytes, mode 0600) on first use.
/// Throws Error(invalid) for secrets shorter than 32 bytes.
JwtKeyring load_jwt_keyring(const std::string& secrets_json, const std::string& active_kid,
                            const std::string& data_dir);

}  // namespace loyalty::auth
