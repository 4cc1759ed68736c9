#include "support/webhook_receiver.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace loyalty::test {

WebhookReceiver::WebhookReceiver() {
  char templ[] = "/tmp/loyalty-receiver-XXXXXX";
  if (mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  const std::string out = dir_ + "/receiver.log";
  std::string node = "node";
  std::string script = std::string(LOYALTY_SOURCE_DIR) + "/tests/receiver/receiver.mjs";
  std::vector<char*> args = {node.data(), script.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  int rc = posix_spawnp(&pid_, "node", &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start node for the webhook receiver");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(out);
    std::string word;
    int port = 0;
    if (in >> word >> port && word == "listening" && port > 0) {
      port_ = port;
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream again(out);
      std::stringstream text;
      text << again.rdbuf();
      throw std::runtime_error("the webhook receiver exited: " + text.str() +
                               " (run npm ci --prefix tests/receiver)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("the webhook receiver did not start");
}

WebhookReceiver::~WebhookReceiver() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string WebhookReceiver::url(const std::string& name) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/hooks/" + name;
}

namespace {

void post_config(int port, const std::string& name, const nlohmann::json& config) {
  httplib::Client client("127.0.0.1", port);
  auto res = client.Post(("/_control/" + name).c_str(), config.dump(), "application/json");
  if (!res || res->status != 204) throw std::runtime_error("cannot configure the receiver");
}

}  // namespace

void WebhookReceiver::configure(const std::string& name, const std::vector<std::string>& secrets,
                                int fail_first, int status, bool hang) {
  post_config(
      port_, name,
      {{"secrets", secrets}, {"fail_first", fail_first}, {"status", status}, {"hang", hang}});
}

void WebhookReceiver::configure_failures(const std::string& name,
                                         const std::vector<std::string>& secrets, int fail_first,
                                         int status, const nlohmann::json& headers,
                                         const std::string& body) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : body) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  post_config(port_, name,
              {{"secrets", secrets},
               {"fail_first", fail_first},
               {"status", status},
               {"fail_headers", headers},
               {"fail_body_hex", hex}});
}

nlohmann::json WebhookReceiver::received(const std::string& name) const {
  httplib::Client client("127.0.0.1", port_);
  auto res = client.Get(("/_control/" + name).c_str());
  if (!res || res->status != 200) throw std::runtime_error("cannot read the receiver");
  return nlohmann::json::parse(res->body)["received"];
}

nlohmann::json WebhookReceiver::wait_for(const std::string& name,
                                         const std::function<bool(const nlohmann::json&)>& done,
                                         std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json got = received(name);
  while (!done(got) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    got = received(name);
  }
  return got;
}

}  // namespace loyalty::test
