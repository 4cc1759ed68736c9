#pragma once
// Private to the backup module: the programs a backup runs (pg_dump, pg_restore, age), started
// with argv vectors (no shell), joined by pipes this process reads and writes, and waited for.

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace loyalty::backup {

/// A file descriptor closed by the destructor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

/// A pipe whose two ends are close-on-exec (a child gets only the end it is given).
struct Pipe {
  Fd read, write;
};
Pipe make_pipe();

/// What to start: the program's argv (argv[0] a path, or a name looked up on PATH), extra
/// environment entries (such as PGPASSWORD=...; never put a secret in argv), and its standard
/// input and output (-1 for /dev/null). Its standard error is kept in a private unlinked file.
struct Command {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  int stdin_fd = -1;
  int stdout_fd = -1;
};

/// A started program. The destructor kills and reaps it if it was not waited for, so an
/// exception never leaves one running.
class Child {
 public:
  Child() = default;
  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  ~Child();

  /// Waits for the exit; the exit status, or 128 + the signal that ended it. Idempotent.
  int wait();
  /// Ends the program now (SIGKILL) and reaps it; a no-op once it was waited for.
  void kill_now();
  bool running() const { return pid_ > 0; }
  /// The program's name as started (for messages).
  const std::string& name() const { return name_; }
  /// The last non-empty line the program wrote to standard error, trimmed and cut to 300
  /// characters (empty when it wrote none).
  std::string error_line() const;

 private:
  friend Child spawn(const Command& command);
  pid_t pid_ = -1;
  int status_ = -1;
  std::string name_;
  Fd stderr_;
};

/// Starts a program. Throws Error(unavailable) when it cannot be started (not installed).
Child spawn(const Command& command);

/// The path of a PostgreSQL client program (the version-15 binaries first, as the server's).
/// Throws Error(unavailable) when it is not installed.
std::string pg_program(const std::string& name);
/// `age` or `age-keygen` on PATH; throws Error(unavailable) naming the Debian package.
std::string age_program(const std::string& name);

/// Reads up to `size` bytes, retrying on EINTR and short reads; fewer only at end of input.
/// Throws Error(unavailable) on a read error.
std::size_t read_full(int fd, char* data, std::size_t size);
/// Writes everything, retrying on EINTR and short writes. False when the reader has gone
/// (EPIPE); throws Error(unavailable) on another error.
bool write_full(int fd, const char* data, std::size_t size);

/// Ignores SIGPIPE for its lifetime (a reader that exits early is an EPIPE to handle, not the
/// end of loyaltyctl); programs started meanwhile get the default disposition back.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe();
  ~IgnoreSigpipe();
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction previous_ {};
};

}  // namespace loyalty::backup
