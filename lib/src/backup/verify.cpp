// backup verify and backup restore: a backup is proven by restoring it, into a scratch database
// (verify, and restore --force before the swap) or into the empty target (restore), and by
// checking the copy against what the backup recorded when it was taken.
#include "backup/archive.hpp"
#include "backup/contents.hpp"
#include "backup/files.hpp"

#include <loyalty/backup/backup.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/db/conninfo.hpp>
#include <loyalty/db/database.hpp>
#include <loyalty/db/migrations.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <thread>

namespace loyalty::backup {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const db::Query kDescribe{"backup_describe_target", R"sql(
SELECT current_database()::text AS database,
       NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                      AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%')
       AND NOT EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
         AS empty,
       CASE WHEN to_regclass('public.tenants') IS NULL THEN -1
            ELSE (xpath('/row/n/text()', query_to_xml('SELECT count(*) AS n FROM public.tenants',
                                                      false, true, '')))[1]::text::bigint END
         AS tenants
)sql"};

const db::Query kSchemaVersion{"backup_target_schema_version", R"sql(
SELECT CASE WHEN to_regclass('public.schema_migrations') IS NULL THEN ''
            ELSE (xpath('/row/v/text()',
                        query_to_xml('SELECT max(name) AS v FROM public.schema_migrations',
                                     false, true, '')))[1]::text END AS version
)sql"};

const db::Query kEndSessions{"backup_end_sessions", R"sql(
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE datname = $1 AND pid <> pg_backend_pid()
)sql"};

/// A failure of a check, worded for the one line the CLI prints.
Error failed(const std::string& type, const std::string& what) {
  return Error(ErrorCode::conflict, type, what);
}

std::string need_file(const std::string& path, const std::string& what) {
  if (path.empty()) throw_invalid(what + " is needed");
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw_not_found(what + " " + path);
  // Absolute, so that no name can pass for an option of age ("-...") or for standard input.
  return fs::absolute(path).lexically_normal().string();
}

/// A database created on the server for one verification or restore and dropped by the
/// destructor unless kept (the restore that swaps it in).
class ScratchDatabase {
 public:
  ScratchDatabase(db::Database& admin, const std::string& owner_url, const std::string& prefix)
      : admin_(admin) {
    name_ = prefix.substr(0, 40) + "_" + crypto::hex_encode(crypto::random_bytes(4));
    db::read_once(admin_, [&](db::Tx& tx) {
      tx.exec_raw("CREATE DATABASE " + tx.work().quote_name(name_) + " TEMPLATE template0");
    });
    url_ = db::url_for_database(owner_url, name_);
    connection_ = db::client_connection(owner_url, name_);
  }
  ~ScratchDatabase() {
    if (keep_) return;
    try {
      db::read_once(admin_, [&](db::Tx& tx) {
        tx.exec_raw("DROP DATABASE IF EXISTS " + tx.work().quote_name(name_) + " WITH (FORCE)");
      });
    } catch (const std::exception& e) {
      spdlog::warn("backup.scratch_not_dropped database={} error={}", name_, e.what());
    }
  }
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }
  const db::ClientConnection& connection() const { return connection_; }
  void keep() { keep_ = true; }

 private:
  db::Database& admin_;
  std::string name_, url_;
  db::ClientConnection connection_;
  bool keep_ = false;
};

/// The manifest checks that need no decryption: present, of this format, the file's size and
/// SHA-256, its size against its predecessors'.
json check_manifest(const std::string& file, const std::string& fail_type, bool required,
                    CheckReport& report) {
  std::optional<json> manifest;
  try {
    manifest = read_manifest(manifest_path(file));
  } catch (const Error& e) {
    throw failed(fail_type, e.what());
  }
  if (!manifest) {
    if (!required) return json();
    throw failed(fail_type, "no manifest beside the file (" +
                                fs::path(manifest_path(file)).filename().string() + ")");
  }
  if (manifest->value("format", "") != "loyalty-backup") {
    throw failed(fail_type, "the manifest is not a loyalty backup's");
  }
  if (manifest->value("format_version", 0) != kFormatVersion) {
    throw failed(fail_type, "unknown backup format version " +
                                (*manifest)["format_version"].dump() + " (this binary reads " +
                                std::to_string(kFormatVersion) + ")");
  }
  auto digest = digest_file(file);
  report.size = digest.size;
  std::int64_t size = manifest->value("size", std::int64_t{-1});
  if (digest.size == 0) throw failed(fail_type, "the file is empty");
  if (digest.size != size) {
    throw failed(fail_type, "size mismatch: the file has " + std::to_string(digest.size) +
                                " bytes, its manifest says " + std::to_string(size) +
                                (digest.size < size ? " (truncated)" : ""));
  }
  if (digest.sha256 != manifest->value("sha256", "")) {
    throw failed(fail_type,
                 "checksum mismatch: the file's SHA-256 is not its manifest's (the "
                 "file is damaged)");
  }
  return *manifest;
}

