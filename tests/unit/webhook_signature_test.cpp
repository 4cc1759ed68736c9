#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/webhooks/signature.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

using namespace loyalty::webhooks;
using nlohmann::json;

namespace {

json load_vectors() {
  std::ifstream file(std::string(LOYALTY_SOURCE_DIR) +
                     "/tests/data/webhooks/standard_webhooks_vectors.json");
  REQUIRE(file.good());
  return json::parse(file);
}

std::chrono::sys_seconds at(std::int64_t unix_seconds) {
  return std::chrono::sys_seconds{std::chrono::seconds(unix_seconds)};
}

}  // namespace

TEST_CASE("webhook signatures: the Standard Webhooks reference vectors reproduce", "[unit]") {
  const json vectors = load_vectors();
  REQUIRE(vectors.at("vectors").size() == 2);
  for (const auto& vector : vectors.at("vectors")) {
    INFO(vector.at("name").get<std::string>());
    const auto secret = vector.at("secret").get<std::string>();
    const auto msg_id = vector.at("msg_id").get<std::string>();
    const auto timestamp = vector.at("timestamp").get<std::int64_t>();
    const auto payload = vector.at("payload").get<std::string>();
    const auto expected = vector.at("expected_signature").get<std::string>();

    CHECK(sign_webhook(secret, msg_id, timestamp, payload) == expected);
    const auto headers = webhook_headers({secret}, msg_id, at(timestamp), payload);
    CHECK(headers.id == msg_id);
    CHECK(headers.timestamp == std::to_string(timestamp));
    CHECK(headers.signature == expected);
    CHECK(verify_webhook(secret, msg_id, std::to_string(timestamp), expected, payload,
                         at(timestamp)) == WebhookCheck::ok);
  }
}

TEST_CASE("webhook signatures: wrong signatures, bodies and secrets are refused", "[unit]") {
  const json vectors = load_vectors();
  const json& vector = vectors.at("vectors").at(0);
  const auto secret = vector.at("secret").get<std::string>();
  const auto msg_id = vector.at("msg_id").get<std::string>();
  const auto timestamp = std::to_string(vector.at("timestamp").get<std::int64_t>());
  const auto payload = vector.at("payload").get<std::string>();
  const auto expected = vector.at("expected_signature").get<std::string>();
  const auto now = at(vector.at("timestamp").get<std::int64_t>());
  const auto one_off =
      vectors.at("negative_and_edge_cases").at("invalid_signature_one_char_off").get<std::string>();

  CHECK(verify_webhook(secret, msg_id, timestamp, one_off, payload, now) ==
        WebhookCheck::bad_signature);
  CHECK(verify_webhook(secret, msg_id, timestamp, expected, payload + " ", now) ==
        WebhookCheck::bad_signature);
  CHECK(verify_webhook(secret, "msg_other", timestamp, expected, payload, now) ==
        WebhookCheck::bad_signature);
  CHECK(verify_webhook(generate_webhook_secret(), msg_id, timestamp, expected, payload, now) ==
        WebhookCheck::bad_signature);
  CHECK(verify_webhook(secret, msg_id, timestamp, "v1,not base64!", payload, now) ==
        WebhookCheck::bad_signature);
  // The same MAC under another scheme's identifier is not a v1 signature.
  CHECK(verify_webhook(secret, msg_id, timestamp, "v2" + expected.substr(2), payload, now) ==
        WebhookCheck::bad_signature);
}

TEST_CASE("webhook signatures: any v1 entry of a space-separated list may match", "[unit]") {
  const json vectors = load_vectors();
  const json& vector = vectors.at("vectors").at(0);
  const auto secret = vector.at("secret").get<std::string>();
  const auto msg_id = vector.at("msg_id").get<std::string>();
  const auto timestamp = std::to_string(vector.at("timestamp").get<std::int64_t>());
  const auto payload = vector.at("payload").get<std::string>();
  const auto now = at(vector.at("timestamp").get<std::int64_t>());

  std::string header;
  for (const auto& element :
       vectors.at("negative_and_edge_cases").at("multi_signature_header_example_elements")) {
    std::string entry = element.get<std::string>();
    if (entry == "<valid signature>") entry = vector.at("expected_signature").get<std::string>();
    header += (header.empty() ? "" : " ") + entry;
  }
  CHECK(verify_webhook(secret, msg_id, timestamp, header, payload, now) == WebhookCheck::ok);

  const std::string without_valid =
      "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/"
      "9tdO6mc=";
  CHECK(verify_webhook(secret, msg_id, timestamp, without_valid, payload, now) ==
        WebhookCheck::bad_signature);
}

