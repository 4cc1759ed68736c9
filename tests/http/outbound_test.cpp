// The outbound HTTP client against real receivers on loopback: answers, timeouts, limits per
// destination and in total, and address vetting at the address actually connected to.

#include "support/receiver.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/outbound/address.hpp>
#include <loyalty/outbound/http_client.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace loyalty::outbound;
using loyalty::test::ReceivedRequest;
using loyalty::test::Receiver;
using loyalty::test::ReceiverReply;
using namespace std::chrono_literals;

namespace {

/// Loopback receivers are private addresses: these tests allow them unless they test refusal.
ClientOptions loopback_options() {
  ClientOptions options;
  options.policy.allow_http = true;
  options.policy.allow_private = true;
  return options;
}

Request get(const std::string& url, std::chrono::milliseconds timeout = 5000ms) {
  Request request;
  request.method = "GET";
  request.url = url;
  request.timeout = timeout;
  return request;
}

std::string header(const Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

/// Outcomes of submitted requests in the order they completed.
class Completions {
 public:
  std::function<void(Response)> callback(std::string label) {
    return [this, label](Response response) {
      std::lock_guard lock(mutex_);
      order_.push_back(label);
      events_.push_back(label + " done");
      responses_.emplace_back(label, std::move(response));
      changed_.notify_all();
    };
  }
  /// Notes something that happened elsewhere (a receiver's handler) among the completions.
  void note(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return order_.size() >= count; });
  }
  std::vector<std::string> order() {
    std::lock_guard lock(mutex_);
    return order_;
  }
  std::vector<std::pair<std::string, Response>> responses() {
    std::lock_guard lock(mutex_);
    return responses_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> order_;
  std::vector<std::string> events_;
  std::vector<std::pair<std::string, Response>> responses_;
};

/// How many file descriptors this process has open.
std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

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

TEST_CASE("outbound: a 200 answer gives its status, headers and the first keep_body_bytes",
          "[http]") {
  const std::string big(1024 * 1024, 'x');
  std::string pattern;
  for (int i = 0; pattern.size() < big.size(); ++i) pattern += std::to_string(i) + ",";
  pattern.resize(big.size());
  Receiver receiver([&](const ReceivedRequest& request) {
    if (request.target == "/big") return ReceiverReply{200, {}, pattern, false};
    if (request.target == "/many-headers") {
      ReceiverReply reply{200, {{"X-Long", std::string(17 * 1024, 'h')}}, "", false};
      for (int i = 0; i < 150; ++i) reply.headers.emplace_back("X-N-" + std::to_string(i), "v");
      return reply;
    }
    return ReceiverReply{200, {{"X-Reply", "yes"}}, "hello", false};
  });
  HttpClient client(loopback_options());

  Request post;
  post.url = receiver.url("/hook?token=secret");
  post.headers = {{"Content-Type", "application/json"}, {"webhook-id", "msg_1"}};
  post.body = R"({"type":"reward.issued"})";
  const Response answered = client.send(post);
  CHECK(answered.error == "");
  CHECK(answered.status == 200);
  CHECK(answered.ok());
  CHECK(answered.body == "hello");
  CHECK(header(answered, "x-reply") == "yes");
  CHECK(answered.retry_after == -1);
  CHECK_FALSE(answered.timed_out);
  CHECK_FALSE(answered.address_refused);
  const auto seen = receiver.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/hook?token=secret");
  CHECK(seen[0].headers.at("webhook-id") == "msg_1");
  CHECK(seen[0].headers.at("content-type") == "application/json");
  CHECK(seen[0].body == R"({"type":"reward.issued"})");

  // A 1 MB answer: the whole of it is read (the transfer ends normally), the first KiB kept.
  const Response large = client.send(get(receiver.url("/big")));
  CHECK(large.error == "");
  CHECK(large.status == 200);
  CHECK(large.body == pattern.substr(0, 1024));

  // Headers are kept up to 100 of them and 16 KiB; the answer itself is not cut short.
  const Response crowded = client.send(get(receiver.url("/many-headers")));
  CHECK(crowded.status == 200);
  CHECK(crowded.error == "");
  CHECK(header(crowded, "x-long") == "");
  CHECK(crowded.headers.size() == 100);
  CHECK(header(crowded, "x-n-0") == "v");

  // A 2 MB body goes out whole and without an Expect: 100-continue round trip.
  Request upload;
  upload.url = receiver.url("/upload");
  upload.body = big + big;
  CHECK(client.send(upload).status == 200);
  const auto uploads = receiver.requests();
  REQUIRE(uploads.size() == 4);
  CHECK(uploads[3].body.size() == 2 * big.size());
  CHECK(uploads[3].headers.count("expect") == 0);
}

TEST_CASE("outbound: a 500 and a 503 are answers that failed, and a 302 is not followed",
          "[http]") {
  Receiver elsewhere;
  Receiver receiver([&](const ReceivedRequest& request) {
    if (request.target == "/500") return ReceiverReply{500, {}, "boom", false};
    if (request.target == "/503") return ReceiverReply{503, {{"Retry-After", "7"}}, "", false};
    return ReceiverReply{302, {{"Location", elsewhere.url("/moved")}}, "", false};
  });
  HttpClient client(loopback_options());

  const Response error = client.send(get(receiver.url("/500")));
  CHECK(error.status == 500);
  CHECK_FALSE(error.ok());
  CHECK(error.body == "boom");
  CHECK(error.error == "");

  const Response unavailable = client.send(get(receiver.url("/503")));
  CHECK(unavailable.status == 503);
  CHECK(unavailable.retry_after == 7);

  const Response redirect = client.send(get(receiver.url("/302")));
  CHECK(redirect.status == 302);
  CHECK_FALSE(redirect.ok());
  CHECK(header(redirect, "location") == elsewhere.url("/moved"));
  CHECK(elsewhere.connections() == 0);
  CHECK(elsewhere.requests().empty());
}

TEST_CASE(
    "outbound: a destination that never answers times out at the request's timeout, and "
    "requests to another destination complete meanwhile",
    "[http]") {
  Completions completions;
  Receiver dead([&](const ReceivedRequest&) {
    completions.note("dead arrived");
    return ReceiverReply{200, {}, "", true};
  });
  Receiver alive;
  ClientOptions options = loopback_options();
  options.max_per_destination = 2;
  HttpClient client(options);

  // Three to the dead destination: two fill its slots, the third waits for one of them.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(client.submit(get(dead.url("/slow"), 1000ms), completions.callback("dead")));
  }
  REQUIRE(dead.wait_for_in_progress(2, 5000ms));
  for (int i = 0; i < 6; ++i) {
    REQUIRE(client.submit(get(alive.url("/fast")), completions.callback("alive")));
  }
  REQUIRE(completions.wait_for(9, 10000ms));

