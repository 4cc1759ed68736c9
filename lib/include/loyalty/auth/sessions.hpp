#pragma once
// Dashboard sessions: login with email and password, rotating refresh tokens with reuse
// detection, logout; and authentication of POS API keys.

#include <loyalty/auth/jwt.hpp>
#include <loyalty/core/rate_limit.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace loyalty::db {
class Database;
}

namespace loyalty::auth {

inline constexpr std::chrono::seconds kAccessTokenLifetime{15 * 60};
inline constexpr std::chrono::seconds kRefreshTokenLifetime{7 * 24 * 3600};

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

  /// Verifies an access token now.
  JwtVerification verify_access(const std::string& token) const;
  const JwtKeyring& keyring() const { return keyring_; }

 private:
  SessionTokens issue(const std::string& user_id, const std::string& tenant_id,
                      const std::string& role, const std::string& refresh_token);
  db::Database& db_;
  JwtKeyring keyring_;
  LoginThrottle throttle_;
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
