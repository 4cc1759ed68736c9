#pragma once
// Private to the backup module: the two pipelines of a backup file.
//
//   create:  pg_dump -Fc --snapshot ──pipe──▶ this process (tar) ──pipe──▶ age -r ──▶ file
//   restore: file ──▶ age -d ──pipe──▶ this process (tar) ──pipe──▶ pg_restore --single-transaction
//
// Every program's exit status is checked; the first failure is named with that program's own
// message. Nothing unencrypted touches the disk.

#include <loyalty/db/conninfo.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace loyalty::backup {

/// Names of the members inside the tar stream.
inline constexpr const char* kHeaderMember = "loyalty-backup.json";
inline constexpr const char* kRolesMember = "roles.sql";
inline constexpr const char* kDumpMemberPrefix = "database.dump.";

struct ArchiveInput {
  db::ClientConnection source;  ///< the database, as the owner
  std::string snapshot;         ///< exported snapshot the dump reads (pg_export_snapshot)
  std::string recipient;        ///< age recipient
  std::string header;           ///< kHeaderMember's JSON
  std::string roles_sql;        ///< kRolesMember
  std::int64_t mtime = 0;       ///< of the tar members
};

/// Runs the create pipeline into `out_fd` (an open, empty file). Returns the bytes of the dump.
/// Throws Error(unavailable, "backup-failed") naming the program that failed.
std::uint64_t write_archive(const ArchiveInput& input, int out_fd);

/// What an archive held besides the dump.
struct Unpacked {
  nlohmann::json header;
  std::string roles_sql;
  std::uint64_t dump_bytes = 0;
};

/// Runs the restore pipeline of `file` into the database `target`. `before_restore` runs once
/// the header and roles are read and before pg_restore starts (to check the header and create
/// the roles); what it throws ends the restore. Throws Error(conflict) with type
/// "backup-decrypt" (age failed: wrong identity, damaged or truncated file), "backup-format"
/// (not a loyalty backup), "backup-pg-restore" (pg_restore failed; nothing was restored).
Unpacked restore_archive(const std::string& file, const std::string& identity,
                         const db::ClientConnection& target,
                         const std::function<void(const Unpacked&)>& before_restore);

}  // namespace loyalty::backup
