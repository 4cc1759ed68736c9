#pragma once
// The real loyaltyd, started on 127.0.0.1 with a free port for one test.

#include <string>
#include <vector>

namespace loyalty::test {

class TestDatabase;

class Daemon {
 public:
  /// Starts loyaltyd with `args` (plus --listen 127.0.0.1:0) and waits until it listens.
  explicit Daemon(std::vector<std::string> args, std::vector<std::string> env = {});
  /// Starts loyaltyd over a test database (owner and app URLs).
  static Daemon over(TestDatabase& db, std::vector<std::string> extra = {},
                     std::vector<std::string> env = {});
  Daemon(Daemon&& other) noexcept;
  ~Daemon();

  int port() const { return port_; }
  int pid() const { return pid_; }
  /// Sends a signal and waits for the exit; returns the exit code (128+signal if killed).
  int stop(int signal);
  /// Everything the daemon has written to stdout/stderr so far.
  std::string log() const;

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string log_path_;
  std::string dir_;
};

}  // namespace loyalty::test
