#pragma once

#include <loyalty/core/actor.hpp>
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

/// The longest returns window, in days, that settings.points_pending_days may hold.
inline constexpr int kMaxPointsPendingDays = 365;

/// Changes some of a tenant's settings (a JSON object of the settings to change), in one
/// transaction, audited (tenant.settings). The settings that can be changed:
///   points_pending_days  0 to kMaxPointsPendingDays: points earned by events are pending (not
///                        spendable) until the event's occurred_at plus that many days, in UTC
///                        (24-hour days); 0: spendable at once. Lots already earned keep theirs.
/// Throws Error(not_found) for an unknown tenant; Error(invalid) naming each bad or unknown
/// setting by its JSON pointer.
Tenant update_settings(db::Database& db, const std::string& id_or_slug,
                       const nlohmann::json& change, const Actor& actor);

/// JSON of a tenant as the CLI and API show it.
nlohmann::json to_json(const Tenant& tenant);

}  // namespace loyalty::tenants
