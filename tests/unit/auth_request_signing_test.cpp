#include <loyalty/auth/request_signing.hpp>
#include <loyalty/core/error.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace loyalty::auth;

namespace {

const std::string kSecretA = "request-signing-secret-0123456789abcdef";
const std::string kSecretB = "second-request-signing-secret-abcdefghij";
const std::string kMethod = "POST";
const std::string kPath = "/v1/tenants/t1/events?dry_run=1";
const std::string kBody = R"({"amount":"12.50"})";

std::chrono::sys_seconds at(std::int64_t unix_seconds) {
  return std::chrono::sys_seconds{std::chrono::seconds(unix_seconds)};
}

constexpr std::int64_t kNow = 1'700'000'000;

const std::string kTenantA = "6cf7c114-d166-4a95-8af6-9875660b74f9";

HmacKeyring two_keys() {
  return HmacKeyring({{"pos-a", HmacKey::for_tenant(kSecretA, kTenantA)},
                      {"pos-b", HmacKey::for_platform(kSecretB)}});
}

}  // namespace

TEST_CASE("hmac signing: the signature matches an independent computation", "[unit]") {
  // Computed with Python's hmac and hashlib from the documented string to sign.
  CHECK(compute_request_signature(kSecretA, kMethod, kPath, "1700000000", kBody) ==
        "v1=3ad40c2e3ebf182c8bf37d2be7defc158ae4a818512c0102422c55a2f1b639c6");
  const SignedRequest signed_request =
      sign_request("pos-a", kSecretA, kMethod, kPath, kBody, at(kNow));
  CHECK(signed_request.key_id == "pos-a");
  CHECK(signed_request.timestamp == "1700000000");
  CHECK(signed_request.signature ==
        "v1=3ad40c2e3ebf182c8bf37d2be7defc158ae4a818512c0102422c55a2f1b639c6");
}

TEST_CASE("hmac signing: a correctly signed request is accepted once", "[unit]") {
  RequestVerifier verifier(two_keys());
  const auto request = sign_request("pos-a", kSecretA, kMethod, kPath, kBody, at(kNow));
  CHECK(verifier.verify(request, kMethod, kPath, kBody, at(kNow + 10)) == RequestCheck::ok);
  CHECK(verifier.verify(request, kMethod, kPath, kBody, at(kNow + 20)) == RequestCheck::replayed);

  SECTION("changing the hex case does not make a replay fresh") {
    SignedRequest upper = request;
    for (auto& c : upper.signature) c = static_cast<char>(std::toupper(c));
    upper.signature[0] = 'v';
    CHECK(verifier.verify(upper, kMethod, kPath, kBody, at(kNow + 20)) == RequestCheck::replayed);
  }
  SECTION("a new timestamp is a new signature") {
    const auto later = sign_request("pos-a", kSecretA, kMethod, kPath, kBody, at(kNow + 1));
    CHECK(verifier.verify(later, kMethod, kPath, kBody, at(kNow + 20)) == RequestCheck::ok);
  }
}

TEST_CASE("hmac signing: several keys are accepted at once for rotation", "[unit]") {
  RequestVerifier verifier(two_keys());
  const auto with_a = sign_request("pos-a", kSecretA, "GET", "/v1/x", "", at(kNow));
  const auto with_b = sign_request("pos-b", kSecretB, "GET", "/v1/x", "", at(kNow));
  CHECK(verifier.verify(with_a, "GET", "/v1/x", "", at(kNow)) == RequestCheck::ok);
  CHECK(verifier.verify(with_b, "GET", "/v1/x", "", at(kNow)) == RequestCheck::ok);
  CHECK(verifier.keyring().key_ids() == std::vector<std::string>{"pos-a", "pos-b"});
}

