#pragma once
// Running the real programs from tests.

#include <string>
#include <vector>

namespace loyalty::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs a program to completion with `input` on stdin; captures stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                          const std::vector<std::string>& extra_env = {});

/// Runs loyaltyctl with the given arguments against a database URL (owner role).
CommandResult loyaltyctl(const std::string& owner_url, std::vector<std::string> args,
                         const std::string& input = "");

/// A program running beside the test (a third-party server such as caddy), its stdout and stderr
/// in one log file; killed (SIGKILL) by the destructor unless stopped before.
class BackgroundProcess {
 public:
  /// Starts argv[0] (a path) with the environment plus `extra_env`, LOYALTY_* left out.
  explicit BackgroundProcess(const std::vector<std::string>& argv,
                             const std::vector<std::string>& extra_env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  int pid() const { return pid_; }
  /// Whether it is still running.
  bool running();
  /// Everything it has written so far.
  std::string log() const;
  /// Sends a signal and waits for the exit; returns the exit code (128+signal if killed).
  int stop(int signal);

 private:
  int pid_ = -1;
  std::string log_path_;
};

/// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace loyalty::test
