#include "backup/process.hpp"

#include <loyalty/core/error.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace loyalty::backup {

namespace fs = std::filesystem;

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Pipe make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw Error(ErrorCode::unavailable, "backup-pipe", std::string("pipe: ") + strerror(errno));
  }
  return {Fd(fds[0]), Fd(fds[1])};
}

namespace {

/// A private, already unlinked file for a child's standard error.
Fd stderr_file() {
  std::string path = (fs::temp_directory_path() / "loyalty-stderr-XXXXXX").string();
  int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorCode::unavailable, "backup-tempfile",
                "cannot create a temporary file in " + fs::temp_directory_path().string() + ": " +
                    strerror(errno));
  }
  ::unlink(path.c_str());
  return Fd(fd);
}

std::string env_key(const std::string& entry) { return entry.substr(0, entry.find('=')); }

}  // namespace

Child::Child(Child&& other) noexcept
    : pid_(other.pid_),
      status_(other.status_),
      name_(std::move(other.name_)),
      stderr_(std::move(other.stderr_)) {
  other.pid_ = -1;
}

Child::~Child() { kill_now(); }

int Child::wait() {
  if (pid_ > 0) {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) {
        status = -1;
        break;
      }
    }
    pid_ = -1;
    status_ = status < 0            ? 127
              : WIFEXITED(status)   ? WEXITSTATUS(status)
              : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                    : 127;
  }
  return status_;
}

void Child::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait();
}

std::string Child::error_line() const {
  if (!stderr_) return "";
  std::string text;
  char buf[4096];
  off_t offset = 0;
  ssize_t n = 0;
  // The first 64 KiB say what went wrong; the rest would be the same error repeated.
  while (text.size() < 65536 && (n = pread(stderr_.get(), buf, sizeof buf, offset)) > 0) {
    text.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    auto b = line.find_first_not_of(" \t\r");
    if (b != std::string::npos) {
      line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
      lines.push_back(line);
    }
    start = end + 1;
  }
  if (lines.empty()) return "";
  // The line that says "error", else the last one (age and the PostgreSQL tools both prefix
  // their failure with "error:" and follow it with details or a hint).
  auto it = std::find_if(lines.begin(), lines.end(),
                         [](const std::string& l) { return l.find("error") != std::string::npos; });
  std::string line = it != lines.end() ? *it : lines.back();
  if (line.size() > 300) line = line.substr(0, 297) + "...";
  return line;
}

Child spawn(const Command& command) {
  if (command.argv.empty()) throw Error(ErrorCode::internal, "backup-spawn", "no program");
  Child child;
  child.name_ = fs::path(command.argv[0]).filename().string();
  child.stderr_ = stderr_file();

  std::vector<std::string> args = command.argv;
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);

  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    bool replaced = std::any_of(command.env.begin(), command.env.end(), [&](const auto& extra) {
      return env_key(extra) == env_key(entry);
    });
    if (!replaced) env.push_back(std::move(entry));
  }
  env.insert(env.end(), command.env.begin(), command.env.end());
  std::vector<char*> cenv;
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (command.stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, command.stdin_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  if (command.stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, command.stdout_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, child.stderr_.get(), 2);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  pid_t pid = -1;
  bool on_path = command.argv[0].find('/') == std::string::npos;
  int rc = on_path ? posix_spawnp(&pid, cargs[0], &actions, &attr, cargs.data(), cenv.data())
                   : posix_spawn(&pid, cargs[0], &actions, &attr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw Error(ErrorCode::unavailable, "backup-spawn",
                "cannot start " + child.name_ + ": " + strerror(rc));
  }
  child.pid_ = pid;
  return child;
}

std::string pg_program(const std::string& name) {
  for (const char* dir : {"/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"}) {
    fs::path p = fs::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  throw Error(ErrorCode::unavailable, "postgres-missing",
              name + " not found: install the postgresql-client-15 package (scripts/setup does)");
}

std::string age_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      fs::path p = fs::path(dir) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
    start = end + 1;
  }
  throw Error(ErrorCode::unavailable, "age-missing",
              name + " not found: install the Debian package age (scripts/setup does)");
}

std::size_t read_full(int fd, char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, data + done, size - done);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::unavailable, "backup-read", std::string("read: ") + strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

bool write_full(int fd, const char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return false;
      throw Error(ErrorCode::unavailable, "backup-write", std::string("write: ") + strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

IgnoreSigpipe::IgnoreSigpipe() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &previous_);
}

IgnoreSigpipe::~IgnoreSigpipe() { sigaction(SIGPIPE, &previous_, nullptr); }

}  // namespace loyalty::backup
