// The private PostgreSQL cluster under the data directory: initdb on first use, started with
// its socket inside the data directory (or a short directory under /tmp when that path is too
// long for a Unix socket) and no TCP. As root, the server runs as the `postgres` user.
#include "db/tx.hpp"

#include <loyalty/core/error.hpp>
#include <loyalty/db/database.hpp>

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

extern char** environ;

namespace loyalty::db {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOwnerRole = "loyalty_owner";
constexpr const char* kAppRole = "loyalty_app";
constexpr const char* kDatabase = "loyalty";
constexpr int kPort = 5432;
constexpr std::size_t kMaxSocketPath = 100;  // sun_path is 108 bytes with the terminator

bool running_as_root() { return geteuid() == 0; }

std::string pg_bin(const std::string& name) {
  for (const char* dir : {"/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"}) {
    fs::path p = fs::path(dir) / name;
    if (fs::exists(p)) return p.string();
  }
  throw Error(ErrorCode::unavailable, "postgres-missing",
              name + " not found: install the postgresql-15 package (scripts/quickstart does)");
}

/// Runs a program (as `postgres` when we are root), appending its output to `log_path`.
int run(std::vector<std::string> argv, const std::string& log_path) {
  if (running_as_root()) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return 127;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string tail_of(const std::string& path, std::size_t max_lines = 5) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  std::size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (std::size_t i = from; i < lines.size(); ++i) out += (out.empty() ? "" : " | ") + lines[i];
  return out;
}

void chown_to_postgres(const fs::path& p) {
  if (!running_as_root()) return;
  struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) {
    throw Error(ErrorCode::unavailable, "postgres-user-missing",
                "running as root needs the 'postgres' system user (install postgresql-15)");
  }
  if (chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw Error(ErrorCode::unavailable, "cluster-permissions",
                "cannot give " + p.string() + " to the postgres user");
  }
}

/// The postgres user must traverse every parent of the cluster (e.g. /root is 0700): grant
/// search (not read) permission on the parents that lack it.
void make_parents_traversable(const fs::path& dir) {
  if (!running_as_root()) return;
  for (fs::path p = dir.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) continue;
    if ((st.st_mode & S_IXOTH) == 0) {
      chmod(p.c_str(), st.st_mode | S_IXOTH);
      spdlog::info("db.cluster granted search permission on {} for the postgres user", p.string());
    }
  }
}

std::string url_escape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

/// Serialises cluster setup between processes (CLI, daemons, tests) sharing a data dir.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) {
      flock(fd_, LOCK_UN);
      ::close(fd_);
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace

EmbeddedCluster::EmbeddedCluster(std::string data_dir) {
  fs::path dir = fs::absolute(data_dir.empty() ? "./var" : data_dir).lexically_normal();
  data_dir_ = dir.string();
  pgdata_ = (dir / "pg").string();
  fs::path socket = dir / "run";
  if ((socket / ".s.PGSQL.5432").string().size() > kMaxSocketPath) {
    // Too deep for a Unix socket path: a short private directory named after the data dir.
    std::size_t h = std::hash<std::string>{}(data_dir_);
    std::ostringstream name;
    name << "/tmp/loyalty-" << std::hex << h;
    socket = name.str();
  }
  socket_dir_ = socket.string();
}

ClusterStatus EmbeddedCluster::status() const {
  ClusterStatus s;
  s.pgdata = pgdata_;
  s.socket_dir = socket_dir_;
  s.initialized = fs::exists(fs::path(pgdata_) / "PG_VERSION");
  if (s.initialized) {
    s.running = run({pg_bin("pg_ctl"), "status", "-D", pgdata_, "-s"},
                    (fs::path(data_dir_) / "pg_ctl.log").string()) == 0;
  }
  return s;
}

std::string EmbeddedCluster::url(Role role) const {
  return std::string("postgresql:///") + kDatabase + "?host=" + url_escape(socket_dir_) +
         "&port=" + std::to_string(kPort) +
         "&user=" + (role == Role::owner ? kOwnerRole : kAppRole) + "&connect_timeout=5";
}

