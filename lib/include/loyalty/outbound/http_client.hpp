#pragma once

#include <loyalty/outbound/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

/// Outbound HTTP for deliveries (webhooks to merchants' systems, messages to the WhatsApp Graph
/// API): many requests at once from one thread (libcurl's multi interface), each with a deadline,
/// bounded in total and per destination so one slow or dead endpoint never delays the others,
/// every connection vetted against the AddressPolicy at the address actually connected to (no
/// second DNS lookup can swap it: DNS rebinding), and redirects never followed.
namespace loyalty::outbound {

struct Request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};  ///< for the whole attempt, connect included
  /// Requests with the same destination share its concurrency limit (a subscription id, or the
  /// URL's host); empty means the URL's host and port.
  std::string destination;
};

struct Response {
  /// The HTTP status, or 0 when no answer came (refused address, DNS, connect, TLS, timeout).
  int status = 0;
  std::chrono::milliseconds duration{0};
  /// The first Options::keep_body_bytes of the answer's body, as received (may be cut in the
  /// middle of a UTF-8 sequence).
  std::string body;
  /// Empty when an answer came; else one line for people: "timed out after 10 s", "address
  /// refused: loopback", "could not resolve host", "connection refused", "TLS: ..."
  std::string error;
  bool timed_out = false;
  bool address_refused = false;
  /// The answer's Retry-After in seconds when it had one (429, 503), else -1.
  std::int64_t retry_after = -1;
  /// The response headers (names lower case), for callers that need one (webhook-delivery).
  std::vector<std::pair<std::string, std::string>> headers;
  /// 2xx.
  bool ok() const { return status >= 200 && status < 300; }
};

struct ClientOptions {
  AddressPolicy policy;
  std::size_t max_in_flight = 512;       ///< requests in progress at once, in all
  std::size_t max_per_destination = 16;  ///< requests in progress at once to one destination
  std::size_t keep_body_bytes = 1024;    ///< of each answer's body; the rest is read and dropped
  std::size_t max_queued = 100000;       ///< submitted and not started; more are refused
};

/// Thread-safe. Owns one thread that drives every transfer; callbacks run on it and must be
/// quick (hand work to another thread for anything that blocks).
class HttpClient {
 public:
  explicit HttpClient(ClientOptions options);
  /// Stops the thread; requests in progress end with error "client stopped".
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Queues a request; `done` is called exactly once, on the client's thread, with its outcome.
  /// Returns false (and never calls `done`) when max_queued requests are already waiting, or
  /// when the client is being destroyed.
  bool submit(Request request, std::function<void(Response)> done);

  /// Sends one request and waits for its outcome (a test send from an API handler); when it
  /// cannot be queued, the Response's error says so. Must not be called from a `done` callback.
  Response send(Request request);

  std::size_t in_flight() const;
  std::size_t queued() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loyalty::outbound
