// libFuzzer target for HMAC request signing (auth::RequestVerifier::verify): the three headers
// a server-to-server caller sends, checked against the method, target and body.
//
// The input is six lines: X-Loyalty-Key-Id, X-Loyalty-Timestamp, X-Loyalty-Signature, the
// method, the request target, then the body (the rest, newlines included). The headers are
// verified as given, and once more with the signature replaced by the correct one for the
// key named (when it is configured), whose outcome is predicted here from the documented rules:
// header form, key, a ±300 s window, then a signature accepted once and refused as replayed
// after, whatever the case of its hex digits; a changed body is a bad signature. verify() must
// never throw.
//
//   scripts/fuzz request_signing
#include <loyalty/auth/request_signing.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace auth = loyalty::auth;
using auth::RequestCheck;

void check(bool promise) {
  if (!promise) __builtin_trap();
}

const std::string kSecret1(32, 's');
const std::string kSecret2 = "another secret, 32 bytes or more";

const auth::HmacKeyring& keyring() {
  static const auth::HmacKeyring ring(
      {{"pos-1", auth::HmacKey::for_tenant(kSecret1, "6cf7c114-d166-4a95-8af6-9875660b74f9")},
       {"k2", auth::HmacKey::for_platform(kSecret2)}});
  return ring;
}

constexpr std::int64_t kNowSeconds = 1'700'000'000;
constexpr std::chrono::sys_seconds kNow{std::chrono::seconds{kNowSeconds}};

// The header form and window, as the header documents them.
bool well_formed(const auth::SignedRequest& r) {
  if (r.key_id.empty() || r.key_id.size() > 128) return false;
  if (r.timestamp.empty() || r.timestamp.size() > 12) return false;
  return std::all_of(r.timestamp.begin(), r.timestamp.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

bool in_window(const std::string& timestamp) {
  const std::int64_t t = std::stoll(timestamp);
  return t >= kNowSeconds - 300 && t <= kNowSeconds + 300;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(bytes), size);
  std::vector<std::string> lines;
  while (lines.size() < 5) {
    const std::size_t newline = rest.find('\n');
    lines.emplace_back(rest.substr(0, newline));
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  }
  const std::string body(rest);
  auth::SignedRequest presented{lines[0], lines[1], lines[2]};
  const std::string& method = lines[3];
  const std::string& target = lines[4];

  {
    auth::RequestVerifier verifier(keyring());
    const RequestCheck result = verifier.verify(presented, method, target, body, kNow);
    (void)auth::to_string(result);
    if (result == RequestCheck::ok) {
      check(verifier.remembered() == 1);
      check(verifier.verify(presented, method, target, body, kNow) == RequestCheck::replayed);
    } else {
      check(verifier.remembered() == 0);
    }
  }

  const auth::HmacKey* key = keyring().find(presented.key_id);
  if (key == nullptr) {
    presented.signature =
        auth::compute_request_signature(kSecret1, method, target, presented.timestamp, body);
    auth::RequestVerifier verifier(keyring());
    const RequestCheck result = verifier.verify(presented, method, target, body, kNow);
    check(result == (well_formed(presented) ? RequestCheck::unknown_key : RequestCheck::malformed));
    return 0;
  }
  presented.signature =
      auth::compute_request_signature(key->secret, method, target, presented.timestamp, body);
  check(presented.signature.size() == 67 && presented.signature.rfind("v1=", 0) == 0);

  auth::RequestVerifier verifier(keyring(), /*capacity=*/4);
  const RequestCheck result = verifier.verify(presented, method, target, body, kNow);
  if (!well_formed(presented)) {
    check(result == RequestCheck::malformed);
    return 0;
  }
  if (!in_window(presented.timestamp)) {
    check(result == RequestCheck::stale_timestamp);
    return 0;
  }
  check(result == RequestCheck::ok);

  // The same signature in capitals is the same signature.
  auth::SignedRequest upper = presented;
  std::transform(
      upper.signature.begin() + 3, upper.signature.end(), upper.signature.begin() + 3,
      [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
  check(verifier.verify(upper, method, target, body, kNow) == RequestCheck::replayed);
  check(verifier.verify(presented, method, target, body, kNow) == RequestCheck::replayed);

  // Another body, method or target under the same signature is refused.
  auth::RequestVerifier fresh(keyring());
  check(fresh.verify(presented, method, target, body + "x", kNow) == RequestCheck::bad_signature);
  check(fresh.verify(presented, method + "X", target, body, kNow) == RequestCheck::bad_signature);
  check(fresh.verify(presented, method, target + "&", body, kNow) == RequestCheck::bad_signature);
  check(fresh.remembered() == 0);
  return 0;
}
