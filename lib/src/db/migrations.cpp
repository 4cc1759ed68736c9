#include "db/tx.hpp"

#include <loyalty/db/migrations.hpp>

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <map>

namespace loyalty::db {

namespace {

constexpr Query kCreateTable{"mig_create", R"(
  CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  ))"};
// One migrator at a time across processes; the lock ends with the transaction.
constexpr Query kLock{"mig_lock", "SELECT pg_advisory_xact_lock(7267301)"};
constexpr Query kApplied{"mig_applied",
                         "SELECT name, checksum, to_char(applied_at AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                         "FROM schema_migrations ORDER BY name"};
constexpr Query kRecord{"mig_record",
                        "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)"};

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

struct AppliedRow {
  std::string checksum;
  std::string applied_at;
};

std::map<std::string, AppliedRow> read_applied(Tx& tx) {
  std::map<std::string, AppliedRow> applied;
  // The table may not exist yet in a fresh database.
  auto exists = tx.exec_raw("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return applied;
  for (const auto& row : tx.exec(kApplied)) {
    applied[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return applied;
}

/// Refuses a database whose applied migrations disagree with the files.
void check_consistent(const std::map<std::string, AppliedRow>& applied,
                      const std::vector<EmbeddedMigration>& files) {
  std::map<std::string, std::string> known;
  for (const auto& f : files) known[f.name] = sha256_hex(f.sql);
  for (const auto& [name, row] : applied) {
    auto it = known.find(name);
    if (it == known.end()) {
      throw Error(ErrorCode::conflict, "schema-ahead",
                  "the database has migration " + name +
                      " that this binary does not know; upgrade loyaltyctl/loyaltyd");
    }
    if (it->second != row.checksum) {
      throw Error(ErrorCode::conflict, "migration-changed",
                  "migration " + name +
                      " was edited after it was applied (checksum differs); migrations are "
                      "forward-only: restore the file and add a new migration instead");
    }
  }
}

}  // namespace

std::vector<std::string> migrate(Database& db) { return migrate(db, embedded_migrations()); }

std::vector<std::string> migrate(Database& db, const std::vector<EmbeddedMigration>& files) {
  std::vector<std::string> done;
  for (const auto& file : files) {
    bool applied_now = with_tx(db, [&](Tx& tx) {
      tx.exec(kLock);
      tx.exec(kCreateTable);
      auto applied = read_applied(tx);
      check_consistent(applied, files);
      if (applied.count(file.name)) return false;
      try {
        tx.exec_raw(file.sql);
      } catch (const pqxx::sql_error& e) {
        throw Error(ErrorCode::internal, "migration-failed",
                    "migration " + file.name + " failed: " + e.what());
      }
      tx.exec(kRecord, file.name, sha256_hex(file.sql));
      return true;
    });
    if (applied_now) {
      spdlog::info("db.migrated name={}", file.name);
      done.push_back(file.name);
    }
  }
  return done;
}

std::vector<MigrationStatus> migration_status(Database& db) {
  return migration_status(db, embedded_migrations());
}

std::vector<MigrationStatus> migration_status(Database& db,
                                              const std::vector<EmbeddedMigration>& files) {
  auto applied = with_tx(db, [&](Tx& tx) { return read_applied(tx); });
  check_consistent(applied, files);
  std::vector<MigrationStatus> out;
  for (const auto& f : files) {
    MigrationStatus s{f.name, false, ""};
    if (auto it = applied.find(f.name); it != applied.end()) {
      s.applied = true;
      s.applied_at = it->second.applied_at;
    }
    out.push_back(s);
  }
  return out;
}

void require_schema_at_head(Database& db) {
  for (const auto& s : migration_status(db)) {
    if (!s.applied) {
      throw Error(ErrorCode::unavailable, "schema-behind",
                  "the database schema is behind this binary: migration " + s.name +
                      " is not applied (run `loyaltyctl migrate`)");
    }
  }
}

std::string version_line(const std::string& program) {
  const auto& all = embedded_migrations();
  std::string schema = all.empty() ? "none" : all.back().name;
  if (auto dot = schema.rfind(".sql"); dot != std::string::npos) schema.erase(dot);
  return program + " " + LOYALTY_VERSION + " (schema " + schema + ")";
}

}  // namespace loyalty::db
