#pragma once
// Which tenant a channel address belongs to: a WhatsApp phone number id or a USSD service code
// (with its extension, e.g. *123*4#) routes to exactly one tenant. Operators manage routes with
// loyaltyctl (secret files included); a tenant's admins add and remove theirs through the API
// (the dashboard's Channels page: templates, never secret files); the daemon looks them up
// (channel_find_tenant, before any tenant is known).

#include <loyalty/core/actor.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::channels {

struct Route {
  std::string id;  ///< a uuid, the route's name in the API's paths
  std::string tenant_id;
  std::string channel;  ///< whatsapp | ussd
  std::string address;  ///< phone number id, or service code
  /// whatsapp: {"access_token_file", "app_secret_file"} — paths the operator names, never the
  /// secrets themselves.
  nlohmann::json config = nlohmann::json::object();
  std::string created_at;
};

/// A USSD service code as dialled: '*', digits and '*' separators, ending '#', e.g. *123*4#.
bool is_service_code(const std::string& code);

/// The tenant of an address; nullopt when none (or the tenant is suspended). As loyalty_app.
std::optional<Route> find_route(db::Database& db, const std::string& channel,
                                const std::string& address);

/// The secret in a file the operator named (an access token, an app secret) without the line
/// break editors leave at its end; empty when the file cannot be read.
std::string read_secret_file(const std::string& path);

/// The WhatsApp numbers that have an app secret of their own, and the files that hold them
/// (routes of active tenants). As loyalty_app, before any tenant is known.
std::vector<std::pair<std::string, std::string>> whatsapp_secret_files(db::Database& db);

/// Owner role (loyaltyctl). Error(invalid) for a bad address; Error(conflict, "channel-taken")
/// when the address belongs to a tenant already. Audited.
Route add_route(db::Database& owner, const std::string& tenant_id, const Route& route,
                const Actor& actor);
std::vector<Route> list_routes(db::Database& owner, const std::string& tenant_id);
/// Error(not_found) unless the tenant has it.
void remove_route(db::Database& owner, const std::string& tenant_id, const std::string& channel,
                  const std::string& address, const Actor& actor);

nlohmann::json to_json(const Route& route);

// ---- the tenant's own (loyalty_app, in the tenant's transaction: the HTTP API) ----

/// Adds a route from the API's fields: `channel` (whatsapp | ussd), `address` (the phone number
/// id, or the service code) and, for WhatsApp, `config` holding only `templates` (as
/// loyaltyctl's --template; the secret files stay the operator's). Throws Error(invalid) with
/// pointers (/channel, /address, /config/...), Error(conflict, "channel-taken") when the address
/// belongs to a tenant already (this one or another). Audited.
Route add_tenant_route(db::Database& app, const std::string& tenant_id, const Actor& actor,
                       const nlohmann::json& fields);
/// The tenant's routes, by channel and address.
std::vector<Route> tenant_routes(db::Database& app, const std::string& tenant_id);
/// Removes the route with this id; Error(not_found) unless the tenant has it. Audited.
void remove_tenant_route(db::Database& app, const std::string& tenant_id, const Actor& actor,
                         const std::string& id);

/// JSON of a route for the API: id, channel, address, templates, created_at, and whether the
/// operator gave the number an access token or app secret of its own (never the files' paths).
nlohmann::json to_api_json(const Route& route);

}  // namespace loyalty::channels
