#include <loyalty/auth/jwt.hpp>
#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using loyalty::auth::Claims;
using loyalty::auth::JwtKeyring;
using loyalty::auth::JwtStatus;
using nlohmann::json;
namespace crypto = loyalty::crypto;

namespace {

const std::string kSecret1 = "k1-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const std::string kSecret2 = "k2-secret-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::int64_t kNow = 1'700'000'000;
const std::chrono::sys_seconds kNowTp{std::chrono::seconds(kNow)};

std::chrono::sys_seconds at(std::int64_t unix_seconds) {
  return std::chrono::sys_seconds{std::chrono::seconds(unix_seconds)};
}

Claims sample_claims() {
  Claims claims;
  claims.sub = "user-1";
  claims.tenant_id = "tenant-1";
  claims.role = "admin";
  claims.exp = kNow + 900;
  claims.iat = kNow;
  claims.jti = "jti-1";
  return claims;
}

JwtKeyring ring_k1() { return JwtKeyring({{"k1", kSecret1}}, "k1"); }

std::string segment(const json& value) { return crypto::base64url_encode(value.dump()); }

// Builds a token by hand, as an attacker (or another implementation) would.
std::string forge(const json& header, const json& payload, const std::string& secret) {
  const std::string input = segment(header) + "." + segment(payload);
  return input + "." + crypto::base64url_encode(crypto::hmac_sha256(secret, input));
}

json payload_with(std::int64_t exp) {
  return {{"iss", "loyaltyd"}, {"aud", "loyalty-dashboard"},
          {"sub", "user-1"},   {"tenant_id", "tenant-1"},
          {"role", "admin"},   {"exp", exp}};
}

const json kHeaderK1 = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "k1"}};

}  // namespace

TEST_CASE("jwt: a signed token verifies and returns its claims", "[unit]") {
  const auto ring = ring_k1();
  const std::string token = ring.sign(sample_claims());
  const auto result = ring.verify(token, kNowTp);
  REQUIRE(result.status == JwtStatus::ok);
  REQUIRE(result.claims);
  CHECK(*result.claims == sample_claims());
  CHECK(static_cast<bool>(result));

  const auto dot = token.find('.');
  const auto header = json::parse(*crypto::base64url_decode(token.substr(0, dot)));
  CHECK(header == json{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "k1"}});
  const auto payload =
      json::parse(*crypto::base64url_decode(token.substr(dot + 1, token.rfind('.') - dot - 1)));
  CHECK(payload["iss"] == "loyaltyd");
  CHECK(payload["aud"] == "loyalty-dashboard");
}

TEST_CASE("jwt: tokens from an independent HS256 implementation verify", "[unit]") {
  // Made with Python's hmac/base64/json modules, not with this library.
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImV4dCJ9."
      "eyJpc3MiOiJsb3lhbHR5ZCIsImF1ZCI6ImxveWFsdHktZGFzaGJvYXJkIiwic3ViIjoidXNlci00MiIsInRlbmFudF"
      "9pZCI6InRlbmFudC03Iiwicm9sZSI6Im1hbmFnZXIiLCJleHAiOjE3MDAwMDA5MDAsImlhdCI6MTcwMDAwMDAwMCwi"
      "anRpIjoiYWJjIn0."
      "ydtBi9x9wGtrOQ30ZT4k5YTCLF5v394hylmw7tc-RUw";
  const JwtKeyring ring({{"ext", "independent-implementation-secret-0123456789"}}, "ext");
  const auto result = ring.verify(token, kNowTp);
  REQUIRE(result.status == JwtStatus::ok);
  CHECK(result.claims->sub == "user-42");
  CHECK(result.claims->tenant_id == "tenant-7");
  CHECK(result.claims->role == "manager");
  CHECK(result.claims->exp == 1700000900);
  CHECK(result.claims->iat == 1700000000);
  CHECK(result.claims->jti == "abc");

  // RFC 7515 appendix A.1: the signature checks out, but it carries none of our claims.
  const std::string rfc_token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const auto rfc_key = crypto::base64url_decode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  REQUIRE(rfc_key);
  const JwtKeyring rfc_ring({{"rfc", *rfc_key}}, "rfc");
  CHECK(rfc_ring.verify(rfc_token, at(1300819000)).status == JwtStatus::missing_claim);
  std::string tampered = rfc_token;
  tampered.back() = 'Y';
  CHECK(rfc_ring.verify(tampered, at(1300819000)).status != JwtStatus::missing_claim);
}