void check_size_against_history(const std::string& file, const json& manifest,
                                const std::string& fail_type) {
  auto sizes =
      earlier_sizes(fs::path(file).parent_path().string(), manifest.value("created_at", ""), 7);
  if (sizes.size() < 3) return;
  std::sort(sizes.begin(), sizes.end());
  std::size_t mid = sizes.size() / 2;
  std::int64_t median = sizes.size() % 2 ? sizes[mid] : (sizes[mid - 1] + sizes[mid]) / 2;
  std::int64_t size = manifest["size"].get<std::int64_t>();
  if (median > 0 && std::llabs(size - median) * 2 > median) {
    throw failed(fail_type, "size anomaly: " + std::to_string(size) +
                                " bytes is more than half off the median (" +
                                std::to_string(median) + " bytes) of the last " +
                                std::to_string(sizes.size()) + " backups in its directory");
  }
}

/// Everything checked on a restored copy, against the backup's own record (its header), the
/// manifest when there is one, and the live schema's security when it is at the same version.
CheckReport check_restored(const std::string& restored_url, const Unpacked& unpacked,
                           const json& manifest, const std::vector<std::string>* live_security,
                           const std::string& fail_type) {
  Contents recorded = contents_from_json(unpacked.header);
  if (unpacked.dump_bytes == 0) throw failed(fail_type, "the dump is empty");

  auto restored_db = db::Database::open_url(restored_url, 1);
  Contents restored;
  std::vector<std::string> isolation;
  db::with_tx(*restored_db, [&](db::Tx& tx) {
    tx.exec_raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    isolation = isolation_problems(tx);
    tx.exec_raw(std::string("SET LOCAL ROLE ") + kBackupRole);
    restored = read_contents(tx);
  });
  if (restored.row_counts.empty() || restored.schema_version.empty()) {
    throw failed(fail_type, "the dump restores no schema (an empty dump)");
  }
  if (auto diff = compare_counts(recorded, restored, "the backup's record"); !diff.empty()) {
    throw failed(fail_type, diff);
  }
  if (!manifest.is_null()) {
    Contents listed;
    try {
      listed = contents_from_json(manifest);
    } catch (const Error&) {
      throw failed(fail_type, "the manifest lists no row counts or ledger totals");
    }
    if (auto diff = compare_counts(listed, restored, "the manifest"); !diff.empty()) {
      throw failed(fail_type, diff);
    }
  }

  auto ledger = budgets::verify_ledger(*restored_db, "");
  if (!ledger.ok()) {
    const auto& p = ledger.problems.front();
    throw failed(fail_type,
                 "ledger verify fails on the restored copy: " + p.tenant_slug + "/" +
                     (p.customer_id.empty() ? p.budget_name : "customer " + p.customer_id) + ": " +
                     p.message +
                     (ledger.problems.size() > 1
                          ? " (and " + std::to_string(ledger.problems.size() - 1) + " more)"
                          : ""));
  }
  if (!isolation.empty()) {
    throw failed(fail_type, "tenant isolation is not restored: " + isolation.front());
  }
  if (auto diff = compare_security(recorded.security, restored.security, "the backup's record");
      !diff.empty()) {
    throw failed(fail_type, diff);
  }
  if (live_security) {
    if (auto diff = compare_security(*live_security, restored.security, "the live schema");
        !diff.empty()) {
      throw failed(fail_type, diff);
    }
  }

  CheckReport report;
  report.created_at = unpacked.header.value("created_at", "");
  report.schema_version = restored.schema_version;
  report.tables = static_cast<std::int64_t>(restored.row_counts.size());
  for (const auto& [table, rows] : restored.row_counts) report.rows += rows;
  report.budgets = ledger.budgets;
  report.movements = ledger.movements;
  for (const auto& line : restored.security) {
    if (line.rfind("rls ", 0) == 0 && line.find("forced=true") != std::string::npos) {
      ++report.forced_rls_tables;
    }
    if (line.rfind("policy ", 0) == 0) ++report.policies;
    if (line.rfind("grant ", 0) == 0) ++report.grants;
  }
  return report;
}

