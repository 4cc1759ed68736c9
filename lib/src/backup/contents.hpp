#pragma once
// Private to the backup module: what a backup holds, read from a database — the one it was
// taken from (inside the dump's snapshot) and later the copy it restored to — so the two can be
// compared.

#include "db/tx.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loyalty::backup {

struct Contents {
  std::string schema_version;  ///< the last applied migration ("" for none)
  std::map<std::string, std::int64_t> row_counts;
  nlohmann::json ledger;              ///< the ledger's totals (ledger_totals)
  std::vector<std::string> security;  ///< one sorted line per RLS flag, policy, grant, owner
};

/// Reads the contents in the transaction `tx`, which must see every row: run it as the backup
/// role (SET LOCAL ROLE) so the counts are those the dump holds.
Contents read_contents(db::Tx& tx);

/// The security lines alone (catalog reads, any role).
std::vector<std::string> read_security(db::Tx& tx);

/// Tenant tables (those with a tenant_id, and tenants) that lack row-level security, its
/// forcing, or their tenant_isolation policy: "customers: row-level security not forced".
std::vector<std::string> isolation_problems(db::Tx& tx);

/// Idempotent SQL that creates the roles the database refers to (owners, grantees, policy
/// roles) when missing, with their attributes but never SUPERUSER, REPLICATION or a password
/// (a superuser comes back as a NOLOGIN role with no attributes), and their memberships among
/// each other.
std::string roles_sql(db::Tx& tx);

nlohmann::json to_json(const Contents& contents, bool with_security);
/// Throws Error(conflict, "backup-format") on a document that is not a contents record.
Contents contents_from_json(const nlohmann::json& doc);

/// The first difference between what a backup recorded and what a restore holds, as a phrase
/// for an error message ("row counts differ: events has 9 rows, the manifest says 10"); empty
/// when they agree. `source` names where `expected` comes from ("the manifest").
std::string compare_counts(const Contents& expected, const Contents& restored,
                           const std::string& source);
std::string compare_security(const std::vector<std::string>& expected,
                             const std::vector<std::string>& restored, const std::string& source);

}  // namespace loyalty::backup
