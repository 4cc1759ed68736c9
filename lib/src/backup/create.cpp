// backup create: one snapshot, read for the manifest and dumped by pg_dump as the backup role,
// encrypted on its way to a temporary file that is renamed once complete.
#include "backup/archive.hpp"
#include "backup/contents.hpp"
#include "backup/files.hpp"

#include <loyalty/backup/backup.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/db/conninfo.hpp>
#include <loyalty/db/database.hpp>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace loyalty::backup {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const db::Query kBackupRoleState{"backup_role_state", R"sql(
SELECT r.rolname IS NOT NULL AS present,
       coalesce(r.rolbypassrls, false) AS bypassrls,
       r.rolname IS NOT NULL AND pg_has_role(current_user, r.oid, 'MEMBER') AS usable,
       current_user::text AS owner,
       current_database()::text AS database
  FROM (SELECT 1) one LEFT JOIN pg_roles r ON r.rolname = $1
)sql"};

/// The temporary file of a create: removed unless the backup was published.
class PartialFile {
 public:
  explicit PartialFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      throw Error(ErrorCode::unavailable, "backup-io",
                  "cannot create " + path_ + ": " + strerror(errno));
    }
  }
  ~PartialFile() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  /// Flushes it to disk and closes it.
  void finish() {
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
      fd_ = -1;
      throw Error(ErrorCode::unavailable, "backup-io",
                  "cannot write " + path_ + ": " + strerror(errno));
    }
    fd_ = -1;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

void check_request(const CreateRequest& request) {
  if (request.dir.empty()) {
    throw_invalid("a backup directory is needed: --dir or LOYALTY_BACKUP_DIR");
  }
  if (request.recipient.empty()) {
    throw_invalid(
        "an age recipient (public key) is needed: --recipient or "
        "LOYALTY_BACKUP_RECIPIENT");
  }
  if (request.recipient.front() == '-' ||
      request.recipient.find_first_of("\r\n", 0) != std::string::npos ||
      request.recipient.find('\0') != std::string::npos) {
    throw_invalid("the recipient must be an age public key (age1...) or an SSH public key");
  }
}

void prepare_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec)
      throw_invalid("cannot create the backup directory " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  if (!fs::is_directory(dir, ec)) throw_invalid(dir.string() + " is not a directory");
}

/// Links the finished file under the first free name of its second (link(2) never replaces an
/// existing file, unlike rename): loyalty-STAMP.backup.age, then -2, -3, ...
std::string publish(const std::string& partial, const fs::path& dir, const std::string& stamp) {
  for (int n = 1; n < 1000; ++n) {
    std::string name = "loyalty-" + stamp + (n > 1 ? "-" + std::to_string(n) : "") + kBackupSuffix;
    std::string path = (dir / name).string();
    if (::link(partial.c_str(), path.c_str()) == 0) return path;
    if (errno != EEXIST) {
      throw Error(ErrorCode::unavailable, "backup-io",
                  "cannot create " + path + ": " + strerror(errno));
    }
  }
  throw Error(ErrorCode::conflict, "backup-exists", "too many backups in the same second");
}

}  // namespace

CreateResult create_backup(const std::string& owner_url, const CreateRequest& request) {
  check_request(request);
  fs::path dir = fs::absolute(request.dir).lexically_normal();
  prepare_dir(dir);
  auto now = std::chrono::system_clock::now();
  const std::string stamp = compact_utc(now);
  const std::string created_at = iso_utc(now);
  auto started = std::chrono::steady_clock::now();

  auto source = db::client_connection(owner_url);
  auto database = db::Database::open_url(owner_url, 1);
  PartialFile partial(
      (dir / (".loyalty-" + stamp + "-" + std::to_string(::getpid()) + kPartialSuffix)).string());

  json manifest;
  std::uint64_t dump_bytes = 0;
  db::with_tx(*database, [&](db::Tx& tx) {
    // Should the transaction run again (a connection lost), the file starts again too.
    if (::ftruncate(partial.fd(), 0) != 0 || ::lseek(partial.fd(), 0, SEEK_SET) != 0) {
      throw Error(ErrorCode::unavailable, "backup-io", "cannot write " + partial.path());
    }
    // One snapshot for everything: the counts below and the dump describe the same instant.
    tx.exec_raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    auto role = tx.exec1(kBackupRoleState, std::string(kBackupRole));
    if (!role["present"].as<bool>()) {
      throw Error(ErrorCode::unavailable, "backup-role-missing",
                  std::string("the role ") + kBackupRole +
                      " does not exist: run `loyaltyctl migrate` (migration 0095 creates it)");
    }
    if (!role["bypassrls"].as<bool>()) {
      throw Error(ErrorCode::unavailable, "backup-role-not-bypassrls",
                  std::string("the role ") + kBackupRole +
                      " is not BYPASSRLS: its dump would miss every row row-level security hides");
    }
    if (!role["usable"].as<bool>()) {
      throw Error(ErrorCode::forbidden, "backup-role-not-granted",
                  "the owner role " + role["owner"].as<std::string>() + " may not act as " +
                      kBackupRole + ": GRANT " + kBackupRole + " TO " +
                      role["owner"].as<std::string>());
    }
    auto snapshot = tx.exec_raw("SELECT pg_export_snapshot()")[0][0].as<std::string>();
    std::string roles = roles_sql(tx);
    tx.exec_raw(std::string("SET LOCAL ROLE ") + kBackupRole);
    Contents contents;
    try {
      contents = read_contents(tx);
    } catch (const pqxx::insufficient_privilege& e) {
      throw Error(ErrorCode::unavailable, "backup-role-privileges",
                  std::string(kBackupRole) + " cannot read every table (" +
                      std::string(e.what()).substr(0, std::string(e.what()).find('\n')) +
                      "): grant it SELECT as migration 0095 does");
    }

    json header = to_json(contents, true);
    header["format"] = "loyalty-backup";
    header["format_version"] = kFormatVersion;
    header["created_at"] = created_at;
    header["database"] = role["database"].as<std::string>();

    ArchiveInput input{source,        snapshot, request.recipient,
                       header.dump(), roles,    std::chrono::system_clock::to_time_t(now)};
    dump_bytes = write_archive(input, partial.fd());

    manifest = to_json(contents, false);
    manifest["format"] = "loyalty-backup";
    manifest["format_version"] = kFormatVersion;
    manifest["created_at"] = created_at;
    manifest["database"] = header["database"];
    manifest["dump_bytes"] = dump_bytes;
    manifest["encryption"] = {{"tool", "age"}, {"recipient", request.recipient}};
    manifest["security"] = {{"lines", contents.security.size()}};
  });
  partial.finish();

  auto digest = digest_file(partial.path());
  manifest["size"] = digest.size;
  manifest["sha256"] = digest.sha256;

  std::string path = publish(partial.path(), dir, stamp);
  manifest["file"] = fs::path(path).filename().string();
  try {
    write_file_atomically(manifest_path(path), manifest.dump(2) + "\n");
  } catch (...) {
    ::unlink(path.c_str());  // a backup without its manifest cannot be verified: none at all
    throw;
  }
  sync_directory(dir.string());

  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  spdlog::debug("backup.created file={} size={} dump_bytes={} duration_ms={}",
                manifest["file"].get<std::string>(), digest.size, dump_bytes, ms);
  return {path, manifest_path(path), manifest};
}

}  // namespace loyalty::backup
