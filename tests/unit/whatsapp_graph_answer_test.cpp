// What the Graph API's answers to a send mean (whatsapp::classify_answer): sent with its wamid,
// retryable, outside the customer-service window, or permanent — from the HTTP status and the
// Graph error code, without a server (the client against a fake one is in tests/http).

#include <loyalty/outbound/http_client.hpp>
#include <loyalty/outbound/retry.hpp>
#include <loyalty/whatsapp/graph_client.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <string>

using namespace loyalty::whatsapp;
using loyalty::outbound::Response;
using loyalty::outbound::RetrySchedule;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream file(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/whatsapp/meta_docs/" + name,
                     std::ios::binary);
  REQUIRE(file.good());
  return std::string(std::istreambuf_iterator<char>(file), {});
}

Response answer(int status, std::string body, std::int64_t retry_after = -1) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.retry_after = retry_after;
  response.duration = 12ms;
  return response;
}

/// A Graph error answer as Meta writes it.
Response graph_error(int status, std::int64_t code, std::int64_t subcode = 0) {
  json error = {
      {"message", "(#" + std::to_string(code) + ") Something about +263771234567"},
      {"type", "OAuthException"},
      {"code", code},
      {"error_data", {{"messaging_product", "whatsapp"}, {"details", "for +263771234567"}}},
      {"fbtrace_id", "Az8or2yhqkZfEZ"}};
  if (subcode != 0) error["error_subcode"] = subcode;
  return answer(status, json{{"error", error}}.dump());
}

}  // namespace

TEST_CASE("whatsapp graph answer: a 200 with messages[0].id is sent with that wamid", "[unit]") {
  for (const auto* name : {"send_message_response.json", "send_message_response_bsuid.json"}) {
    INFO(name);
    const auto result = classify_answer(answer(200, fixture(name)));
    CHECK(result.status == SendStatus::sent);
    CHECK(result.wamid == "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA");
    CHECK(result.http_status == 200);
    CHECK(result.detail == "");
    CHECK(result.error.code == 0);
    CHECK(result.duration == 12ms);
  }
}

TEST_CASE("whatsapp graph answer: a 2xx without a message id is final, never sent twice",
          "[unit]") {
  for (const auto* body : {"{}", "not json", R"({"messages":[]})", R"({"messages":[{"id":7}]})",
                           R"({"messages":"wamid.1"})"}) {
    INFO(body);
    const auto result = classify_answer(answer(200, body));
    CHECK(result.status == SendStatus::permanent);
    CHECK(result.detail == "answered 200 without a message id");
  }
}

TEST_CASE("whatsapp graph answer: no answer is retryable unless the address was refused",
          "[unit]") {
  Response timed_out;
  timed_out.error = "timed out after 10 s";
  timed_out.timed_out = true;
  auto result = classify_answer(timed_out);
  CHECK(result.status == SendStatus::retryable);
  CHECK(result.detail == "timed out after 10 s");
  CHECK(result.http_status == 0);

  Response refused_connection;
  refused_connection.error = "connection refused";
  CHECK(classify_answer(refused_connection).status == SendStatus::retryable);

  Response refused;
  refused.error = "address refused: loopback";
  refused.address_refused = true;
  result = classify_answer(refused);
  CHECK(result.status == SendStatus::permanent);
  CHECK(result.detail == "address refused: loopback");
}

TEST_CASE("whatsapp graph answer: 5xx, 408 and 429 are retryable, with their Retry-After",
          "[unit]") {
  auto result = classify_answer(answer(500, ""));
  CHECK(result.status == SendStatus::retryable);
  CHECK(result.detail == "answered 500");
  CHECK(classify_answer(answer(502, "<html>bad gateway</html>")).status == SendStatus::retryable);
  CHECK(classify_answer(answer(408, "")).status == SendStatus::retryable);
  result = classify_answer(answer(503, "", 7));
  CHECK(result.status == SendStatus::retryable);
  CHECK(result.retry_after == 7);

  auto limited = graph_error(429, 130429);
  limited.retry_after = 2;
  result = classify_answer(limited);
  CHECK(result.status == SendStatus::retryable);
  CHECK(result.retry_after == 2);
  CHECK(result.error.code == 130429);
  CHECK(result.detail == "130429 the phone number's throughput was reached (rate limit)");
  // A permanent code inside a 5xx is still a server in trouble.
  CHECK(classify_answer(graph_error(500, 100)).status == SendStatus::retryable);
}

