// libFuzzer target for access-token verification (auth::JwtKeyring::verify), which every
// dashboard request runs on a bearer token a stranger chose.
//
// An input without a newline is a token, verified as given. An input "HEADER\nPAYLOAD" is two
// JSON texts that are base64url-encoded and signed with the keyring's secret (the one the
// header's kid names, if any), so the fuzzer also reaches the claim checks that only an
// authentic token gets to. verify() must never throw; a token it accepts must carry the claims
// of its payload, re-sign to a token that verifies to the same claims, and stop verifying when
// its signature changes.
//
//   scripts/fuzz jwt
#include <loyalty/auth/jwt.hpp>
#include <loyalty/core/crypto.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace auth = loyalty::auth;
namespace crypto = loyalty::crypto;

void check(bool promise) {
  if (!promise) __builtin_trap();
}

const std::string kSecret1(32, 'a');
const std::string kSecret2 = "a second secret of thirty-two by";

const auth::JwtKeyring& keyring() {
  static const auth::JwtKeyring ring({{"k1", kSecret1}, {"k2", kSecret2}}, "k1");
  return ring;
}

constexpr std::chrono::sys_seconds kNow{std::chrono::seconds{1'700'000'000}};

// The claims a verified token must carry, read from its payload independently of jwt.cpp.
void check_claims_match(const auth::Claims& claims, std::string_view payload_text) {
  const auto payload = nlohmann::json::parse(payload_text, nullptr, false);
  check(payload.is_object());
  check(payload.value("sub", std::string()) == claims.sub);
  check(payload.value("tenant_id", std::string()) == claims.tenant_id);
  check(payload.value("role", std::string()) == claims.role);
  check(claims.exp > kNow.time_since_epoch().count() - auth::kJwtLeeway.count());
  check(claims.jti.has_value() == payload.contains("jti"));
}

void check_accepted(const std::string& token, const auth::Claims& claims) {
  // Re-signing what was accepted gives a token that verifies to the same claims.
  const std::string resigned = keyring().sign(claims);
  const auto again = keyring().verify(resigned, kNow);
  check(again.status == auth::JwtStatus::ok && again.claims == claims);
  // Any change to the signature is refused.
  std::string tampered = token;
  char& last = tampered.back();
  last = last == 'A' ? 'B' : 'A';
  check(keyring().verify(tampered, kNow).status != auth::JwtStatus::ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);
  const std::size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    const auto verified = keyring().verify(input, kNow);
    check(verified.claims.has_value() == (verified.status == auth::JwtStatus::ok));
    (void)auth::to_string(verified.status);
    if (verified) {
      const auto payload = input.substr(input.find('.') + 1);
      const auto decoded = crypto::base64url_decode(payload.substr(0, payload.find('.')));
      check(decoded.has_value());
      check_claims_match(*verified.claims, *decoded);
      check_accepted(std::string(input), *verified.claims);
    }
    return 0;
  }

  const std::string_view header_text = input.substr(0, newline);
  const std::string_view payload_text = input.substr(newline + 1);
  const std::string signing_input =
      crypto::base64url_encode(header_text) + "." + crypto::base64url_encode(payload_text);
  const auto header = nlohmann::json::parse(header_text, nullptr, false);
  const std::string* secret = &kSecret1;
  if (header.is_object() && header.contains("kid") && header["kid"] == "k2") secret = &kSecret2;
  const std::string token =
      signing_input + "." + crypto::base64url_encode(crypto::hmac_sha256(*secret, signing_input));

  const auto verified = keyring().verify(token, kNow);
  check(verified.claims.has_value() == (verified.status == auth::JwtStatus::ok));
  if (verified) {
    // Only HS256 is ever accepted, whatever else the header says.
    check(header.is_object() && header.value("alg", std::string()) == "HS256");
    check_claims_match(*verified.claims, payload_text);
    check_accepted(token, *verified.claims);
  }
  return 0;
}
