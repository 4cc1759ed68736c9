#pragma once
// Encrypted backups of the whole database, proven by restoring them.
//
// A backup is one file, `loyalty-YYYYMMDDTHHMMSSZ.backup.age`, encrypted with age to one
// recipient, and a plaintext manifest beside it, `loyalty-YYYYMMDDTHHMMSSZ.manifest.json`
// (format version, schema version, creation time, size and SHA-256 of the encrypted file, row
// counts per table, the ledger's totals; nothing secret). Decrypted, the file is a POSIX tar
// stream: `loyalty-backup.json` (what the manifest says about the contents, and the
// policies, grants and owners of the schema), `roles.sql` (the roles the database refers to, as
// idempotent CREATE ROLE statements without passwords), and `database.dump.000001`, ... (the
// `pg_dump -Fc` archive in pieces, to concatenate in order). So an operator without loyaltyctl
// recovers with the standard tools:
//
//   age -d -i key.txt F.backup.age | tar -xf - -C /restore
//   psql -d postgres -f /restore/roles.sql
//   cat /restore/database.dump.* | pg_restore --single-transaction -d loyalty
//
// Nothing of the dump is written to disk unencrypted: pg_dump's output goes through this
// process into age, and age's output back into pg_restore.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loyalty::backup {

/// The version of the backup file's layout and of its manifest.
inline constexpr int kFormatVersion = 1;
/// The role backups are taken as: NOLOGIN, BYPASSRLS, SELECT only (migration 0095).
inline constexpr const char* kBackupRole = "loyalty_backup";

struct CreateRequest {
  std::string dir;        ///< where the backup and its manifest go (created 0700 if missing)
  std::string recipient;  ///< age recipient: an `age1...` public key (or an SSH public key)
};

struct CreateResult {
  std::string path;           ///< the encrypted backup
  std::string manifest_path;  ///< its manifest
  nlohmann::json manifest;
};

/// Dumps the database at `owner_url` as the backup role, inside one snapshot that the row
/// counts and ledger totals of the manifest are read from too, encrypts it to the recipient and
/// writes it under a temporary name, renamed once complete; then the manifest. On any failure
/// nothing is left in the directory. Throws Error(invalid) for a missing directory or
/// recipient, Error(unavailable) naming the program that failed (pg_dump, age) with its
/// message, or when the backup role is missing (run `loyaltyctl migrate`).
CreateResult create_backup(const std::string& owner_url, const CreateRequest& request);

struct VerifyRequest {
  std::string file;      ///< the encrypted backup
  std::string identity;  ///< age identity file (private key) that decrypts it
};

/// What a successful verification or restore checked.
struct CheckReport {
  std::string file;
  std::string created_at;
  std::string schema_version;
  std::int64_t tables = 0;
  std::int64_t rows = 0;
  std::int64_t budgets = 0;    ///< budgets `ledger verify` checked on the restored copy
  std::int64_t movements = 0;  ///< ledger movements it checked
  std::int64_t forced_rls_tables = 0;
  std::int64_t policies = 0;
  std::int64_t grants = 0;
  std::int64_t size = 0;  ///< bytes of the encrypted file
  double restore_seconds = 0;
};

/// Checks a backup by restoring it: its size and SHA-256 against its manifest, its size against
/// the median of the last seven manifests in its directory (more than half off fails; with
/// fewer than three earlier ones there is nothing to compare with), then decrypts it and
/// restores it into a scratch database created on the server of `owner_url` (and dropped after,
/// whatever happens), and checks there that the restore succeeded, the dump was not empty, the
/// row counts and ledger totals equal the manifest's, `ledger verify` holds, every tenant table
/// has row-level security enabled and forced with its tenant policy, and the policies, grants
/// and owners are those recorded at backup time (and those of the live schema, when it is at the
/// same schema version). Throws Error(conflict, "backup-verify-failed") whose message names the
/// first check that failed; Error(not_found) for a missing file or identity.
CheckReport verify_backup(const std::string& owner_url, const VerifyRequest& request);

/// The database a restore would write to.
struct RestoreTarget {
  std::string database;
  bool empty = true;           ///< no tables, no functions, no schema_migrations
  std::int64_t tenants = -1;   ///< -1 when it has no tenants table
  std::string schema_version;  ///< its last applied migration, empty when none
};

/// Describes the database at `owner_url`. Throws Error(unavailable) when it cannot connect.
RestoreTarget describe_target(const std::string& owner_url);

struct RestoreRequest {
  std::string file;
  std::string identity;
  /// Replace a database that is not empty: the backup is restored into a new database beside
  /// it and checked there, and only then swapped in (the old one is dropped, its connections
  /// ended). The caller asks for a confirmation first.
  bool force = false;
};

struct RestoreReport {
  CheckReport checks;
  std::string database;
  bool replaced = false;       ///< an existing database was replaced (--force)
  bool behind_binary = false;  ///< the backup's schema is older: run `loyaltyctl migrate`
};

/// Restores a backup into the database at `owner_url`, which must be empty unless `force`.
/// The roles it needs are created first when missing (never altered). The same checks as
/// verify_backup run on the result (against the backup's own record; the manifest's size and
/// checksum too when it is beside the file). Throws Error(conflict) for a database that is not
/// empty without `force`, for a backup of a newer schema than this binary, and
/// Error(conflict, "backup-restore-failed") naming what failed.
RestoreReport restore_backup(const std::string& owner_url, const RestoreRequest& request);

struct PruneRequest {
  std::string dir;
  int keep_daily = 0;    ///< keep the newest backup of each of the N latest days with one
  int keep_monthly = 0;  ///< and of each of the M latest months with one
  bool dry_run = false;
};

struct PruneReport {
  std::vector<std::string> kept;     ///< backup file names, newest first
  std::vector<std::string> removed;  ///< file names removed (backups, manifests, stale partials)
};

/// Deletes the backups (and their manifests) that neither rule keeps, and temporary files of
/// creates that died more than a day ago. Days and months are UTC, from the file names. Safe to
/// run from cron beside a running create (unfinished files are young and not backups yet).
/// Throws Error(invalid) when both counts are 0 (that would delete every backup).
PruneReport prune_backups(const PruneRequest& request);

/// The newest backup file in `dir`. Throws Error(not_found) when there is none.
std::string latest_backup(const std::string& dir);

/// The manifest path of a backup file: `X.backup.age` → `X.manifest.json` (any other name:
/// the name with `.manifest.json` appended).
std::string manifest_path(const std::string& backup_file);

}  // namespace loyalty::backup