void EmbeddedCluster::ensure_started() {
  fs::create_directories(data_dir_);
  FileLock lock(fs::path(data_dir_) / ".cluster.lock");
  std::string log = (fs::path(data_dir_) / "pg_ctl.log").string();
  if (running_as_root()) {
    // The log is written by the postgres user through our redirect (opened by us as root).
    make_parents_traversable(data_dir_);
  }

  bool fresh = false;
  if (!fs::exists(fs::path(pgdata_) / "PG_VERSION")) {
    fs::create_directories(pgdata_);
    fs::permissions(pgdata_, fs::perms::owner_all, fs::perm_options::replace);
    chown_to_postgres(pgdata_);
    int rc = run({pg_bin("initdb"), "-D", pgdata_, "-U", kOwnerRole, "-A", "trust", "-E", "UTF8",
                  "--no-locale", "--no-instructions"},
                 log);
    if (rc != 0) {
      throw Error(ErrorCode::unavailable, "cluster-init-failed",
                  "initdb failed in " + pgdata_ + ": " + tail_of(log));
    }
    std::ofstream conf(fs::path(pgdata_) / "postgresql.conf", std::ios::app);
    conf << "\n# loyalty embedded cluster\n"
         << "listen_addresses = ''\n"
         << "unix_socket_directories = '" << socket_dir_ << "'\n"
         << "unix_socket_permissions = 0700\n"
         << "port = " << kPort << "\n"
         << "max_connections = 300\n"
         << "shared_buffers = 128MB\n"
         << "timezone = 'UTC'\n"
         << "log_min_messages = warning\n";
    fresh = true;
  }

  if (!fs::exists(socket_dir_)) {
    fs::create_directories(socket_dir_);
    fs::permissions(socket_dir_, fs::perms::owner_all, fs::perm_options::replace);
  }
  chown_to_postgres(socket_dir_);

  if (run({pg_bin("pg_ctl"), "status", "-D", pgdata_, "-s"}, log) != 0) {
    int rc = run({pg_bin("pg_ctl"), "start", "-D", pgdata_, "-w", "-t", "60", "-s", "-l",
                  (fs::path(pgdata_) / "server.log").string()},
                 log);
    if (rc != 0) {
      throw Error(ErrorCode::unavailable, "cluster-start-failed",
                  "the embedded PostgreSQL did not start (see " + pgdata_ +
                      "/server.log): " + tail_of(pgdata_ + "/server.log"));
    }
  }

  if (fresh) {
    std::string admin = std::string("postgresql:///postgres?host=") + url_escape(socket_dir_) +
                        "&port=" + std::to_string(kPort) + "&user=" + kOwnerRole;
    pqxx::connection conn(admin);
    auto notices = make_quiet(conn);
    pqxx::nontransaction n(conn);
    n.exec(std::string("CREATE ROLE ") + kAppRole +
           " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE");
    n.exec(std::string("CREATE DATABASE ") + kDatabase + " OWNER " + kOwnerRole);
  }
}

void EmbeddedCluster::stop() {
  if (!fs::exists(fs::path(pgdata_) / "PG_VERSION")) return;
  std::string log = (fs::path(data_dir_) / "pg_ctl.log").string();
  if (run({pg_bin("pg_ctl"), "status", "-D", pgdata_, "-s"}, log) != 0) return;
  if (run({pg_bin("pg_ctl"), "stop", "-D", pgdata_, "-m", "fast", "-w", "-s"}, log) != 0) {
    throw Error(ErrorCode::unavailable, "cluster-stop-failed",
                "the embedded PostgreSQL did not stop: " + tail_of(log));
  }
}

std::string resolve_url(const config::Settings& settings, Role role, bool start) {
  if (settings.database_url.empty()) {
    EmbeddedCluster cluster(settings.data_dir);
    if (start) cluster.ensure_started();
    return cluster.url(role);
  }
  if (role == Role::owner) return settings.database_url;
  if (!settings.app_database_url.empty()) return settings.app_database_url;
  // Derive the app role's URL from the owner's: same server and database, user loyalty_app.
  const std::string& url = settings.database_url;
  auto scheme = url.find("://");
  if (scheme == std::string::npos) {
    throw_invalid("--database-url must be a postgresql:// URL; set --app-database-url too");
  }
  auto rest = url.substr(scheme + 3);
  auto at = rest.find('@');
  auto slash = rest.find('/');
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    rest = rest.substr(at + 1);
  }
  return url.substr(0, scheme + 3) + kAppRole + "@" + rest;
}

}  // namespace loyalty::db