/// Restores `file` into `target`, creating the roles it needs on the server of `admin` first.
Unpacked restore_into(const std::string& file, const std::string& identity,
                      const db::ClientConnection& target, db::Database& admin,
                      const std::string& fail_type, bool refuse_newer_schema) {
  try {
    return restore_archive(file, identity, target, [&](const Unpacked& unpacked) {
      if (unpacked.header.value("format_version", 0) != kFormatVersion) {
        throw failed(fail_type,
                     "unknown backup format version " + unpacked.header["format_version"].dump());
      }
      if (refuse_newer_schema) {
        const auto& known = db::embedded_migrations();
        auto version = unpacked.header.value("schema_version", "");
        bool found = std::any_of(known.begin(), known.end(),
                                 [&](const auto& m) { return m.name == version; });
        if (!found) {
          throw Error(ErrorCode::conflict, "backup-schema-unknown",
                      "the backup's schema (" + version +
                          ") is not one this loyaltyctl knows: restore it with a newer one");
        }
      }
      db::with_tx(admin, [&](db::Tx& tx) { tx.exec_raw(unpacked.roles_sql); });
    });
  } catch (const Error& e) {
    if (e.type() == "backup-decrypt" || e.type() == "backup-format" ||
        e.type() == "backup-pg-restore") {
      throw failed(fail_type, e.what());
    }
    throw;
  }
}

std::string prefixed(const char* prefix, const Error& e) { return prefix + std::string(e.what()); }

/// A connection to another database of the server, to rename and drop the target from.
std::unique_ptr<db::Database> open_maintenance(const std::string& owner_url) {
  for (const char* name : {"postgres", "template1"}) {
    auto database = db::Database::open_url(db::url_for_database(owner_url, name), 1);
    try {
      db::read_once(*database, [](db::Tx& tx) { tx.exec_raw("SELECT 1"); });
      return database;
    } catch (const Error&) {
      continue;
    }
  }
  throw Error(ErrorCode::unavailable, "backup-no-maintenance-db",
              "cannot connect to the server's postgres or template1 database to swap the restored "
              "database in");
}

