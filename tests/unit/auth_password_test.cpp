#include <loyalty/auth/password.hpp>
#include <loyalty/core/error.hpp>

#include <sodium.h>
#include <catch2/catch.hpp>

#include <string>

using namespace loyalty::auth;

namespace {

// The cheapest parameters libsodium allows, standing in for "an older, weaker setting".
constexpr PasswordParams kWeakParams{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};

}  // namespace

TEST_CASE("passwords: a hash verifies its password and nothing else", "[unit]") {
  const std::string hash = hash_password("correct horse battery staple");
  CHECK(verify_password("correct horse battery staple", hash));
  CHECK_FALSE(verify_password("correct horse battery stapl", hash));
  CHECK_FALSE(verify_password("", hash));
  CHECK_FALSE(verify_password("Correct horse battery staple", hash));
}

TEST_CASE("passwords: hashes are salted argon2id with at least OWASP's cost", "[unit]") {
  const std::string first = hash_password("pa55word");
  const std::string second = hash_password("pa55word");
  CHECK(first != second);
  CHECK(first.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
  CHECK(kPasswordParams.mem_limit_bytes >= std::size_t{19} * 1024 * 1024);
  CHECK(kPasswordParams.ops_limit >= 2);
}

TEST_CASE("passwords: a hash made with other parameters needs a rehash", "[unit]") {
  const std::string weak = hash_password("pa55word", kWeakParams);
  CHECK(verify_password("pa55word", weak));
  CHECK(needs_rehash(weak));
  CHECK_FALSE(needs_rehash(weak, kWeakParams));

  const std::string current = hash_password("pa55word");
  CHECK_FALSE(needs_rehash(current));
  CHECK(needs_rehash(current, kWeakParams));
}

TEST_CASE("passwords: stored values that are not argon2id never verify", "[unit]") {
  char argon2i[crypto_pwhash_STRBYTES];
  REQUIRE(crypto_pwhash_str_alg(argon2i, "pa55word", 8, crypto_pwhash_argon2i_OPSLIMIT_MIN,
                                crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2I13) == 0);
  CHECK_FALSE(verify_password("pa55word", argon2i));
  CHECK(needs_rehash(argon2i));

  const std::string valid = hash_password("pa55word", kWeakParams);
  for (const std::string& stored :
       {std::string(), std::string("pa55word"), std::string("$argon2id$v=19$garbage"),
        valid.substr(0, valid.size() - 5), std::string(500, 'a'), valid + std::string(1, '\0')}) {
    CHECK_FALSE(verify_password("pa55word", stored));
    CHECK(needs_rehash(stored));
  }
}

TEST_CASE("passwords: parameters below libsodium's minimum are refused", "[unit]") {
  CHECK_THROWS_AS(hash_password("x", PasswordParams{0, crypto_pwhash_MEMLIMIT_MIN}),
                  loyalty::Error);
  CHECK_THROWS_AS(hash_password("x", PasswordParams{2, 1024}), loyalty::Error);
}

TEST_CASE("passwords: the dummy check for unknown accounts always fails", "[unit]") {
  CHECK_FALSE(verify_password_against_dummy("anything"));
  CHECK_FALSE(verify_password_against_dummy(""));
}

TEST_CASE("passwords: generated passwords are long, fresh and unambiguous", "[unit]") {
  const std::string password = generate_password();
  CHECK(password.size() == kGeneratedPasswordLength);
  CHECK(password.size() >= 20);
  CHECK(generate_password() != password);
  std::string many;
  for (int i = 0; i < 50; ++i) many += generate_password();
  CHECK(many.find_first_of("0O1lI") == std::string::npos);
  CHECK(many.find_first_not_of("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") ==
        std::string::npos);
}
