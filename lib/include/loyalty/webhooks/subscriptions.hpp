#pragma once
// A tenant's webhook subscriptions: where its events are sent (an https URL, vetted against the
// operator's AddressPolicy), which types, and the secret deliveries are signed with (Standard
// Webhooks, shown once). A rotation keeps the old secret signing beside the new one for 24 h.

#include <loyalty/core/actor.hpp>
#include <loyalty/core/page.hpp>
#include <loyalty/outbound/address.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::db {
class Database;
}

namespace loyalty::webhooks {

/// The event types a subscription may name ("*" names them all).
const std::vector<std::string>& event_types();

struct Subscription {
  std::string id;
  std::string url;
  std::string description;
  std::vector<std::string> event_types;
  bool active = true;
  /// "healthy", "failing" (failures since the last success), "paused" (the breaker is open),
  /// "disabled" (by an admin, or after five days of failures: disabled_reason says which).
  std::string status;
  std::optional<std::string> disabled_reason;
  int consecutive_failures = 0;
  std::optional<std::string> failing_since;
  std::optional<std::string> paused_until;
  std::optional<std::string> previous_secret_until;  ///< while the old secret still signs
  std::string created_at;
  std::string updated_at;
};

nlohmann::json to_json(const Subscription& subscription);

/// A new subscription and its secret, which nothing shows again.
struct CreatedSubscription {
  Subscription subscription;
  std::string secret;
};

/// Creates a subscription from url (required; vetted now and again at every send),
/// event_types (required: a list of event_types() or ["*"]), description, active (default true).
/// Throws Error(invalid) with every bad field's pointer. Audited (without the secret).
CreatedSubscription create_subscription(db::Database& db, const std::string& tenant_id,
                                        const Actor& actor, const nlohmann::json& fields,
                                        const outbound::AddressPolicy& policy);

/// Applies a JSON merge patch of url, event_types, description, active. Re-enabling a
/// subscription clears its breaker and failure record, and its waiting deliveries are due now.
Subscription update_subscription(db::Database& db, const std::string& tenant_id, const Actor& actor,
                                 const std::string& id, const nlohmann::json& patch,
                                 const outbound::AddressPolicy& policy);

/// A new secret; the previous one keeps signing (beside it) for 24 h. Returns the new secret.
CreatedSubscription rotate_secret(db::Database& db, const std::string& tenant_id,
                                  const Actor& actor, const std::string& id);

/// Removes a subscription with its deliveries and their attempts. Audited.
void remove_subscription(db::Database& db, const std::string& tenant_id, const Actor& actor,
                         const std::string& id);

/// Throws Error(not_found).
Subscription get_subscription(db::Database& db, const std::string& tenant_id,
                              const std::string& id);

/// The tenant's subscriptions, oldest first.
Page<Subscription> list_subscriptions(db::Database& db, const std::string& tenant_id,
                                      const PageRequest& page);

}  // namespace loyalty::webhooks
