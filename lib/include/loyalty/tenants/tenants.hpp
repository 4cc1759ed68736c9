#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::tenants {

struct Tenant {
  std::string id;
  std::string slug;
  std::string name;
  std::string timezone;
  std::string currency;
  std::string status;  ///< active | suspended
  nlohmann::json settings;
  std::string created_at;
};

struct CreateTenantRequest {
  std::string name;
  std::string slug;
  std::string timezone = "Africa/Harare";
  std::string currency = "USD";
  std::optional<std::string> admin_email;
};

/// A created tenant and the credentials shown once: the admin's generated password and a POS
/// API key (both present only when an admin email was given).
struct CreatedTenant {
  Tenant tenant;
  std::optional<std::string> admin_user_id;
  std::optional<std::string> admin_email;
  std::optional<std::string> admin_password;
  std::optional<std::string> api_key;
};

/// Creates a tenant, and with an admin email its first admin user and a POS API key, in one
/// transaction (on any error nothing is created). Throws Error(invalid) listing every bad
/// field (slug, time zone checked against pg_timezone_names, currency, email), and
/// Error(conflict) for a slug or email already taken.
CreatedTenant create_tenant(db::Database& db, const CreateTenantRequest& request);

/// Every tenant, oldest first.
std::vector<Tenant> list_tenants(db::Database& db);

/// The tenant with this id or slug. Throws Error(not_found).
Tenant find_tenant(db::Database& db, const std::string& id_or_slug);

/// Suspends a tenant: its users and keys stop authenticating. Idempotent.
Tenant suspend_tenant(db::Database& db, const std::string& id_or_slug);

/// JSON of a tenant as the CLI and API show it.
nlohmann::json to_json(const Tenant& tenant);

}  // namespace loyalty::tenants