  const auto order = completions.order();
  const auto first_dead = std::find(order.begin(), order.end(), "dead");
  CHECK(std::count(order.begin(), first_dead, "alive") == 6);
  for (const auto& [label, response] : completions.responses()) {
    INFO(label << ": " << response.error);
    if (label == "alive") {
      CHECK(response.status == 200);
    } else {
      CHECK(response.timed_out);
      CHECK(response.status == 0);
      CHECK(response.error == "timed out after 1 s");
      CHECK_FALSE(response.address_refused);
    }
  }
  // The third request to the dead destination started only once one of the first two ended.
  const auto events = completions.events();
  const auto first_end = std::find(events.begin(), events.end(), "dead done");
  CHECK(std::count(events.begin(), first_end, "dead arrived") == 2);
  CHECK(std::count(events.begin(), events.end(), "dead arrived") == 3);
}

TEST_CASE("outbound: no more than max_per_destination requests run at once to one destination",
          "[http]") {
  Receiver receiver;
  receiver.close_gate();
  ClientOptions options = loopback_options();
  options.max_per_destination = 3;
  HttpClient client(options);

  Completions completions;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(client.submit(get(receiver.url("/" + std::to_string(i))), completions.callback("r")));
  }
  REQUIRE(receiver.wait_for_in_progress(3, 5000ms));
  // Time for a fourth to arrive if the limit were not kept.
  std::this_thread::sleep_for(300ms);
  CHECK(receiver.in_progress() == 3);
  CHECK(client.in_flight() == 3);
  CHECK(client.queued() == 7);
  receiver.open_gate();
  REQUIRE(completions.wait_for(10, 10000ms));
  for (const auto& [label, response] : completions.responses()) CHECK(response.status == 200);
  CHECK(receiver.requests().size() == 10);
  CHECK(receiver.max_in_progress() == 3);
  CHECK(client.in_flight() == 0);
  CHECK(client.queued() == 0);
}

