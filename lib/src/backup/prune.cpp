// backup prune: keep the newest backup of each of the latest N days and M months, by the UTC
// time in the file names; everything else goes, manifests with their backups.
#include "backup/files.hpp"

#include <loyalty/backup/backup.hpp>
#include <loyalty/core/error.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace loyalty::backup {

namespace fs = std::filesystem;

namespace {

struct Entry {
  BackupName name;
  bool has_backup = false;
  bool has_manifest = false;
};

/// Backups and manifests of `dir` by stem, newest first.
std::vector<Entry> entries_of(const fs::path& dir) {
  std::map<std::string, Entry> by_stem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw_invalid("cannot read the backup directory " + dir.string() + ": " + ec.message());
  for (const auto& file : it) {
    std::string name = file.path().filename().string();
    if (auto b = parse_backup_name(name, kBackupSuffix)) {
      by_stem[b->stem].name = *b;
      by_stem[b->stem].has_backup = true;
    } else if (auto m = parse_backup_name(name, kManifestSuffix)) {
      by_stem[m->stem].name = *m;
      by_stem[m->stem].has_manifest = true;
    }
  }
  std::vector<Entry> out;
  for (auto& [stem, entry] : by_stem) out.push_back(entry);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    if (a.name.stamp != b.name.stamp) return a.name.stamp > b.name.stamp;
    return a.name.sequence > b.name.sequence;
  });
  return out;
}

}  // namespace

std::string manifest_path(const std::string& backup_file) {
  const std::string suffix = kBackupSuffix;
  if (backup_file.size() > suffix.size() &&
      backup_file.compare(backup_file.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return backup_file.substr(0, backup_file.size() - suffix.size()) + kManifestSuffix;
  }
  return backup_file + kManifestSuffix;
}

std::string latest_backup(const std::string& dir) {
  if (dir.empty()) throw_invalid("a backup directory is needed: --dir or LOYALTY_BACKUP_DIR");
  fs::path path = fs::absolute(dir).lexically_normal();
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throw_not_found("backup directory " + path.string());
  for (const auto& entry : entries_of(path)) {
    if (entry.has_backup) return (path / (entry.name.stem + kBackupSuffix)).string();
  }
  throw_not_found("a backup in " + path.string());
}

PruneReport prune_backups(const PruneRequest& request) {
  if (request.dir.empty())
    throw_invalid("a backup directory is needed: --dir or LOYALTY_BACKUP_DIR");
  if (request.keep_daily < 0 || request.keep_monthly < 0) {
    throw_invalid("--keep-daily and --keep-monthly must not be negative");
  }
  if (request.keep_daily == 0 && request.keep_monthly == 0) {
    throw_invalid("--keep-daily and --keep-monthly are both 0: that would delete every backup");
  }
  fs::path dir = fs::absolute(request.dir).lexically_normal();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw_not_found("backup directory " + dir.string());

  auto entries = entries_of(dir);
  std::set<std::string> days, months, keep;
  for (const auto& e : entries) {
    if (!e.has_backup) continue;  // a manifest alone keeps nothing
    bool kept = false;
    if (static_cast<int>(days.size()) < request.keep_daily && !days.count(e.name.day)) {
      days.insert(e.name.day);
      kept = true;
    }
    if (static_cast<int>(months.size()) < request.keep_monthly && !months.count(e.name.month)) {
      months.insert(e.name.month);
      kept = true;
    }
    if (kept) keep.insert(e.name.stem);
  }

  PruneReport report;
  auto remove = [&](const fs::path& path) {
    if (!request.dry_run) {
      std::error_code rm;
      fs::remove(path, rm);
      if (rm) {
        throw Error(ErrorCode::unavailable, "backup-io",
                    "cannot remove " + path.string() + ": " + rm.message());
      }
    }
    report.removed.push_back(path.filename().string());
  };
  for (const auto& e : entries) {
    if (keep.count(e.name.stem)) {
      report.kept.push_back(e.name.stem + kBackupSuffix);
      continue;
    }
    if (e.has_backup) remove(dir / (e.name.stem + kBackupSuffix));
    if (e.has_manifest) remove(dir / (e.name.stem + kManifestSuffix));
  }

  // What a create that died left behind: its temporary files, once a day old (a running
  // create's are younger).
  auto day_ago = fs::file_time_type::clock::now() - std::chrono::hours(24);
  std::vector<fs::path> stale;
  for (const auto& file : fs::directory_iterator(dir, ec)) {
    std::string name = file.path().filename().string();
    bool partial = name.rfind(".loyalty-", 0) == 0 && name.size() > 8 &&
                   name.compare(name.size() - 8, 8, kPartialSuffix) == 0;
    std::error_code t;
    if (partial && file.is_regular_file(t) && file.last_write_time(t) < day_ago) {
      stale.push_back(file.path());
    }
  }
  std::sort(stale.begin(), stale.end());
  for (const auto& path : stale) remove(path);
  return report;
}

}  // namespace loyalty::backup
