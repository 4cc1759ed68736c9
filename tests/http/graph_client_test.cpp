// The WhatsApp Graph client against the fake Graph API on loopback (support/fake_graph): the
// request it sends, the wamid it returns, retries on 5xx and 429 (Retry-After honoured),
// permanent errors, the closed customer-service window, address vetting, and the token kept
// out of every log line.

#include "support/fake_graph.hpp"
#include "support/receiver.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/outbound/retry.hpp>
#include <loyalty/whatsapp/graph_client.hpp>
#include <loyalty/whatsapp/outbound.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <sstream>
#include <string>

using namespace loyalty::whatsapp;
using loyalty::outbound::RetrySchedule;
using loyalty::test::FakeGraph;
using loyalty::test::GraphReply;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "EAAGtestTOKENnever-in-logs";
const std::string kPhoneNumberId = "106540352242922";

GraphOptions loopback(const std::string& api_base) {
  GraphOptions options;
  options.api_base = api_base;
  options.policy.allow_http = true;
  options.policy.allow_private = true;
  options.timeout = 5000ms;
  return options;
}

nlohmann::json reply_buttons() {
  ButtonsMessage m;
  m.body = "You have 120 points. Redeem the free coffee?";
  m.buttons = {{"redeem:coffee", "Redeem"}, {"menu", "Menu"}};
  return buttons_message("263771234567", m);
}

/// Everything spdlog writes, at debug level, while it lives.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() {
    spdlog::set_default_logger(previous_);
    spdlog::drop("captured");
  }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

/// A loopback port that nothing listens on.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

TEST_CASE("whatsapp graph: a send posts the body with the bearer token and returns the wamid",
          "[http]") {
  FakeGraph graph(kToken);
  GraphClient client(loopback(graph.api_base()));
  const auto body = reply_buttons();
  const SendResult result = client.send(kPhoneNumberId, kToken, body);
  CHECK(result.status == SendStatus::sent);
  CHECK(result.http_status == 200);
  CHECK(result.detail == "");
  const auto requests = graph.requests();
  REQUIRE(requests.size() == 1);
  CHECK(result.wamid == requests[0].wamid);
  CHECK(result.wamid.rfind("wamid.", 0) == 0);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/v25.0/106540352242922/messages");
  CHECK(requests[0].headers.at("authorization") == "Bearer " + kToken);
  CHECK(requests[0].headers.at("content-type") == "application/json");
  CHECK(nlohmann::json::parse(requests[0].body) == body);
  CHECK(graph.violations().empty());

  // Each message its own wamid.
  const auto again = client.send(kPhoneNumberId, kToken, text_message("+263771234567", "Hi"));
  CHECK(again.status == SendStatus::sent);
  CHECK(again.wamid != result.wamid);
  CHECK(graph.violations().empty());
}

TEST_CASE("whatsapp graph: a 500 is retryable and the next attempt is sent", "[http]") {
  FakeGraph graph(kToken);
  graph.fail_next(1, 500, 0);
  GraphClient client(loopback(graph.api_base()));
  const auto body = text_message("263771234567", "Your code is ABC123");

  const SendResult first = client.send(kPhoneNumberId, kToken, body);
  CHECK(first.status == SendStatus::retryable);
  CHECK(first.http_status == 500);
  CHECK(first.detail == "answered 500");
  const SendResult second = client.send(kPhoneNumberId, kToken, body);
  CHECK(second.status == SendStatus::sent);

  graph.fail_next(2, 503, 131016, "Service unavailable");
  int attempts = 0;
  const SendResult retried = client.send_with_retries(
      kPhoneNumberId, kToken, body, RetrySchedule::parse("10ms,10ms,10ms"), &attempts);
  CHECK(retried.status == SendStatus::sent);
  CHECK(attempts == 3);
  CHECK(retried.wamid == graph.requests().back().wamid);
  CHECK(graph.requests().size() == 5);
  CHECK(graph.violations().empty());
}

TEST_CASE("whatsapp graph: retries stop when the schedule is used up", "[http]") {
  FakeGraph graph(kToken);
  graph.fail_next(5, 502, 0);
  GraphClient client(loopback(graph.api_base()));
  int attempts = 0;
  const auto result =
      client.send_with_retries(kPhoneNumberId, kToken, text_message("263771234567", "Hi"),
                               RetrySchedule::parse("10ms,10ms"), &attempts);
  CHECK(result.status == SendStatus::retryable);
  CHECK(attempts == 3);
  CHECK(graph.requests().size() == 3);
}

