#pragma once
// Dashboard users and POS API keys of a tenant (admin-managed).

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::auth {

/// The longest email a user may have, and log in with (RFC 5321's limit on a path).
inline constexpr std::size_t kMaxEmailLength = 254;

struct User {
  std::string id;
  std::string tenant_id;
  std::string email;
  std::string role;    ///< admin | manager | viewer
  std::string status;  ///< active | disabled
  std::string created_at;
  std::string last_login_at;
};

struct CreatedUser {
  User user;
  std::string password;  ///< generated when none was given; shown once
};

/// Creates a user. Error(invalid) for a bad email, role or a password under 12 characters;
/// Error(conflict) when the email is taken. Audited.
CreatedUser create_user(db::Database& db, const std::string& tenant_id, const std::string& email,
                        const std::string& role, const std::optional<std::string>& password,
                        const Actor& actor);
/// A page of the tenant's users, oldest first.
Page<User> list_users(db::Database& db, const std::string& tenant_id, const PageRequest& page);
/// Disables a user and revokes their refresh tokens. Error(not_found). Audited.
User disable_user(db::Database& db, const std::string& tenant_id, const std::string& user_id,
                  const Actor& actor);
/// Finds a user by id or email within the tenant. Error(not_found).
User find_user(db::Database& db, const std::string& tenant_id, const std::string& id_or_email);
nlohmann::json to_json(const User& user);

struct ApiKeyInfo {
  std::string id;
  std::string name;
  std::string prefix;
  std::vector<std::string> scopes;
  std::string created_at;
  std::string last_used_at;
  std::string revoked_at;
};

struct CreatedApiKey {
  ApiKeyInfo info;
  std::string key;  ///< shown once
};

/// Creates a POS API key (scopes: "pos"). Audited.
CreatedApiKey create_api_key(db::Database& db, const std::string& tenant_id,
                             const std::string& name, const std::vector<std::string>& scopes,
                             const Actor& actor);
/// A page of the tenant's API keys (prefixes only), oldest first.
Page<ApiKeyInfo> list_api_keys(db::Database& db, const std::string& tenant_id,
                               const PageRequest& page);
/// Revokes a key by id or prefix; it stops authenticating at once. Error(not_found). Audited.
ApiKeyInfo revoke_api_key(db::Database& db, const std::string& tenant_id,
                          const std::string& id_or_prefix, const Actor& actor);
nlohmann::json to_json(const ApiKeyInfo& key);

}  // namespace loyalty::auth
