#include <loyalty/auth/tokens.hpp>

#include <loyalty/core/crypto.hpp>

#include <algorithm>

namespace loyalty::auth {
namespace {

constexpr std::size_t kRefreshTokenBytes = 32;
constexpr std::string_view kPrefixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool all_in(std::string_view text, std::string_view alphabet) {
  return std::all_of(text.begin(), text.end(),
                     [&](char c) { return alphabet.find(c) != std::string_view::npos; });
}

// Both sides are hashes of equal length, so the comparison leaks nothing about the secret.
bool hash_matches(std::string_view presented, std::string_view stored_hash) {
  return crypto::constant_time_equals(crypto::sha256_hex(presented), stored_hash);
}

}  // namespace

RefreshToken generate_refresh_token() {
  std::string token = crypto::base64url_encode(crypto::random_bytes(kRefreshTokenBytes));
  std::string hash = hash_refresh_token(token);
  return RefreshToken{std::move(token), std::move(hash)};
}

std::string hash_refresh_token(std::string_view token) { return crypto::sha256_hex(token); }

bool refresh_token_matches(std::string_view token, std::string_view stored_hash) {
  return hash_matches(token, stored_hash);
}

ApiKey generate_api_key() {
  std::string prefix = crypto::random_string(kApiKeyPrefixLength, kPrefixAlphabet);
  const std::string secret = crypto::random_string(kApiKeySecretLength, kSecretAlphabet);
  std::string key = std::string(kApiKeyTag) + prefix + "_" + secret;
  return ApiKey{std::move(key), std::move(prefix), hash_api_key_secret(secret)};
}

std::optional<ParsedApiKey> parse_api_key(std::string_view presented) {
  constexpr std::size_t kLength = kApiKeyTag.size() + kApiKeyPrefixLength + 1 + kApiKeySecretLength;
  if (presented.size() != kLength || presented.substr(0, kApiKeyTag.size()) != kApiKeyTag) {
    return std::nullopt;
  }
  const std::string_view prefix = presented.substr(kApiKeyTag.size(), kApiKeyPrefixLength);
  const std::size_t separator = kApiKeyTag.size() + kApiKeyPrefixLength;
  const std::string_view secret = presented.substr(separator + 1);
  if (presented[separator] != '_' || !all_in(prefix, kPrefixAlphabet) ||
      !all_in(secret, kSecretAlphabet)) {
    return std::nullopt;
  }
  return ParsedApiKey{std::string(prefix), std::string(secret)};
}

std::string hash_api_key_secret(std::string_view secret) { return crypto::sha256_hex(secret); }

bool api_key_secret_matches(std::string_view secret, std::string_view stored_hash) {
  return hash_matches(secret, stored_hash);
}

}  // namespace loyalty::auth