TEST_CASE("whatsapp graph answer: rate-limit and temporary codes are retryable even as a 400",
          "[unit]") {
  for (const std::int64_t code :
       {1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 131057, 133004}) {
    INFO(code);
    const auto result = classify_answer(graph_error(400, code));
    CHECK(result.status == SendStatus::retryable);
    CHECK(result.error.code == code);
    CHECK_FALSE(graph_error_title(code).empty());
  }
}

TEST_CASE("whatsapp graph answer: 131047 re-engagement means the window is closed", "[unit]") {
  const auto result = classify_answer(graph_error(400, 131047, 2494010));
  CHECK(result.status == SendStatus::window_closed);
  CHECK(result.error.code == 131047);
  CHECK(result.error.subcode == 2494010);
  CHECK(result.detail ==
        "131047 re-engagement: more than 24 hours since the customer wrote, send a template "
        "(subcode 2494010)");
  CHECK(to_string(result.status) == "window_closed");
  // Not something a later attempt can change.
  CHECK_FALSE(retry_delay(result, RetrySchedule::parse("10ms,10ms"), 1));
  CHECK(classify_answer(graph_error(500, 131047)).status == SendStatus::window_closed);
}

TEST_CASE("whatsapp graph answer: other 4xx answers are permanent, with Graph's error kept",
          "[unit]") {
  auto result = classify_answer(graph_error(400, 131026));
  CHECK(result.status == SendStatus::permanent);
  CHECK(result.http_status == 400);
  CHECK(result.detail ==
        "131026 message undeliverable (not a WhatsApp user, or cannot receive it)");
  CHECK(result.error.type == "OAuthException");
  CHECK(result.error.message == "(#131026) Something about +263771234567");
  CHECK(result.error.details == "for +263771234567");
  CHECK(result.error.fbtrace_id == "Az8or2yhqkZfEZ");
  // The detail is for logs: nothing of the request (a phone number) gets into it.
  CHECK(result.detail.find("263") == std::string::npos);

  result = classify_answer(graph_error(401, 190, 463));
  CHECK(result.status == SendStatus::permanent);
  CHECK(result.detail == "190 the access token has expired or is invalid (subcode 463)");
  CHECK(classify_answer(graph_error(400, 100)).detail == "100 invalid parameter");
  CHECK(classify_answer(graph_error(403, 250)).detail == "250 permission denied");
  for (const std::int64_t code :
       {0,      3,      10,     33,     368,    130472, 131008, 131009, 131021, 131031,
        131049, 131050, 131051, 131062, 132000, 132001, 132012, 132015, 132016, 133010}) {
    INFO(code);
    CHECK(classify_answer(graph_error(400, code)).status == SendStatus::permanent);
  }
  result = classify_answer(graph_error(400, 999999));
  CHECK(result.status == SendStatus::permanent);
  CHECK(result.detail == "Graph error 999999 (HTTP 400)");
  CHECK(classify_answer(answer(404, "<html>")).detail == "answered 404");
  CHECK(classify_answer(answer(400, R"({"error":"bad"})")).detail == "answered 400");
  CHECK(classify_answer(answer(302, "")).detail == "answered 302 (redirects are not followed)");
}

TEST_CASE("whatsapp graph answer: retry_delay follows the schedule and honours Retry-After",
          "[unit]") {
  const auto schedule = RetrySchedule::parse("100ms,200ms");
  const auto retryable = classify_answer(answer(500, ""));
  const auto first = retry_delay(retryable, schedule, 1);
  REQUIRE(first);
  CHECK(*first <= 100ms);
  CHECK(retry_delay(retryable, schedule, 2));
  CHECK_FALSE(retry_delay(retryable, schedule, 3));  // the schedule is used up

  const auto limited = classify_answer(answer(429, "", 3));
  const auto wait = retry_delay(limited, schedule, 1);
  REQUIRE(wait);
  CHECK(*wait >= 3000ms);
  CHECK_FALSE(retry_delay(classify_answer(graph_error(400, 131026)), schedule, 1));
  CHECK_FALSE(retry_delay(classify_answer(answer(200, fixture("send_message_response.json"))),
                          schedule, 1));
}
