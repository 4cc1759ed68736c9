#include <loyalty/auth/tokens.hpp>
#include <loyalty/core/crypto.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace loyalty::auth;
namespace crypto = loyalty::crypto;

TEST_CASE("tokens: refresh tokens are 32 random bytes stored as their SHA-256", "[unit]") {
  const RefreshToken token = generate_refresh_token();
  CHECK(token.token.size() == 43);
  REQUIRE(crypto::base64url_decode(token.token));
  CHECK(crypto::base64url_decode(token.token)->size() == 32);
  CHECK(token.hash == crypto::sha256_hex(token.token));
  CHECK(token.hash.size() == 64);
  CHECK(token.hash.find(token.token) == std::string::npos);
  CHECK(hash_refresh_token(token.token) == token.hash);
  CHECK(generate_refresh_token().token != token.token);
}

TEST_CASE("tokens: a refresh token matches only its own hash", "[unit]") {
  const RefreshToken token = generate_refresh_token();
  const RefreshToken other = generate_refresh_token();
  CHECK(refresh_token_matches(token.token, token.hash));
  CHECK_FALSE(refresh_token_matches(other.token, token.hash));
  CHECK_FALSE(refresh_token_matches(token.token, token.hash.substr(1)));
  CHECK_FALSE(refresh_token_matches(token.hash, token.hash));
  CHECK_FALSE(refresh_token_matches("", token.hash));
}

TEST_CASE("tokens: an API key shows its prefix and stores only a hash of its secret", "[unit]") {
  const ApiKey key = generate_api_key();
  CHECK(key.key.rfind("lk_live_", 0) == 0);
  CHECK(key.prefix.size() == kApiKeyPrefixLength);
  CHECK(key.prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") == std::string::npos);
  CHECK(key.key.substr(8, 8) == key.prefix);
  CHECK(key.key.size() == 8 + 8 + 1 + kApiKeySecretLength);
  CHECK(key.secret_hash.size() == 64);
  CHECK(key.key.find(key.secret_hash) == std::string::npos);
  const ApiKey other = generate_api_key();
  CHECK(other.key != key.key);
  CHECK(other.prefix != key.prefix);
}

TEST_CASE("tokens: a presented API key parses into prefix and secret that match", "[unit]") {
  const ApiKey key = generate_api_key();
  const auto parsed = parse_api_key(key.key);
  REQUIRE(parsed);
  CHECK(parsed->prefix == key.prefix);
  CHECK(parsed->secret.size() == kApiKeySecretLength);
  CHECK(hash_api_key_secret(parsed->secret) == key.secret_hash);
  CHECK(api_key_secret_matches(parsed->secret, key.secret_hash));

  std::string altered = parsed->secret;
  altered[0] = altered[0] == 'A' ? 'B' : 'A';
  CHECK_FALSE(api_key_secret_matches(altered, key.secret_hash));
  const auto other = parse_api_key(generate_api_key().key);
  REQUIRE(other);
  CHECK_FALSE(api_key_secret_matches(other->secret, key.secret_hash));
}

TEST_CASE("tokens: text that is not shaped like an API key does not parse", "[unit]") {
  const std::string key = generate_api_key().key;
  std::string wrong_separator = key;
  wrong_separator[16] = '-';
  std::string upper_prefix = key;
  upper_prefix[8] = 'A';
  std::string bad_secret_char = key;
  bad_secret_char.back() = '_';
  const std::string inputs[] = {"",
                                "lk_live_",
                                key.substr(0, key.size() - 1),
                                key + "x",
                                "lk_test_" + key.substr(8),
                                "LK_LIVE_" + key.substr(8),
                                " " + key.substr(1),
                                wrong_separator,
                                upper_prefix,
                                bad_secret_char,
                                generate_refresh_token().token};
  for (const auto& input : inputs) {
    INFO(input);
    CHECK_FALSE(parse_api_key(input).has_value());
  }
}
