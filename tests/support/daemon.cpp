#include "support/daemon.hpp"

#include "support/pg.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace loyalty::test {

Daemon::Daemon(std::vector<std::string> args, std::vector<std::string> env) {
  char templ[] = "/tmp/loyaltyd-test-XXXXXX";
  if (mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  log_path_ = dir_ + "/daemon.log";
  args.insert(args.begin(), {LOYALTYD_PATH, "--listen", "127.0.0.1:0"});
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (entry.rfind("LOYALTY_", 0) == 0) continue;
    env_strings.push_back(entry);
  }
  for (auto& e : env) env_strings.push_back(e);
  std::vector<char*> cenv;
  for (auto& e : env_strings) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  int rc = posix_spawn(&pid_, cargs[0], &actions, &attr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start loyaltyd");

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream lines(log());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("daemon.listening") == std::string::npos) continue;
      auto address = nlohmann::json::parse(line)["address"].get<std::string>();
      port_ = std::stoi(address.substr(address.rfind(':') + 1));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("loyaltyd exited at start: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop(SIGKILL);
  throw std::runtime_error("loyaltyd did not start listening: " + log());
}

Daemon Daemon::over(TestDatabase& db, std::vector<std::string> extra,
                    std::vector<std::string> env) {
  std::vector<std::string> args = {"--database-url",     db.owner_url(),
                                   "--app-database-url", db.app_url(),
                                   "--data-dir",         cluster_dir() + "/daemon-data"};
  args.insert(args.end(), extra.begin(), extra.end());
  return Daemon(args, env);
}

Daemon::Daemon(Daemon&& other) noexcept
    : pid_(other.pid_), port_(other.port_), log_path_(other.log_path_), dir_(other.dir_) {
  other.pid_ = -1;
  other.dir_.clear();
}

Daemon::~Daemon() {
  if (pid_ > 0) stop(SIGKILL);
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

int Daemon::stop(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Daemon::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace loyalty::test
