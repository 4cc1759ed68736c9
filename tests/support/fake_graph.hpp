#pragma once
// A fake WhatsApp Graph API on 127.0.0.1 for tests that send messages: it records every
// request, checks each one (method, path, bearer token, content type, and the body against
// the shapes of meta_docs/send_*_request.json and Meta's limits: support/graph_shapes.hpp),
// and answers as scripted: success with a fresh wamid, or a status with a Graph error body,
// for the next N requests.
//
//   FakeGraph graph("token-1");
//   graph.fail_next(1, 400, 131026, "Message Undeliverable.");
//   GraphOptions options;
//   options.api_base = graph.api_base();  // http://127.0.0.1:PORT/v25.0
//   ... send ...
//   CHECK(graph.violations().empty());

#include "support/receiver.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace loyalty::test {

struct GraphRequest {
  std::string method;
  std::string target;                          ///< "/v25.0/106540352242922/messages"
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  std::chrono::steady_clock::time_point received;
  int status = 0;     ///< what the fake answered
  std::string wamid;  ///< the id it answered with, when it answered success
};

/// One scripted answer: a status, a Graph error (code 0: none, the body is `{}`) and headers.
struct GraphReply {
  int status = 200;
  std::int64_t code = 0;
  std::int64_t subcode = 0;
  std::string message;
  std::vector<std::pair<std::string, std::string>> headers;
};

class FakeGraph {
 public:
  /// Listens on 127.0.0.1; requests must carry `Authorization: Bearer <access_token>` and go to
  /// /<version>/<digits>/messages. Throws std::runtime_error when it cannot listen.
  explicit FakeGraph(std::string access_token = "fake-graph-token", std::string version = "v25.0");
  ~FakeGraph();
  FakeGraph(const FakeGraph&) = delete;
  FakeGraph& operator=(const FakeGraph&) = delete;

  /// "http://127.0.0.1:PORT/<version>": what GraphOptions::api_base (or the daemon's
  /// --whatsapp-api-base) is set to.
  std::string api_base() const;

  /// The next `times` requests (after those already scripted) get `reply`; then success again.
  void answer_next(GraphReply reply, int times = 1);
  /// The next `times` requests get `status` with a Graph error of this code.
  void fail_next(int times, int status, std::int64_t code, std::string message = "",
                 std::vector<std::pair<std::string, std::string>> headers = {});

  std::vector<GraphRequest> requests() const;
  /// What did not match, one line per problem with the request's index: "request 2: /text/body:
  /// empty". Tests assert it is empty.
  std::vector<std::string> violations() const;
  /// Waits until `count` requests were answered; false if `timeout` passes first.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) const;

 private:
  ReceiverReply answer(const ReceivedRequest& request);

  const std::string token_;
  const std::string version_;
  mutable std::mutex mutex_;
  std::deque<GraphReply> script_;
  std::vector<GraphRequest> requests_;
  std::vector<std::string> violations_;
  int next_wamid_ = 0;
  std::unique_ptr<Receiver> receiver_;  // last: stopped before the state above goes
};

}  // namespace loyalty::test
