#pragma once

#include <optional>
#include <string>
#include <string_view>

/// Opaque bearer credentials: refresh tokens for dashboard sessions and API keys for POS
/// systems. Only hashes are stored; the plain values are shown to their owner once.
namespace loyalty::auth {

/// Every API key starts with this.
inline constexpr std::string_view kApiKeyTag = "lk_live_";

/// Length of the visible, non-secret part of an API key that identifies it in lists and logs.
inline constexpr std::size_t kApiKeyPrefixLength = 8;

/// Length of the secret part of an API key (base62, about 256 bits).
inline constexpr std::size_t kApiKeySecretLength = 43;

/// A new refresh token: `token` goes to the client once; `hash` is what the database keeps.
struct RefreshToken {
  std::string token;  ///< 32 random bytes, base64url (43 characters)
  std::string hash;   ///< hash_refresh_token(token)
};

/// Generates a refresh token from 32 random bytes. Thread-safe.
RefreshToken generate_refresh_token();

/// The stored form of a refresh token: SHA-256 as 64 lowercase hex characters. The database
/// looks a presented token up by this value.
std::string hash_refresh_token(std::string_view token);

/// True when a presented refresh token hashes to `stored_hash` (constant-time comparison).
bool refresh_token_matches(std::string_view token, std::string_view stored_hash);

/// A new API key: `key` ("lk_live_<prefix>_<secret>") is shown once; `prefix` is stored in
/// clear (unique per key; regenerate on a collision) and `secret_hash` is stored for checks.
struct ApiKey {
  std::string key;
  std::string prefix;       ///< kApiKeyPrefixLength characters of [a-z0-9]
  std::string secret_hash;  ///< hash_api_key_secret(secret)
};

/// Generates an API key. Thread-safe.
ApiKey generate_api_key();

/// The two parts of a presented API key.
struct ParsedApiKey {
  std::string prefix;
  std::string secret;
};

/// Splits a presented key ("lk_live_<prefix>_<secret>", as in `Authorization: Bearer <key>`)
/// into its prefix, to look the key up, and its secret, to check; std::nullopt when the text
/// does not have the shape of an API key.
std::optional<ParsedApiKey> parse_api_key(std::string_view presented);

/// The stored form of an API key's secret: SHA-256 as 64 lowercase hex characters.
std::string hash_api_key_secret(std::string_view secret);

/// True when a presented secret hashes to `stored_hash` (constant-time comparison).
bool api_key_secret_matches(std::string_view secret, std::string_view stored_hash);

}  // namespace loyalty::auth
