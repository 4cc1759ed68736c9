#pragma once
// Private to the backup module: backup file names, manifests and careful file writes.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::backup {

inline constexpr const char* kBackupSuffix = ".backup.age";
inline constexpr const char* kManifestSuffix = ".manifest.json";
inline constexpr const char* kPartialSuffix = ".partial";

/// "20261201T020000Z" and "2026-12-01T02:00:00Z" for an instant (UTC).
std::string compact_utc(std::chrono::system_clock::time_point t);
std::string iso_utc(std::chrono::system_clock::time_point t);

/// A backup file name taken apart: loyalty-YYYYMMDDTHHMMSSZ[-N].backup.age.
struct BackupName {
  std::string stem;   ///< without the suffix
  std::string day;    ///< YYYYMMDD
  std::string month;  ///< YYYYMM
  std::string stamp;  ///< YYYYMMDDTHHMMSSZ
  int sequence = 1;   ///< N, 1 without a suffix
};
/// std::nullopt for any other name (manifest names parse with `suffix` = kManifestSuffix).
std::optional<BackupName> parse_backup_name(const std::string& file_name,
                                            const std::string& suffix = kBackupSuffix);

/// SHA-256 (lowercase hex) and size of a file. Throws Error(unavailable) when it cannot be read.
struct FileDigest {
  std::string sha256;
  std::int64_t size = 0;
};
FileDigest digest_file(const std::string& path);

/// Writes `text` to `path` through a temporary file beside it, flushed to disk and renamed.
void write_file_atomically(const std::string& path, const std::string& text);
/// Flushes a directory's entries (after a rename or link into it).
void sync_directory(const std::string& dir);

/// Reads and parses a manifest; std::nullopt when the file does not exist. Throws
/// Error(conflict, "backup-format") when it is not JSON.
std::optional<nlohmann::json> read_manifest(const std::string& path);

/// The sizes of the manifests in `dir` created before `created_at`, newest first, at most `n`.
std::vector<std::int64_t> earlier_sizes(const std::string& dir, const std::string& created_at,
                                        std::size_t n);

}  // namespace loyalty::backup