TEST_CASE("whatsapp graph: a 429 waits at least its Retry-After before the next attempt",
          "[http]") {
  FakeGraph graph(kToken);
  graph.fail_next(1, 429, 130429, "Rate limit hit", {{"Retry-After", "1"}});
  GraphClient client(loopback(graph.api_base()));
  const auto body = text_message("263771234567", "Points credited");

  int attempts = 0;
  const SendResult result = client.send_with_retries(kPhoneNumberId, kToken, body,
                                                     RetrySchedule::parse("10ms,10ms"), &attempts);
  CHECK(result.status == SendStatus::sent);
  CHECK(attempts == 2);
  const auto requests = graph.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].status == 429);
  CHECK(requests[1].received - requests[0].received >= 1s);

  graph.fail_next(1, 429, 130429, "Rate limit hit", {{"Retry-After", "30"}});
  const SendResult limited = client.send(kPhoneNumberId, kToken, body);
  CHECK(limited.status == SendStatus::retryable);
  CHECK(limited.retry_after == 30);
  CHECK(limited.error.code == 130429);
  const auto wait = retry_delay(limited, RetrySchedule::parse("10ms"), 1);
  REQUIRE(wait);
  CHECK(*wait >= 30s);
  CHECK(graph.violations().empty());
}

TEST_CASE("whatsapp graph: 131026 (not a WhatsApp user) is permanent and not retried", "[http]") {
  FakeGraph graph(kToken);
  graph.fail_next(1, 400, 131026, "Message Undeliverable.");
  GraphClient client(loopback(graph.api_base()));
  int attempts = 0;
  const SendResult result =
      client.send_with_retries(kPhoneNumberId, kToken, text_message("263771234567", "Welcome"),
                               RetrySchedule::parse("10ms,10ms"), &attempts);
  CHECK(result.status == SendStatus::permanent);
  CHECK(attempts == 1);
  CHECK(result.http_status == 400);
  CHECK(result.error.code == 131026);
  CHECK(result.error.message == "(#131026) Message Undeliverable.");
  CHECK(result.error.fbtrace_id == "AFakeTraceId");
  CHECK(result.detail ==
        "131026 message undeliverable (not a WhatsApp user, or cannot receive it)");
  CHECK(result.wamid == "");
  CHECK(graph.requests().size() == 1);
}

TEST_CASE("whatsapp graph: 131047 says the window is closed and a template then goes out",
          "[http]") {
  FakeGraph graph(kToken);
  graph.answer_next(GraphReply{400, 131047, 2494010, "Re-engagement message", {}});
  GraphClient client(loopback(graph.api_base()));
  int attempts = 0;
  const SendResult closed = client.send_with_retries(
      kPhoneNumberId, kToken, text_message("263771234567", "Your reward: ABC123"),
      RetrySchedule::parse("10ms,10ms"), &attempts);
  CHECK(closed.status == SendStatus::window_closed);
  CHECK(attempts == 1);
  CHECK(closed.error.code == 131047);
  CHECK(closed.error.subcode == 2494010);

  const auto notice = template_message(
      "263771234567", {"reward_issued", "en", {{"", "free coffee"}, {"", "ABC123"}}});
  const SendResult sent = client.send(kPhoneNumberId, kToken, notice);
  CHECK(sent.status == SendStatus::sent);
  CHECK(nlohmann::json::parse(graph.requests().back().body)["type"] == "template");
  CHECK(graph.violations().empty());
}

TEST_CASE("whatsapp graph: a wrong token is a permanent 190 and the fake notes it", "[http]") {
  FakeGraph graph(kToken);
  GraphClient client(loopback(graph.api_base()));
  const SendResult result =
      client.send(kPhoneNumberId, "EAAGwrong", text_message("263771234567", "Hi"));
  CHECK(result.status == SendStatus::permanent);
  CHECK(result.http_status == 401);
  CHECK(result.error.code == 190);
  CHECK(graph.violations() ==
        std::vector<std::string>{"request 0: Authorization is not the bearer token"});
}

TEST_CASE("whatsapp graph: the fake refuses a body off Meta's shapes, and the client says so",
          "[http]") {
  FakeGraph graph(kToken);
  GraphClient client(loopback(graph.api_base()));
  nlohmann::json body = text_message("263771234567", "Hi");
  body["text"]["body"] = std::string(4097, 'x');  // past the builder, as a bug would be
  const SendResult result = client.send(kPhoneNumberId, kToken, body);
  CHECK(result.status == SendStatus::permanent);
  CHECK(result.error.code == 100);
  CHECK(graph.violations() ==
        std::vector<std::string>{"request 0: /text/body: 4097 characters, at most 4096"});
}

TEST_CASE("whatsapp graph: the token never reaches a log line, a detail or an error", "[http]") {
  CapturedLog log;
  {
    FakeGraph graph(kToken);
    graph.fail_next(1, 500, 0);
    graph.fail_next(1, 400, 131026, "Message Undeliverable.");
    GraphClient client(loopback(graph.api_base()));
    const auto body = text_message("263771234567", "Hi");
    std::vector<SendResult> results;
    results.push_back(client.send(kPhoneNumberId, kToken, body));
    results.push_back(client.send(kPhoneNumberId, kToken, body));
    results.push_back(
        client.send_with_retries(kPhoneNumberId, kToken, body, RetrySchedule::parse("10ms")));
    for (const auto& result : results) {
      CHECK(result.detail.find(kToken) == std::string::npos);
      CHECK(result.error.message.find(kToken) == std::string::npos);
    }
    CHECK(results[0].status == SendStatus::retryable);
    CHECK(results[1].status == SendStatus::permanent);
    CHECK(results[2].status == SendStatus::sent);

    GraphClient unreachable(loopback("http://127.0.0.1:" + std::to_string(closed_port())));
    CHECK(unreachable.send(kPhoneNumberId, kToken, body).status == SendStatus::retryable);
    try {
      client.send(kPhoneNumberId, kToken + "\r\nX-Injected: 1", body);
      FAIL("a token that would split the header was sent");
    } catch (const loyalty::Error& e) {
      CHECK(e.type() == "whatsapp-token-invalid");
      CHECK(std::string(e.what()).find(kToken) == std::string::npos);
    }
  }
  const std::string text = log.text();
  CHECK(text.find("whatsapp.send") != std::string::npos);  // the sends were logged
  CHECK(text.find(kToken) == std::string::npos);
  CHECK(text.find("263771234567") == std::string::npos);  // nor the customer's number
}

