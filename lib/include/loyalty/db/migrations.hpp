#pragma once

#include <string>
#include <vector>

namespace loyalty::db {

class Database;

/// One migration file compiled into the binary.
struct EmbeddedMigration {
  std::string name;  ///< e.g. "0001_schema.sql"
  std::string sql;
};

/// The migrations this binary was built with, in order (generated from migrations/).
const std::vector<EmbeddedMigration>& embedded_migrations();

/// The release and the schema a binary was built with, for --version:
/// "<program> 0.1.0 (schema 0095_backup_role)".
std::string version_line(const std::string& program);

/// The state of one migration in a database.
struct MigrationStatus {
  std::string name;
  bool applied = false;
  std::string applied_at;  ///< ISO 8601, empty when pending
};

/// Applies every pending migration in order, each in its own transaction, recording its
/// SHA-256 in schema_migrations. Returns the names applied (empty when already at head).
/// Throws Error(conflict) when an applied migration's file changed since it was applied, and
/// Error(conflict) when the database has a migration this binary does not know.
std::vector<std::string> migrate(Database& db);
std::vector<std::string> migrate(Database& db, const std::vector<EmbeddedMigration>& files);

/// The status of every known migration, in order. Same checksum checks as migrate().
std::vector<MigrationStatus> migration_status(Database& db);
std::vector<MigrationStatus> migration_status(Database& db,
                                              const std::vector<EmbeddedMigration>& files);

/// Throws Error(unavailable) naming the first missing migration when the schema is behind the
/// binary (or a checksum differs); used by loyaltyd before it serves.
void require_schema_at_head(Database& db);

}  // namespace loyalty::db