TEST_CASE("webhook signatures: rotation signs with both secrets and each verifies", "[unit]") {
  const std::string old_secret = generate_webhook_secret();
  const std::string new_secret = generate_webhook_secret();
  const std::string body = R"({"type":"reward.issued","data":{}})";
  const auto headers = webhook_headers({old_secret, new_secret}, "msg_1", at(1'700'000'000), body);
  CHECK(std::count(headers.signature.begin(), headers.signature.end(), ' ') == 1);
  for (const auto& secret : {old_secret, new_secret}) {
    CHECK(verify_webhook(secret, headers.id, headers.timestamp, headers.signature, body,
                         at(1'700'000'000)) == WebhookCheck::ok);
  }
  CHECK_THROWS_AS(webhook_headers({}, "msg_1", at(1'700'000'000), body), loyalty::Error);
}

TEST_CASE("webhook signatures: timestamps more than 5 minutes away are refused", "[unit]") {
  const std::string secret = generate_webhook_secret();
  const std::int64_t t = 1'700'000'000;
  const std::string signature = sign_webhook(secret, "msg_1", t, "{}");
  const std::string ts = std::to_string(t);
  CHECK(verify_webhook(secret, "msg_1", ts, signature, "{}", at(t + 300)) == WebhookCheck::ok);
  CHECK(verify_webhook(secret, "msg_1", ts, signature, "{}", at(t - 300)) == WebhookCheck::ok);
  CHECK(verify_webhook(secret, "msg_1", ts, signature, "{}", at(t + 301)) ==
        WebhookCheck::stale_timestamp);
  CHECK(verify_webhook(secret, "msg_1", ts, signature, "{}", at(t - 301)) ==
        WebhookCheck::stale_timestamp);
}

TEST_CASE("webhook signatures: missing or malformed headers are refused", "[unit]") {
  const std::string secret = generate_webhook_secret();
  const std::int64_t t = 1'700'000'000;
  const std::string signature = sign_webhook(secret, "msg_1", t, "{}");
  for (const char* timestamp :
       {"", "abc", "161426533.0", "1700000000 ", "+1700000000", "1700000000000000000000"}) {
    INFO(timestamp);
    CHECK(verify_webhook(secret, "msg_1", timestamp, signature, "{}", at(t)) ==
          WebhookCheck::malformed);
  }
  CHECK(verify_webhook(secret, "", std::to_string(t), signature, "{}", at(t)) ==
        WebhookCheck::malformed);
  CHECK(verify_webhook(secret, "msg_1", std::to_string(t), "", "{}", at(t)) ==
        WebhookCheck::malformed);
  CHECK(verify_webhook("whsec_!!!", "msg_1", std::to_string(t), signature, "{}", at(t)) ==
        WebhookCheck::malformed);
  CHECK(verify_webhook("whsec_", "msg_1", std::to_string(t), signature, "{}", at(t)) ==
        WebhookCheck::malformed);
}

TEST_CASE("webhook signatures: secrets decode with or without padding", "[unit]") {
  const json cases = load_vectors().at("negative_and_edge_cases").at("unpadded_secret_cases");
  for (const auto& [name, value] : cases.items()) {
    INFO(name);
    const std::string base64 = value.get<std::string>();
    const auto unpadded = decode_webhook_secret("whsec_" + base64);
    REQUIRE(unpadded);
    const std::string padding((4 - base64.size() % 4) % 4, '=');
    CHECK(decode_webhook_secret("whsec_" + base64 + padding) == unpadded);
    CHECK(decode_webhook_secret(base64) == unpadded);
    const std::string signature = sign_webhook("whsec_" + base64, "msg_1", 1614265330, "{}");
    CHECK(verify_webhook("whsec_" + base64 + padding, "msg_1", "1614265330", signature, "{}",
                         at(1614265330)) == WebhookCheck::ok);
  }
  CHECK_FALSE(decode_webhook_secret("whsec_").has_value());
  CHECK_FALSE(decode_webhook_secret("whsec_a").has_value());
  CHECK_FALSE(decode_webhook_secret("whsec_MfKQ9r8G KYqrTwjU").has_value());
}

TEST_CASE("webhook signatures: signing refuses inputs the spec forbids", "[unit]") {
  const std::string secret = generate_webhook_secret();
  CHECK_THROWS_AS(sign_webhook(secret, "msg_1", -161426533, "{}"), loyalty::Error);
  CHECK_THROWS_AS(sign_webhook(secret, "msg.1", 1614265330, "{}"), loyalty::Error);
  CHECK_THROWS_AS(sign_webhook(secret, "", 1614265330, "{}"), loyalty::Error);
  CHECK_THROWS_AS(sign_webhook("whsec_***", "msg_1", 1614265330, "{}"), loyalty::Error);
}

TEST_CASE("webhook signatures: generated secrets are whsec_ and 32 random bytes", "[unit]") {
  const std::string secret = generate_webhook_secret();
  CHECK(secret.rfind("whsec_", 0) == 0);
  const auto key = decode_webhook_secret(secret);
  REQUIRE(key);
  CHECK(key->size() == 32);
  CHECK(generate_webhook_secret() != secret);
}
