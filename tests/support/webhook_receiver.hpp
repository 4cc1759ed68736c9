#pragma once
// A real webhook receiver on 127.0.0.1 for the http tests: tests/receiver/receiver.mjs under
// node, which verifies every delivery with the reference Standard Webhooks library (npm
// "standardwebhooks") and answers as it is told.

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace loyalty::test {

class WebhookReceiver {
 public:
  /// Starts node and waits until it listens.
  WebhookReceiver();
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  int port() const { return port_; }
  /// The URL of one named receiver: http://127.0.0.1:<port>/hooks/<name>.
  std::string url(const std::string& name) const;

  /// (Re)configures a named receiver: the secrets to verify with, how many first deliveries to
  /// fail and with which status, or never to answer. Forgets what it received.
  void configure(const std::string& name, const std::vector<std::string>& secrets,
                 int fail_first = 0, int status = 500, bool hang = false);

  /// Like configure, the failing answers carrying these headers and these bytes as their body.
  void configure_failures(const std::string& name, const std::vector<std::string>& secrets,
                          int fail_first, int status, const nlohmann::json& headers,
                          const std::string& body);

  /// What a named receiver got, in order: {id, timestamp, signature, body, verified: [bool per
  /// secret], answered}.
  nlohmann::json received(const std::string& name) const;

  /// Polls received(name) until `done` holds for it or `timeout` passes; returns the last value.
  nlohmann::json wait_for(const std::string& name,
                          const std::function<bool(const nlohmann::json&)>& done,
                          std::chrono::seconds timeout = std::chrono::seconds(30)) const;

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

}  // namespace loyalty::test
