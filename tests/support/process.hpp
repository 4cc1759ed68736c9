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