TEST_CASE("outbound: max_in_flight bounds the requests in progress across destinations", "[http]") {
  Receiver first;
  Receiver second;
  first.close_gate();
  second.close_gate();
  ClientOptions options = loopback_options();
  options.max_in_flight = 3;
  options.max_per_destination = 3;
  HttpClient client(options);

  Completions completions;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(client.submit(get(first.url()), completions.callback("first")));
    REQUIRE(client.submit(get(second.url()), completions.callback("second")));
  }
  REQUIRE(first.wait_for_in_progress(1, 5000ms));
  REQUIRE(second.wait_for_in_progress(1, 5000ms));
  // Time for a fourth to arrive if the limit were not kept.
  std::this_thread::sleep_for(300ms);
  CHECK(first.in_progress() + second.in_progress() == 3);
  CHECK(client.in_flight() == 3);
  CHECK(client.queued() == 5);
  first.open_gate();
  second.open_gate();
  REQUIRE(completions.wait_for(8, 10000ms));
  CHECK(first.requests().size() == 4);
  CHECK(second.requests().size() == 4);
}

TEST_CASE("outbound: with private addresses refused, loopback is refused before connecting",
          "[http]") {
  Receiver receiver;
  ClientOptions options;
  options.policy.allow_http = true;
  HttpClient client(options);

  const Response v4 = client.send(get(receiver.url()));
  CHECK(v4.address_refused);
  CHECK(v4.status == 0);
  CHECK(v4.error == "address refused: loopback");
  CHECK_FALSE(v4.timed_out);

  const Response v6 = client.send(get("http://[::1]:" + std::to_string(receiver.port()) + "/"));
  CHECK(v6.address_refused);
  CHECK(v6.error == "address refused: loopback");

  CHECK(receiver.connections() == 0);
}

TEST_CASE(
    "outbound: a name that resolves to 127.0.0.1 is refused at connect though vetting passed "
    "(DNS rebinding)",
    "[http]") {
  Receiver receiver;
  const std::string host_port = "hooks.merchant.example:" + std::to_string(receiver.port());
  const std::string url = "http://" + host_port + "/hook";

  // When the subscription was vetted the name resolved to a public address...
  AddressPolicy at_vetting;
  at_vetting.allow_http = true;
  at_vetting.resolve[host_port] = {"93.184.216.34"};
  CHECK(vet_url(url, at_vetting).addresses == std::vector<std::string>{"93.184.216.34"});

  // ...and at send time it resolves to loopback: the connection is never made.
  ClientOptions options;
  options.policy.allow_http = true;
  options.policy.resolve[host_port] = {"127.0.0.1"};
  {
    HttpClient client(options);
    const Response refused = client.send(get(url));
    CHECK(refused.address_refused);
    CHECK(refused.error == "address refused: loopback");
  }
  CHECK(receiver.connections() == 0);

  // The same resolve entry with private addresses allowed reaches the receiver, by name.
  options.policy.allow_private = true;
  HttpClient allowed(options);
  const Response reached = allowed.send(get(url));
  CHECK(reached.status == 200);
  REQUIRE(receiver.requests().size() == 1);
  CHECK(receiver.requests()[0].headers.at("host") == host_port);
}