TEST_CASE("jwt: only HS256 is accepted whatever the header says", "[unit]") {
  const auto ring = ring_k1();
  const json payload = payload_with(kNow + 900);

  SECTION("alg none with an empty signature") {
    const std::string token =
        segment({{"alg", "none"}, {"typ", "JWT"}, {"kid", "k1"}}) + "." + segment(payload) + ".";
    CHECK(ring.verify(token, kNowTp).status == JwtStatus::bad_algorithm);
  }
  SECTION("alg none signed with the real secret") {
    CHECK(ring.verify(forge({{"alg", "none"}, {"kid", "k1"}}, payload, kSecret1), kNowTp).status ==
          JwtStatus::bad_algorithm);
  }
  SECTION("HS512 with a genuine HMAC-SHA512 under the right secret") {
    const std::string input =
        segment({{"alg", "HS512"}, {"typ", "JWT"}, {"kid", "k1"}}) + "." + segment(payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha512(), kSecret1.data(), static_cast<int>(kSecret1.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
    const std::string token =
        input + "." +
        crypto::base64url_encode(std::string(reinterpret_cast<const char*>(mac), length));
    CHECK(ring.verify(token, kNowTp).status == JwtStatus::bad_algorithm);
  }
  SECTION("RS256, lower-case hs256, a missing or non-string alg") {
    for (const json& alg :
         {json("RS256"), json("hs256"), json("HS256 "), json(nullptr), json(256)}) {
      json header = {{"typ", "JWT"}, {"kid", "k1"}};
      if (!alg.is_null()) header["alg"] = alg;
      CHECK(ring.verify(forge(header, payload, kSecret1), kNowTp).status ==
            JwtStatus::bad_algorithm);
    }
  }
  SECTION("a critical header extension") {
    json header = kHeaderK1;
    header["crit"] = json::array({"b64"});
    header["b64"] = false;
    CHECK(ring.verify(forge(header, payload, kSecret1), kNowTp).status == JwtStatus::bad_algorithm);
  }
}

TEST_CASE("jwt: a wrong key or a tampered token is refused", "[unit]") {
  const auto ring = ring_k1();
  SECTION("signed with another secret under the same kid") {
    const std::string token =
        forge(kHeaderK1, payload_with(kNow + 900), "attacker-secret-0123456789abcdefghijklmnop");
    CHECK(ring.verify(token, kNowTp).status == JwtStatus::bad_signature);
  }
  SECTION("payload changed after signing (escalating the role)") {
    const std::string token = ring.sign(sample_claims());
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    json payload =
        json::parse(*crypto::base64url_decode(token.substr(first + 1, second - first - 1)));
    payload["role"] = "admin";
    payload["tenant_id"] = "tenant-2";
    const std::string tampered =
        token.substr(0, first + 1) + segment(payload) + token.substr(second);
    CHECK(ring.verify(tampered, kNowTp).status == JwtStatus::bad_signature);
  }
  SECTION("signature truncated or emptied") {
    const std::string token = ring.sign(sample_claims());
    CHECK(ring.verify(token.substr(0, token.size() - 2), kNowTp).status != JwtStatus::ok);
    CHECK(ring.verify(token.substr(0, token.rfind('.') + 1), kNowTp).status ==
          JwtStatus::bad_signature);
  }
}

TEST_CASE("jwt: kid selects the secret so rotation keeps old tokens valid", "[unit]") {
  const JwtKeyring before({{"k1", kSecret1}}, "k1");
  const JwtKeyring after({{"k1", kSecret1}, {"k2", kSecret2}}, "k2");
  const JwtKeyring retired({{"k2", kSecret2}}, "k2");

  const std::string old_token = before.sign(sample_claims());
  const std::string new_token = after.sign(sample_claims());
  CHECK(after.verify(old_token, kNowTp).status == JwtStatus::ok);
  CHECK(after.verify(new_token, kNowTp).status == JwtStatus::ok);
  CHECK(before.verify(new_token, kNowTp).status == JwtStatus::unknown_key);
  CHECK(retired.verify(old_token, kNowTp).status == JwtStatus::unknown_key);
  CHECK(after.kids() == std::vector<std::string>{"k1", "k2"});
  CHECK(after.active_kid() == "k2");

  SECTION("a token without kid is tried against the active secret only") {
    const json header = {{"alg", "HS256"}, {"typ", "JWT"}};
    CHECK(after.verify(forge(header, payload_with(kNow + 900), kSecret2), kNowTp).status ==
          JwtStatus::ok);
    CHECK(after.verify(forge(header, payload_with(kNow + 900), kSecret1), kNowTp).status ==
          JwtStatus::bad_signature);
  }
  SECTION("a kid that is not a string is malformed") {
    json header = kHeaderK1;
    header["kid"] = 1;
    CHECK(after.verify(forge(header, payload_with(kNow + 900), kSecret1), kNowTp).status ==
          JwtStatus::malformed);
  }
  SECTION("a kid naming a secret that does not sign it") {
    json header = kHeaderK1;
    header["kid"] = "k2";
    CHECK(after.verify(forge(header, payload_with(kNow + 900), kSecret1), kNowTp).status ==
          JwtStatus::bad_signature);
  }
}

TEST_CASE("jwt: exp is required and honoured with 60 seconds of leeway", "[unit]") {
  const auto ring = ring_k1();
  const auto verify_payload = [&](const json& payload) {
    return ring.verify(forge(kHeaderK1, payload, kSecret1), kNowTp).status;
  };
  json no_exp = payload_with(0);
  no_exp.erase("exp");
  CHECK(verify_payload(no_exp) == JwtStatus::missing_claim);
  CHECK(verify_payload(payload_with(kNow - 59)) == JwtStatus::ok);
  CHECK(verify_payload(payload_with(kNow - 60)) == JwtStatus::expired);
  CHECK(verify_payload(payload_with(kNow - 3600)) == JwtStatus::expired);

  json string_exp = payload_with(0);
  string_exp["exp"] = std::to_string(kNow + 900);
  CHECK(verify_payload(string_exp) == JwtStatus::malformed);
  json fractional_exp = payload_with(0);
  fractional_exp["exp"] = static_cast<double>(kNow) + 100.5;
  CHECK(verify_payload(fractional_exp) == JwtStatus::ok);
  json huge_exp = payload_with(0);
  huge_exp["exp"] = 1e300;
  CHECK(verify_payload(huge_exp) == JwtStatus::malformed);
  json unsigned_exp = payload_with(0);
  unsigned_exp["exp"] = std::numeric_limits<std::uint64_t>::max();
  CHECK(verify_payload(unsigned_exp) == JwtStatus::malformed);
}

TEST_CASE("jwt: nbf and iat in the future are honoured with 60 seconds of leeway", "[unit]") {
  const auto ring = ring_k1();
  const auto verify_with = [&](const char* claim, std::int64_t value) {
    json payload = payload_with(kNow + 900);
    payload[claim] = value;
    return ring.verify(forge(kHeaderK1, payload, kSecret1), kNowTp).status;
  };
  CHECK(verify_with("nbf", kNow + 60) == JwtStatus::ok);
  CHECK(verify_with("nbf", kNow + 61) == JwtStatus::not_yet_valid);
  CHECK(verify_with("nbf", kNow - 1000) == JwtStatus::ok);
  CHECK(verify_with("iat", kNow + 60) == JwtStatus::ok);
  CHECK(verify_with("iat", kNow + 61) == JwtStatus::not_yet_valid);
  CHECK(verify_with("iat", kNow - 1000) == JwtStatus::ok);
}

TEST_CASE("jwt: sub, tenant_id and role are required strings", "[unit]") {
  const auto ring = ring_k1();
  for (const char* claim : {"sub", "tenant_id", "role"}) {
    json missing = payload_with(kNow + 900);
    missing.erase(claim);
    CHECK(ring.verify(forge(kHeaderK1, missing, kSecret1), kNowTp).status ==
          JwtStatus::missing_claim);
    json wrong_type = payload_with(kNow + 900);
    wrong_type[claim] = 7;
    CHECK(ring.verify(forge(kHeaderK1, wrong_type, kSecret1), kNowTp).status ==
          JwtStatus::malformed);
  }
}

TEST_CASE("jwt: iss and aud are required and must name this daemon and the dashboard", "[unit]") {
  const auto ring = ring_k1();
  const auto verify_payload = [&](const json& payload) {
    return ring.verify(forge(kHeaderK1, payload, kSecret1), kNowTp).status;
  };
  const auto with = [](const char* claim, const json& value) {
    json payload = payload_with(kNow + 900);
    payload[claim] = value;
    return payload;
  };
  const auto without = [](const char* claim) {
    json payload = payload_with(kNow + 900);
    payload.erase(claim);
    return payload;
  };
  REQUIRE(verify_payload(payload_with(kNow + 900)) == JwtStatus::ok);

  CHECK(verify_payload(without("iss")) == JwtStatus::missing_claim);
  CHECK(verify_payload(with("iss", "someone-else")) == JwtStatus::bad_issuer);
  CHECK(verify_payload(with("iss", "Loyaltyd")) == JwtStatus::bad_issuer);
  CHECK(verify_payload(with("iss", "")) == JwtStatus::bad_issuer);
  CHECK(verify_payload(with("iss", json::array({"loyaltyd"}))) == JwtStatus::malformed);
  CHECK(verify_payload(with("iss", 1)) == JwtStatus::malformed);

  CHECK(verify_payload(without("aud")) == JwtStatus::missing_claim);
  CHECK(verify_payload(with("aud", "loyalty-pos")) == JwtStatus::bad_audience);
  CHECK(verify_payload(with("aud", "")) == JwtStatus::bad_audience);
  CHECK(verify_payload(with("aud", json::array())) == JwtStatus::bad_audience);
  CHECK(verify_payload(with("aud", json::array({"loyalty-pos", "other"}))) ==
        JwtStatus::bad_audience);
  CHECK(verify_payload(with("aud", json::array({"loyalty-pos", 7}))) == JwtStatus::malformed);
  CHECK(verify_payload(with("aud", 7)) == JwtStatus::malformed);
  // RFC 7519 §4.1.3: an array of audiences that includes ours is ours.
  CHECK(verify_payload(with("aud", json::array({"other", "loyalty-dashboard"}))) == JwtStatus::ok);

  // Both missing, as in a token made for another system with a secret we share.
  json neither = without("iss");
  neither.erase("aud");
  CHECK(verify_payload(neither) == JwtStatus::missing_claim);
  CHECK(loyalty::auth::to_string(JwtStatus::bad_issuer) == "bad_issuer");
  CHECK(loyalty::auth::to_string(JwtStatus::bad_audience) == "bad_audience");
}

TEST_CASE("jwt: malformed tokens are refused without throwing", "[unit]") {
  const auto ring = ring_k1();
  const std::string valid = ring.sign(sample_claims());
  const std::string header = valid.substr(0, valid.find('.'));
  const std::string signed_garbage = [&] {
    const std::string input = segment(kHeaderK1) + "." + crypto::base64url_encode("not json");
    return input + "." + crypto::base64url_encode(crypto::hmac_sha256(kSecret1, input));
  }();
  const std::string signed_array = forge(kHeaderK1, json::array({1, 2}), kSecret1);
  const std::string inputs[] = {
      "",
      "abc",
      "a.b",
      "a.b.c.d",
      "...",
      "!!!.???.***",
      valid + ".",
      "." + valid,
      crypto::base64url_encode("not json") + ".e30.abc",
      crypto::base64url_encode("[1,2]") + ".e30.abc",
      crypto::base64url_encode(std::string("\xff\xfe{", 3)) + ".e30.abc",
      header + "==." + valid.substr(valid.find('.') + 1),
      signed_garbage,
      signed_array,
      std::string(loyalty::auth::kMaxJwtLength + 1, 'a'),
      std::string("a.b\0c", 5),
      crypto::base64url_encode(std::string(5000, '[')) + ".e30.abc",
  };
  for (const auto& input : inputs) {
    INFO(input.substr(0, 80));
    loyalty::auth::JwtVerification result;
    REQUIRE_NOTHROW(result = ring.verify(input, kNowTp));
    CHECK_FALSE(result.claims.has_value());
    CHECK(result.status != JwtStatus::ok);
  }
  CHECK(ring.verify(signed_garbage, kNowTp).status == JwtStatus::malformed);
  CHECK(ring.verify(signed_array, kNowTp).status == JwtStatus::malformed);
}

TEST_CASE("jwt: keyrings refuse weak or inconsistent configuration", "[unit]") {
  const auto invalid = [](const auto& build) {
    try {
      build();
    } catch (const loyalty::Error& error) {
      return error.code() == loyalty::ErrorCode::invalid ? std::string(error.what())
                                                         : std::string("wrong code");
    }
    return std::string("no error");
  };
  const std::string short_secret = "only-31-bytes-of-secret-text-xx";
  REQUIRE(short_secret.size() == 31);
  const std::string message = invalid([&] { JwtKeyring({{"k1", short_secret}}, "k1"); });
  CHECK(message.find("at least 32") != std::string::npos);
  CHECK(message.find("k1") != std::string::npos);
  CHECK(message.find(short_secret) == std::string::npos);
  CHECK_NOTHROW(JwtKeyring({{"k1", std::string(32, 'x')}}, "k1"));

  CHECK(invalid([] { JwtKeyring({}, "k1"); }) != "no error");
  CHECK(invalid([] { JwtKeyring({{"k1", kSecret1}}, "k9"); }) != "no error");
  CHECK(invalid([] { JwtKeyring({{"", kSecret1}}, ""); }) != "no error");
  CHECK(invalid([] { JwtKeyring::from_json("not json", "k1"); }) != "no error");
  CHECK(invalid([] { JwtKeyring::from_json("[]", "k1"); }) != "no error");
  CHECK(invalid([] { JwtKeyring::from_json(R"({"k1": 5})", "k1"); }) != "no error");
  CHECK(invalid([&] {
          JwtKeyring::from_json(json{{"k1", kSecret1}, {"k2", kSecret2}}.dump(), "");
        }) != "no error");

  const auto ring = JwtKeyring::from_json(json{{"k1", kSecret1}}.dump(), "");
  CHECK(ring.active_kid() == "k1");
}

TEST_CASE("jwt: a generated keyring has a strong secret and loads back", "[unit]") {
  const auto generated = loyalty::auth::generate_jwt_keyring();
  CHECK(generated.kid.size() > 1);
  const json parsed = json::parse(generated.json);
  REQUIRE(parsed.size() == 1);
  const std::string secret = parsed.at(generated.kid).get<std::string>();
  CHECK(crypto::base64url_decode(secret)->size() == 32);
  CHECK(loyalty::auth::generate_jwt_keyring().json != generated.json);

  const auto ring = JwtKeyring::from_json(generated.json, generated.kid);
  CHECK(ring.verify(ring.sign(sample_claims()), kNowTp).status == JwtStatus::ok);
  CHECK(loyalty::auth::generate_jwt_keyring("k2024").kid == "k2024");
}