TEST_CASE("hmac signing: wrong key, unknown key and altered requests are refused", "[unit]") {
  RequestVerifier verifier(two_keys());
  const auto request = sign_request("pos-a", kSecretA, kMethod, kPath, kBody, at(kNow));

  SECTION("signed with another key's secret") {
    const auto wrong = sign_request("pos-a", kSecretB, kMethod, kPath, kBody, at(kNow));
    CHECK(verifier.verify(wrong, kMethod, kPath, kBody, at(kNow)) == RequestCheck::bad_signature);
  }
  SECTION("a key id that is not configured") {
    const auto unknown = sign_request("pos-z", kSecretA, kMethod, kPath, kBody, at(kNow));
    CHECK(verifier.verify(unknown, kMethod, kPath, kBody, at(kNow)) == RequestCheck::unknown_key);
  }
  SECTION("body, path, query string, method or timestamp changed in transit") {
    CHECK(verifier.verify(request, kMethod, kPath, R"({"amount":"99.50"})", at(kNow)) ==
          RequestCheck::bad_signature);
    CHECK(verifier.verify(request, kMethod, kPath, kBody + " ", at(kNow)) ==
          RequestCheck::bad_signature);
    CHECK(verifier.verify(request, kMethod, "/v1/tenants/t2/events?dry_run=1", kBody, at(kNow)) ==
          RequestCheck::bad_signature);
    CHECK(verifier.verify(request, kMethod, "/v1/tenants/t1/events", kBody, at(kNow)) ==
          RequestCheck::bad_signature);
    CHECK(verifier.verify(request, kMethod, "/v1/tenants/t1/events?dry_run=0", kBody, at(kNow)) ==
          RequestCheck::bad_signature);
    CHECK(verifier.verify(request, kMethod, "/v1/tenants/t1/events?dry_run=1&x=1", kBody,
                          at(kNow)) == RequestCheck::bad_signature);
    CHECK(verifier.verify(request, "PUT", kPath, kBody, at(kNow)) == RequestCheck::bad_signature);
    SignedRequest moved = request;
    moved.timestamp = std::to_string(kNow + 1);
    CHECK(verifier.verify(moved, kMethod, kPath, kBody, at(kNow)) == RequestCheck::bad_signature);
  }
  SECTION("refused requests are not remembered, so the genuine one still passes") {
    const auto wrong = sign_request("pos-a", kSecretB, kMethod, kPath, kBody, at(kNow));
    CHECK(verifier.verify(wrong, kMethod, kPath, kBody, at(kNow)) == RequestCheck::bad_signature);
    CHECK(verifier.remembered() == 0);
    CHECK(verifier.verify(request, kMethod, kPath, kBody, at(kNow)) == RequestCheck::ok);
  }
}

TEST_CASE("hmac signing: timestamps more than 300 seconds away are stale", "[unit]") {
  RequestVerifier verifier(two_keys());
  const auto sign_at = [&](std::int64_t t) {
    return sign_request("pos-a", kSecretA, kMethod, kPath, kBody, at(t));
  };
  CHECK(verifier.verify(sign_at(kNow - 300), kMethod, kPath, kBody, at(kNow)) == RequestCheck::ok);
  CHECK(verifier.verify(sign_at(kNow + 300), kMethod, kPath, kBody, at(kNow)) == RequestCheck::ok);
  CHECK(verifier.verify(sign_at(kNow - 301), kMethod, kPath, kBody, at(kNow)) ==
        RequestCheck::stale_timestamp);
  CHECK(verifier.verify(sign_at(kNow + 301), kMethod, kPath, kBody, at(kNow)) ==
        RequestCheck::stale_timestamp);
  CHECK(verifier.verify(sign_at(0), kMethod, kPath, kBody, at(kNow)) ==
        RequestCheck::stale_timestamp);
}

TEST_CASE("hmac signing: malformed headers are refused", "[unit]") {
  RequestVerifier verifier(two_keys());
  const auto good = sign_request("pos-a", kSecretA, kMethod, kPath, kBody, at(kNow));
  const auto with = [&](auto change) {
    SignedRequest request = good;
    change(request);
    return verifier.verify(request, kMethod, kPath, kBody, at(kNow));
  };
  CHECK(with([](SignedRequest& r) { r.key_id.clear(); }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.key_id = std::string(200, 'k'); }) ==
        RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.timestamp.clear(); }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.timestamp = "abc"; }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.timestamp = "-1700000000"; }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.timestamp = " 1700000000"; }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.timestamp = "1700000000.0"; }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.timestamp = "99999999999999999999"; }) ==
        RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.signature.clear(); }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.signature = r.signature.substr(3); }) ==
        RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.signature[0] = 'V'; }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.signature.pop_back(); }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.signature.back() = 'g'; }) == RequestCheck::malformed);
  CHECK(with([](SignedRequest& r) { r.signature += "00"; }) == RequestCheck::malformed);
}

TEST_CASE("hmac signing: remembered signatures are forgotten once stale", "[unit]") {
  RequestVerifier verifier(two_keys());
  const auto first = sign_request("pos-a", kSecretA, "GET", "/a", "", at(kNow));
  CHECK(verifier.verify(first, "GET", "/a", "", at(kNow)) == RequestCheck::ok);
  CHECK(verifier.remembered() == 1);
  // 301 s later the old signature is stale, and the next accepted request prunes it.
  CHECK(verifier.verify(first, "GET", "/a", "", at(kNow + 301)) == RequestCheck::stale_timestamp);
  const auto second = sign_request("pos-a", kSecretA, "GET", "/a", "", at(kNow + 301));
  CHECK(verifier.verify(second, "GET", "/a", "", at(kNow + 301)) == RequestCheck::ok);
  CHECK(verifier.remembered() == 1);
}

TEST_CASE("hmac signing: a full replay cache refuses instead of forgetting", "[unit]") {
  RequestVerifier verifier(two_keys(), 2);
  const auto request_at = [&](std::int64_t t, const std::string& path) {
    return sign_request("pos-a", kSecretA, "GET", path, "", at(t));
  };
  CHECK(verifier.verify(request_at(kNow, "/1"), "GET", "/1", "", at(kNow)) == RequestCheck::ok);
  CHECK(verifier.verify(request_at(kNow, "/2"), "GET", "/2", "", at(kNow)) == RequestCheck::ok);
  CHECK(verifier.verify(request_at(kNow, "/3"), "GET", "/3", "", at(kNow)) ==
        RequestCheck::replay_cache_full);
  CHECK(verifier.verify(request_at(kNow, "/1"), "GET", "/1", "", at(kNow)) ==
        RequestCheck::replayed);
  CHECK(verifier.verify(request_at(kNow + 301, "/3"), "GET", "/3", "", at(kNow + 301)) ==
        RequestCheck::ok);
}