TEST_CASE("outbound: submit refuses a request once max_queued are waiting", "[http]") {
  Receiver receiver;
  receiver.close_gate();
  ClientOptions options = loopback_options();
  options.max_in_flight = 1;
  options.max_queued = 2;
  HttpClient client(options);

  Completions completions;
  REQUIRE(client.submit(get(receiver.url("/1")), completions.callback("1")));
  REQUIRE(receiver.wait_for_in_progress(1, 5000ms));
  CHECK(client.submit(get(receiver.url("/2")), completions.callback("2")));
  CHECK(client.submit(get(receiver.url("/3")), completions.callback("3")));
  CHECK(client.queued() == 2);
  CHECK_FALSE(client.submit(get(receiver.url("/4")), completions.callback("4")));
  receiver.open_gate();
  REQUIRE(completions.wait_for(3, 10000ms));
  CHECK(completions.order() == std::vector<std::string>{"1", "2", "3"});
  std::this_thread::sleep_for(100ms);
  CHECK(completions.order().size() == 3);
  CHECK(receiver.requests().size() == 3);
}

TEST_CASE(
    "outbound: destroying the client ends running and queued requests with client stopped, and "
    "leaves no descriptor open",
    "[http]") {
  {
    // Whatever libcurl and OpenSSL open once per process is opened before counting.
    Receiver warm_up;
    HttpClient client(loopback_options());
    REQUIRE(client.send(get(warm_up.url())).status == 200);
  }
  const std::size_t descriptors = open_descriptors();
  Completions completions;
  {
    Receiver receiver([](const ReceivedRequest&) { return ReceiverReply{200, {}, "", true}; });
    Receiver answering;
    ClientOptions options = loopback_options();
    options.max_per_destination = 1;
    auto client = std::make_unique<HttpClient>(options);

    REQUIRE(client->send(get(answering.url())).status == 200);
    REQUIRE(
        client->submit(get(receiver.url("/running"), 30000ms), completions.callback("running")));
    REQUIRE(client->submit(get(receiver.url("/queued"), 30000ms), completions.callback("queued")));
    REQUIRE(receiver.wait_for_in_progress(1, 5000ms));
    client.reset();
  }
  CHECK(open_descriptors() == descriptors);

  const auto responses = completions.responses();
  REQUIRE(responses.size() == 2);
  for (const auto& [label, response] : responses) {
    INFO(label);
    CHECK(response.error == "client stopped");
    CHECK(response.status == 0);
  }
}

TEST_CASE("outbound: failures before an answer are told in one line", "[http]") {
  Receiver receiver;
  ClientOptions options = loopback_options();
  HttpClient client(options);

  const Response refused = client.send(get("http://127.0.0.1:" + std::to_string(closed_port())));
  CHECK(refused.status == 0);
  CHECK(refused.error == "connection refused");
  CHECK_FALSE(refused.address_refused);

  Request injected = get(receiver.url());
  injected.headers = {{"X-Note", "a\r\nX-Injected: 1"}};
  CHECK(client.send(injected).error == "invalid header");
  CHECK(client.send(get("not a url")).error == "malformed URL");

  options.policy.allow_http = false;
  HttpClient https_only(options);
  const Response plain = https_only.send(get(receiver.url()));
  CHECK(plain.status == 0);
  CHECK(plain.error == "only https URLs are sent");
  CHECK(receiver.connections() == 0);
}

TEST_CASE("outbound: vet_url asks the system resolver when policy.resolve has no answer",
          "[http]") {
  try {
    vet_url("https://localhost/hook", AddressPolicy{});
    FAIL("localhost was accepted");
  } catch (const loyalty::Error& e) {
    CHECK(e.type() == "webhook-url-refused");
    CHECK(std::string(e.what()) == "the host resolves to a loopback address");
  }
  AddressPolicy allow_private;
  allow_private.allow_private = true;
  const auto vetted = vet_url("https://localhost/hook", allow_private);
  CHECK(std::find(vetted.addresses.begin(), vetted.addresses.end(), "127.0.0.1") !=
        vetted.addresses.end());
}

TEST_CASE("outbound: a proxy named in the environment is not used", "[http]") {
  Receiver proxy;
  Receiver receiver;
  ::setenv("http_proxy", proxy.url().c_str(), 1);
  ::setenv("HTTPS_PROXY", proxy.url().c_str(), 1);
  {
    HttpClient client(loopback_options());
    CHECK(client.send(get(receiver.url())).status == 200);
  }
  ::unsetenv("http_proxy");
  ::unsetenv("HTTPS_PROXY");
  CHECK(receiver.requests().size() == 1);
  CHECK(proxy.connections() == 0);
}