TEST_CASE("whatsapp graph: the API base is vetted against the caller's address policy", "[http]") {
  FakeGraph graph(kToken);
  GraphOptions options = loopback(graph.api_base());
  options.policy.allow_http = false;
  try {
    GraphClient client(options);
    FAIL("an http API base was accepted without allow_http");
  } catch (const loyalty::Error& e) {
    CHECK(e.code() == loyalty::ErrorCode::invalid);
    CHECK(e.type() == "whatsapp-api-base-invalid");
    CHECK(std::string(e.what()) == "the WhatsApp API base is not an https URL");
  }
  for (const auto* bad : {"graph.facebook.com/v25.0", "ftp://graph.facebook.com",
                          "https://graph.facebook.com/v25.0?access_token=x", ""}) {
    INFO(bad);
    GraphOptions wrong;
    wrong.api_base = bad;
    CHECK_THROWS_AS(GraphClient(wrong), loyalty::Error);
  }
  CHECK_NOTHROW(GraphClient(GraphOptions{}));  // Meta's own, https

  // http allowed, private addresses not: loopback is refused before connecting, for good.
  options.policy.allow_http = true;
  options.policy.allow_private = false;
  GraphClient client(options);
  const SendResult result = client.send(kPhoneNumberId, kToken, text_message("263771234567", "Hi"));
  CHECK(result.status == SendStatus::permanent);
  CHECK(result.detail == "address refused: loopback");
  CHECK(graph.requests().empty());
}

TEST_CASE("whatsapp graph: a timeout or a refused connection is retryable", "[http]") {
  loyalty::test::Receiver silent([](const loyalty::test::ReceivedRequest&) {
    return loyalty::test::ReceiverReply{200, {}, "", true};
  });
  GraphOptions options = loopback(silent.url("/v25.0"));
  options.timeout = 300ms;
  GraphClient client(options);
  const SendResult timed_out =
      client.send(kPhoneNumberId, kToken, text_message("263771234567", "Hi"));
  CHECK(timed_out.status == SendStatus::retryable);
  CHECK(timed_out.http_status == 0);
  CHECK(timed_out.detail.find("timed out") != std::string::npos);

  GraphClient nobody(loopback("http://127.0.0.1:" + std::to_string(closed_port()) + "/v25.0"));
  const SendResult refused =
      nobody.send(kPhoneNumberId, kToken, text_message("263771234567", "Hi"));
  CHECK(refused.status == SendStatus::retryable);
  CHECK(refused.detail == "connection refused");
}

TEST_CASE("whatsapp graph: submit reports the outcome through its callback", "[http]") {
  FakeGraph graph(kToken);
  graph.fail_next(1, 400, 131047);
  GraphClient client(loopback(graph.api_base()));
  std::mutex mutex;
  std::condition_variable done;
  std::vector<SendResult> results;
  for (int i = 0; i < 2; ++i) {
    CHECK(client.submit(kPhoneNumberId, kToken, text_message("263771234567", "Hi"),
                        [&](SendResult result) {
                          std::lock_guard lock(mutex);
                          results.push_back(std::move(result));
                          done.notify_all();
                        }));
    // One at a time, so the scripted answer goes to the first.
    std::unique_lock lock(mutex);
    REQUIRE(done.wait_for(lock, 5s, [&] { return results.size() == std::size_t(i + 1); }));
  }
  CHECK(results[0].status == SendStatus::window_closed);
  CHECK(results[1].status == SendStatus::sent);
  CHECK(results[1].wamid == graph.requests()[1].wamid);
}

TEST_CASE("whatsapp graph: a phone number id that is not digits is refused before sending",
          "[http]") {
  FakeGraph graph(kToken);
  GraphClient client(loopback(graph.api_base()));
  for (const auto* bad : {"", "../../me", "1065/messages?x=", "１２３"}) {
    INFO(bad);
    try {
      client.send(bad, kToken, text_message("263771234567", "Hi"));
      FAIL("sent to a malformed phone number id");
    } catch (const loyalty::Error& e) {
      CHECK(e.type() == "whatsapp-phone-number-id-invalid");
    }
  }
  CHECK(graph.requests().empty());
  CHECK(client.messages_url("123") == graph.api_base() + "/123/messages");
}