TEST_CASE("hmac signing: concurrent replays of one request let exactly one through", "[unit]") {
  RequestVerifier verifier(two_keys());
  const auto request = sign_request("pos-a", kSecretA, kMethod, kPath, kBody, at(kNow));
  std::atomic<int> accepted{0};
  std::atomic<int> replayed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j) {
        const auto result = verifier.verify(request, kMethod, kPath, kBody, at(kNow));
        if (result == RequestCheck::ok) ++accepted;
        if (result == RequestCheck::replayed) ++replayed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(accepted == 1);
  CHECK(replayed == 8 * 50 - 1);
}

TEST_CASE("hmac signing: HMAC_KEYS_JSON binds each key to a tenant or to the platform", "[unit]") {
  CHECK(HmacKeyring::from_json("").empty());
  CHECK(HmacKeyring::from_json("  \n").empty());
  CHECK(HmacKeyring::from_json("{}").empty());
  const auto ring =
      HmacKeyring::from_json(R"({"pos-a":{"secret":")" + kSecretA +
                             R"(","tenant_id":"6CF7C114-D166-4A95-8AF6-9875660B74F9"},)" +
                             R"("ops":{"secret":")" + kSecretB + R"(","platform":true}})");
  CHECK(ring.key_ids() == std::vector<std::string>{"ops", "pos-a"});
  REQUIRE(ring.find("pos-a") != nullptr);
  CHECK(ring.find("pos-a")->secret == kSecretA);
  CHECK(ring.find("pos-a")->tenant_id == kTenantA);  // lower-cased, as paths carry it
  CHECK_FALSE(ring.find("pos-a")->platform);
  REQUIRE(ring.find("ops") != nullptr);
  CHECK(ring.find("ops")->platform);
  CHECK(ring.find("ops")->tenant_id.empty());
  CHECK(ring.find("pos-c") == nullptr);

  RequestVerifier empty_verifier{HmacKeyring()};
  CHECK(empty_verifier.verify(sign_request("pos-a", kSecretA, "GET", "/", "", at(kNow)), "GET", "/",
                              "", at(kNow)) == RequestCheck::unknown_key);
}

TEST_CASE("hmac signing: a key that says neither its tenant nor platform-wide is refused",
          "[unit]") {
  const auto refused = [](const std::string& json) {
    try {
      HmacKeyring::from_json(json);
    } catch (const loyalty::Error& error) {
      CHECK(error.code() == loyalty::ErrorCode::invalid);
      return std::string(error.what());
    }
    FAIL("accepted: " << json);
    return std::string();
  };
  // The old form, a bare secret, binds the key to nothing: refused with a message that says so
  // and never echoes the secret.
  const auto bare = refused(R"({"erp": ")" + kSecretA + R"("})");
  CHECK(bare.find("'erp'") != std::string::npos);
  CHECK(bare.find("bare secret") != std::string::npos);
  CHECK(bare.find("tenant_id") != std::string::npos);
  CHECK(bare.find("platform") != std::string::npos);
  CHECK(bare.find(kSecretA) == std::string::npos);

  CHECK(refused(R"({"erp": {"secret": ")" + kSecretA + R"("}})").find("neither") !=
        std::string::npos);
  CHECK(
      refused(R"({"erp": {"secret": ")" + kSecretA + R"(", "platform": false}})").find("neither") !=
      std::string::npos);
  CHECK(refused(R"({"erp": {"secret": ")" + kSecretA + R"(", "platform": true, "tenant_id": ")" +
                kTenantA + R"("}})")
            .find("both") != std::string::npos);
  CHECK(refused(R"({"erp": {"secret": ")" + kSecretA + R"(", "tenant_id": "tenant-a"}})")
            .find("not a uuid") != std::string::npos);
  CHECK(refused(R"({"erp": {"secret": ")" + kSecretA + R"(", "platform": "yes"}})")
            .find("'platform'") != std::string::npos);
  CHECK(refused(R"({"erp": {"secret": ")" + kSecretA + R"(", "tenant": ")" + kTenantA + R"("}})")
            .find("'tenant'") != std::string::npos);
  CHECK(refused(R"({"erp": {"tenant_id": ")" + kTenantA + R"("}})").find("no secret") !=
        std::string::npos);
  refused("[1]");
  refused("{");
  refused(R"({"a": 1})");
  refused(R"({"": {"secret": ")" + kSecretA + R"(", "platform": true}})");
  const auto weak = refused(R"({"pos-a": {"secret": "short-secret", "platform": true}})");
  CHECK(weak.find("pos-a") != std::string::npos);
  CHECK(weak.find("short-secret") == std::string::npos);
}