/// Replaces `target` with the restored `scratch`: no new connections to the target, its
/// sessions ended (daemons reconnect, to the restored copy), renamed away, the copy renamed in,
/// the old one dropped. Should a rename fail, the target is put back in service as it was.
void swap_in(const std::string& owner_url, const std::string& target, const std::string& scratch) {
  auto maintenance = open_maintenance(owner_url);
  std::string old =
      target.substr(0, 40) + "_replaced_" + crypto::hex_encode(crypto::random_bytes(4));
  db::read_once(*maintenance, [&](db::Tx& tx) {
    auto q = [&](const std::string& name) { return tx.work().quote_name(name); };
    tx.exec_raw("ALTER DATABASE " + q(target) + " WITH ALLOW_CONNECTIONS false");
    bool renamed = false;
    try {
      for (int attempt = 1;; ++attempt) {
        tx.exec(kEndSessions, target);
        try {
          tx.exec_raw("ALTER DATABASE " + q(target) + " RENAME TO " + q(old));
          break;
        } catch (const pqxx::sql_error& e) {
          // 55006: a session ended a moment ago is still on its way out.
          if (e.sqlstate() != "55006" || attempt >= 100) throw;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
      renamed = true;
      tx.exec_raw("ALTER DATABASE " + q(scratch) + " RENAME TO " + q(target));
    } catch (...) {
      try {
        if (renamed) tx.exec_raw("ALTER DATABASE " + q(old) + " RENAME TO " + q(target));
        tx.exec_raw("ALTER DATABASE " + q(target) + " WITH ALLOW_CONNECTIONS true");
        tx.exec_raw("DROP DATABASE IF EXISTS " + q(scratch) + " WITH (FORCE)");
      } catch (const std::exception& e) {
        spdlog::warn("backup.swap_undo_failed error={}", e.what());
      }
      throw;
    }
    try {
      tx.exec_raw("DROP DATABASE " + q(old) + " WITH (FORCE)");
    } catch (const std::exception& e) {
      spdlog::warn("backup.old_database_not_dropped database={} error={}", old, e.what());
    }
  });
}

}  // namespace

RestoreTarget describe_target(const std::string& owner_url) {
  auto database = db::Database::open_url(owner_url, 1);
  return db::with_tx(*database, [&](db::Tx& tx) {
    auto row = tx.exec1(kDescribe);
    RestoreTarget t;
    t.database = row["database"].as<std::string>();
    t.empty = row["empty"].as<bool>();
    t.tenants = row["tenants"].as<std::int64_t>(-1);
    t.schema_version = tx.exec1(kSchemaVersion)["version"].as<std::string>("");
    return t;
  });
}

CheckReport verify_backup(const std::string& owner_url, const VerifyRequest& request) {
  const std::string kFail = "backup-verify-failed";
  std::string file = need_file(request.file, "the backup file");
  std::string identity = need_file(request.identity,
                                   "an age identity file (--identity or "
                                   "LOYALTY_BACKUP_IDENTITY)");
  auto started = std::chrono::steady_clock::now();
  CheckReport sizes;
  try {
    json manifest = check_manifest(file, kFail, true, sizes);
    check_size_against_history(file, manifest, kFail);

    auto live = db::Database::open_url(owner_url, 1);
    auto live_version = describe_target(owner_url).schema_version;
    ScratchDatabase scratch(*live, owner_url, "loyalty_verify");
    auto unpacked = restore_into(file, identity, scratch.connection(), *live, kFail, false);

    std::vector<std::string> live_security;
    bool same_schema = live_version == unpacked.header.value("schema_version", "");
    if (same_schema) {
      live_security = db::with_tx(*live, [](db::Tx& tx) { return read_security(tx); });
    }
    auto report = check_restored(scratch.url(), unpacked, manifest,
                                 same_schema ? &live_security : nullptr, kFail);
    report.file = file;
    report.size = sizes.size;
    report.restore_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  } catch (const Error& e) {
    if (e.type() == kFail)
      throw Error(ErrorCode::conflict, kFail, prefixed("backup verify failed: ", e));
    throw;
  } catch (const json::exception&) {
    // A manifest or header edited into another shape: a damaged backup, not a crash.
    throw Error(ErrorCode::conflict, kFail,
                "backup verify failed: the manifest or the backup's header is malformed");
  }
}

RestoreReport restore_backup(const std::string& owner_url, const RestoreRequest& request) {
  const std::string kFail = "backup-restore-failed";
  std::string file = need_file(request.file, "the backup file");
  std::string identity = need_file(request.identity,
                                   "an age identity file (--identity or "
                                   "LOYALTY_BACKUP_IDENTITY)");
  auto started = std::chrono::steady_clock::now();
  auto target = describe_target(owner_url);
  if (!target.empty && !request.force) {
    throw Error(
        ErrorCode::conflict, "database-not-empty",
        "the database " + target.database + " is not empty" +
            (target.tenants >= 0 ? " (" + std::to_string(target.tenants) + " tenants)" : "") +
            ": restore over it with --force");
  }

  RestoreReport result;
  result.database = target.database;
  try {
    CheckReport sizes;
    json manifest = check_manifest(file, kFail, false, sizes);
    auto admin = db::Database::open_url(owner_url, 1);
    if (target.empty) {
      auto unpacked =
          restore_into(file, identity, db::client_connection(owner_url), *admin, kFail, true);
      admin.reset();
      result.checks = check_restored(owner_url, unpacked, manifest, nullptr, kFail);
    } else {
      // Restored and checked beside the live database; only a good copy replaces it.
      std::unique_ptr<ScratchDatabase> scratch =
          std::make_unique<ScratchDatabase>(*admin, owner_url, target.database + "_restore");
      auto unpacked = restore_into(file, identity, scratch->connection(), *admin, kFail, true);
      result.checks = check_restored(scratch->url(), unpacked, manifest, nullptr, kFail);
      scratch->keep();
      std::string scratch_name = scratch->name();
      scratch.reset();
      admin.reset();
      swap_in(owner_url, target.database, scratch_name);
      result.replaced = true;
    }
    result.checks.file = file;
    result.checks.size = sizes.size;
    const auto& known = db::embedded_migrations();
    result.behind_binary = !known.empty() && result.checks.schema_version < known.back().name;
    result.checks.restore_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
  } catch (const Error& e) {
    if (e.type() == kFail) throw Error(ErrorCode::conflict, kFail, prefixed("restore failed: ", e));
    throw;
  } catch (const json::exception&) {
    // A manifest or header edited into another shape: a damaged backup, not a crash.
    throw Error(ErrorCode::conflict, kFail,
                "restore failed: the manifest or the backup's header is malformed");
  }
}

}  // namespace loyalty::backup
