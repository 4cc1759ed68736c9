#pragma once
// Campaigns group rules under a status and dates: rules of a campaign fire only while it is
// active and within [starts_at, ends_at). Status moves draft -> active <-> paused -> ended
// (draft may also end directly; ended is final).

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace loyalty::db {
class Database;
}

namespace loyalty::campaigns {

struct Campaign {
  std::string id;
  std::string name;
  std::string description;
  std::string status;                    ///< draft | active | paused | ended
  std::optional<std::string> starts_at;  ///< RFC 3339 UTC
  std::optional<std::string> ends_at;
  std::optional<std::string> budget_id;
  std::string created_at;
  std::string updated_at;
};

nlohmann::json to_json(const Campaign& campaign);

/// Creates a campaign from its fields: name (required, unique in the tenant), description,
/// status (default draft), starts_at, ends_at (after starts_at), budget (id or name).
/// Throws Error(invalid) with every bad field's pointer, Error(conflict) for a name in use.
/// Audited; makes compiled rule caches stale (tenants.rules_version).
Campaign create_campaign(db::Database& db, const std::string& tenant_id, const Actor& actor,
                         const nlohmann::json& fields);

/// Applies a JSON merge patch of the same fields. A status change must follow the lifecycle
/// (else Error(conflict, "invalid-transition")). Audited; bumps tenants.rules_version.
Campaign update_campaign(db::Database& db, const std::string& tenant_id, const Actor& actor,
                         const std::string& id_or_name, const nlohmann::json& patch);

/// Throws Error(not_found).
Campaign get_campaign(db::Database& db, const std::string& tenant_id,
                      const std::string& id_or_name);

/// One page of the tenant's campaigns in name order, optionally of one status.
Page<Campaign> list_campaigns(db::Database& db, const std::string& tenant_id,
                              const std::string& status, const PageRequest& page);

}  // namespace loyalty::campaigns
