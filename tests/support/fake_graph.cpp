#include "support/fake_graph.hpp"

#include "support/graph_shapes.hpp"

#include <algorithm>
#include <regex>
#include <thread>

namespace loyalty::test {

namespace {

using nlohmann::json;

/// The Graph API's error body, as Meta writes it.
std::string error_body(const GraphReply& reply) {
  if (reply.code == 0) return "{}";
  json error = {
      {"message", reply.message.empty() ? "(#" + std::to_string(reply.code) + ") Fake Graph error"
                                        : "(#" + std::to_string(reply.code) + ") " + reply.message},
      {"type", "OAuthException"},
      {"code", reply.code},
      {"error_data", {{"messaging_product", "whatsapp"}, {"details", reply.message}}},
      {"fbtrace_id", "AFakeTraceId"}};
  if (reply.subcode != 0) error["error_subcode"] = reply.subcode;
  return json{{"error", error}}.dump();
}

/// The success body of meta_docs/send_message_response.json (or _bsuid.json).
std::string success_body(const json& request, const std::string& wamid) {
  json contact;
  if (request.contains("to") && request["to"].is_string()) {
    std::string to = request["to"];
    contact = {{"input", to}, {"wa_id", to.substr(!to.empty() && to[0] == '+' ? 1 : 0)}};
  } else {
    const std::string recipient = request.value("recipient", "");
    contact = {{"input", recipient}, {"user_id", recipient}};
  }
  return json{{"messaging_product", "whatsapp"},
              {"contacts", json::array({contact})},
              {"messages", json::array({{{"id", wamid}}})}}
      .dump();
}

}  // namespace

FakeGraph::FakeGraph(std::string access_token, std::string version)
    : token_(std::move(access_token)), version_(std::move(version)) {
  receiver_ = std::make_unique<Receiver>(
      [this](const ReceivedRequest& request) { return answer(request); });
}

FakeGraph::~FakeGraph() { receiver_.reset(); }

std::string FakeGraph::api_base() const { return receiver_->url("/" + version_); }

void FakeGraph::answer_next(GraphReply reply, int times) {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < times; ++i) script_.push_back(reply);
}

void FakeGraph::fail_next(int times, int status, std::int64_t code, std::string message,
                          std::vector<std::pair<std::string, std::string>> headers) {
  answer_next(GraphReply{status, code, 0, std::move(message), std::move(headers)}, times);
}

std::vector<GraphRequest> FakeGraph::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<std::string> FakeGraph::violations() const {
  std::lock_guard lock(mutex_);
  return violations_;
}

bool FakeGraph::wait_for(std::size_t count, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (requests().size() < count) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

ReceiverReply FakeGraph::answer(const ReceivedRequest& request) {
  std::lock_guard lock(mutex_);
  const std::string prefix = "request " + std::to_string(requests_.size()) + ": ";
  GraphRequest seen{request.method,
                    request.target,
                    request.headers,
                    request.body,
                    std::chrono::steady_clock::now(),
                    0,
                    ""};
  std::vector<std::string> problems;
  const auto header = [&](const std::string& name) {
    const auto found = request.headers.find(name);
    return found == request.headers.end() ? std::string() : found->second;
  };
  if (request.method != "POST") problems.push_back("method " + request.method + ", not POST");
  static const std::regex kPath("/v[0-9]+\\.[0-9]+/[0-9]+/messages");
  if (request.target.rfind("/" + version_ + "/", 0) != 0 ||
      !std::regex_match(request.target, kPath)) {
    problems.push_back("path is not /" + version_ + "/<phone_number_id>/messages");
  }
  if (header("content-type").rfind("application/json", 0) != 0) {
    problems.push_back("Content-Type is not application/json");
  }
  const bool authorized = header("authorization") == "Bearer " + token_;
  if (!authorized) problems.push_back("Authorization is not the bearer token");  // no value
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    problems.push_back("the body is not JSON");
  } else {
    for (auto& problem : graph_body_problems(body)) problems.push_back(std::move(problem));
  }
  for (const auto& problem : problems) violations_.push_back(prefix + problem);

  ReceiverReply reply{200, {{"Content-Type", "application/json"}}, "", false};
  if (!authorized) {
    // What the Graph API answers for a bad token.
    reply.status = 401;
    reply.body = error_body({401, 190, 0, "Invalid OAuth access token.", {}});
  } else if (!problems.empty()) {
    reply.status = 400;
    reply.body = error_body({400, 100, 0, "Invalid parameter", {}});
  } else if (!script_.empty()) {
    const GraphReply scripted = script_.front();
    script_.pop_front();
    reply.status = scripted.status;
    for (const auto& h : scripted.headers) reply.headers.push_back(h);
    if (scripted.status >= 200 && scripted.status < 300 && scripted.code == 0) {
      seen.wamid = "wamid.FAKE" + std::to_string(++next_wamid_);
      reply.body = success_body(body, seen.wamid);
    } else {
      reply.body = error_body(scripted);
    }
  } else {
    seen.wamid = "wamid.FAKE" + std::to_string(++next_wamid_);
    reply.body = success_body(body, seen.wamid);
  }
  seen.status = reply.status;
  requests_.push_back(std::move(seen));
  return reply;
}

}  // namespace loyalty::test
